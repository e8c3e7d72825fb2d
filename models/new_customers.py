"""New-customer certification (新客户认定, procedures §3, N1–N6): the 《新客户开发申请表》 and the pure
rules. No database and no clock here: callers pass the dates and the recorded transactions.

Definitions (all dates are Asia/Shanghai calendar dates):

- **First transaction** (N2): the application states it (date, amount, reference). When the
  transaction history holds a sale with the stated reference for this customer, the recorded date
  wins (the history is the books; a salesperson cannot move the date). Otherwise the stated date is
  used and the check says the reference was not found in the history.
- **One month** (N2): submitted on or before the same day of the next calendar month, clamped to that
  month's last day (1月31日 → 2月28/29日). Exactly one month is accepted, one day later is refused.
- **Name equality** (N2): the customer name and the invoicing name (开票资料名称) are compared after
  Unicode NFKC (full-width letters, digits, brackets and spaces become half-width: （）→ ()),
  removing all whitespace and ignoring the case of Latin letters. Nothing else is equated
  (有限公司 ≠ 有限责任公司).
- **Three years** (N1): the lookback covers the three years before the first transaction, from the
  same calendar day three years earlier (29 Feb → 28 Feb) up to the day before it, both inclusive.
  A trade exactly three years before counts (inside); three years and one day before does not.
  Trades are sales and returns; sample shipments never count; the first transaction itself (its
  reference) is not a prior trade.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator, ConfigDict, EmailStr, Field, field_validator, model_validator

from models.archive.records import CUSTOMER_CLASSES, TRANSACTION_KIND_ZH, CustomerIn
from models.business_days import TZ
from models.case_data import CaseData
from models.guard import Guarded
from models.privacy import mask_id_card, mask_phone

KIND_LABELS = {en: zh for zh, en in TRANSACTION_KIND_ZH.items()}
TRADE_KINDS = ("sale", "return")  # N1: sample shipments do not count as trade
STATE_LABELS = {"submitted": "已提交", "manager_certified": "业务部经理已认定",
                "market_certified": "市场分部已认定", "certified": "已认定", "refused": "不予认定"}


# ---- the form (N3) ------------------------------------------------------------------------------
class ApplicantIn(CustomerIn):
    """The customer and invoicing data of the application (the archive record to be created)."""

    invoicing_name: str = Field(min_length=1, max_length=200, description="开票资料名称 / invoicing name")

    @field_validator("archive_no")
    @classmethod
    def _no_archive_no_yet(cls, v: str | None) -> None:
        if v:
            raise ValueError("新客户尚无档案编号，由内勤分部存档时编号 / a new customer gets its archive number "
                             "when the back office archives it")
        return None

    @field_validator("salesperson")
    @classmethod
    def _salesperson_at_top(cls, v: str) -> str:
        if v:
            raise ValueError("业务员填在申请表的 salesperson / give the salesperson at the top level")
        return v

    @model_validator(mode="after")
    def _identity_as_applicable(self) -> "ApplicantIn":
        if self.customer_class == "resident" and not self.id_card:
            raise ValueError("个人客户须填写身份证号码 id_card / a resident needs id_card")
        if self.customer_class in ("enterprise", "supplier", "dealer") and not self.registration:
            raise ValueError("企业客户须填写注册资料 registration（如统一社会信用代码）/ "
                             "an enterprise needs registration (e.g. credit_code)")
        return self


def _not_a_float(v: object) -> object:
    if isinstance(v, float):
        raise ValueError("金额须为字符串，如 \"1234.50\" / amount must be a decimal string, not a float")
    return v


class FirstTransactionIn(Guarded):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: dt.date = Field(description="首次交易日期 / date of the first transaction (YYYY-MM-DD)")
    amount: Annotated[Decimal, BeforeValidator(_not_a_float)] = Field(
        gt=0, max_digits=14, decimal_places=2, description="首次交易金额（元）")
    reference: str = Field(min_length=1, max_length=64, description="单据号（发票或销货单号）/ document number")


class EvaluationIn(Guarded):
    """评价: contribution, long-term sales impact, credit."""

    multiline = frozenset({"contribution", "long_term_impact", "credit"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    contribution: str = Field(min_length=1, max_length=2000, description="贡献 / contribution")
    long_term_impact: str = Field(min_length=1, max_length=2000, description="对长期销售的影响 / long-term sales impact")
    credit: str = Field(min_length=1, max_length=2000, description="信用 / credit")


class NewCustomerApplicationIn(Guarded):
    """POST /api/new-customer-applications: the 《新客户开发申请表》 (N3). The manager's instruction
    (批示) is the sales manager's comment on the certification step."""

    multiline = frozenset({"development_history", "support_needed"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer: ApplicantIn = Field(description="客户及开票资料 / customer and invoicing data")
    first_transaction: FirstTransactionIn = Field(description="首次交易 / the first transaction")
    development_history: str = Field(min_length=1, max_length=4000,
                                     description="开拓经过：线索来源、接触、洽谈 / how the lead was found, contacts, negotiations")
    evaluation: EvaluationIn = Field(description="评价 / evaluation")
    support_needed: str = Field("", max_length=2000, description="需要支持 / support needed")
    salesperson: EmailStr = Field(description="业务员邮箱 / the responsible salesperson")


# ---- N2: one month, same name ---------------------------------------------------------------------
def add_months(d: date, months: int) -> date:
    """The same day `months` calendar months later, clamped to the end of that month."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def submission_deadline(first: date) -> date:
    """The last day an application for a first transaction on `first` is accepted (N2)."""
    return add_months(first, 1)


def local_date(at: datetime) -> date:
    if at.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    return at.astimezone(TZ).date()


def normalise_name(name: str) -> str:
    """NFKC (full-width → half-width), no whitespace at all, Latin letters case-folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).casefold()


def names_match(customer_name: str, invoicing_name: str) -> bool:
    return normalise_name(customer_name) == normalise_name(invoicing_name) != ""


class TransactionLike(Protocol):
    reference: str
    on: date
    amount: Decimal
    kind: str


@dataclass(frozen=True)
class FirstTransaction:
    on: date
    source: str  # "history": the recorded sale with the stated reference; "stated": the application
    stated_on: date
    reference: str


def first_transaction(stated_on: date, reference: str, recorded: Sequence[TransactionLike]) -> FirstTransaction:
    """The first transaction's date: the recorded sale with the stated reference wins over the
    stated date; without it, the stated date (see the module doc)."""
    for t in recorded:
        if t.reference == reference and t.kind == "sale":
            return FirstTransaction(on=t.on, source="history", stated_on=stated_on, reference=reference)
    return FirstTransaction(on=stated_on, source="stated", stated_on=stated_on, reference=reference)


@dataclass(frozen=True)
class SubmissionCheck:
    first: FirstTransaction
    submitted_on: date
    deadline: date
    on_time: bool
    same_name: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.reasons

    def as_record(self) -> dict[str, Any]:
        return {"first_transaction_on": self.first.on.isoformat(), "first_transaction_source": self.first.source,
                "stated_on": self.first.stated_on.isoformat(), "submitted_on": self.submitted_on.isoformat(),
                "deadline": self.deadline.isoformat(), "on_time": self.on_time, "same_name": self.same_name,
                "accepted": self.accepted, "reasons": list(self.reasons)}


def check_submission(*, customer_name: str, invoicing_name: str, first: FirstTransaction,
                     submitted_at: datetime) -> SubmissionCheck:
    """N2: submitted within one month of the first transaction, and the customer name equals the
    invoicing name. Every failed condition gives its reason (Chinese)."""
    submitted_on = local_date(submitted_at)
    deadline = submission_deadline(first.on)
    on_time = submitted_on <= deadline
    same = names_match(customer_name, invoicing_name)
    reasons = []
    if not on_time:
        where = "（以交易记录为准）" if first.source == "history" and first.on != first.stated_on else ""
        reasons.append(f"超过1个月，不给予认定：首次交易 {first.on.isoformat()}{where}，"
                       f"申请须于 {deadline.isoformat()} 前提交，实际提交 {submitted_on.isoformat()}")
    if not same:
        reasons.append(f"客户名称「{customer_name}」与开票资料名称「{invoicing_name}」不一致")
    return SubmissionCheck(first=first, submitted_on=submitted_on, deadline=deadline, on_time=on_time,
                           same_name=same, reasons=reasons)


# ---- N1: three years -----------------------------------------------------------------------------
def lookback_start(first: date) -> date:
    """The first day of the three-year lookback (inclusive): the same day three years before."""
    return add_months(first, -36)


@dataclass(frozen=True)
class HistoryCheck:
    since: date
    until: date
    trades: list[dict[str, Any]]

    @property
    def is_new(self) -> bool:
        return not self.trades

    def as_record(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "is_new": self.is_new,
                "trades": self.trades}


def history_check(first: date, first_reference: str, recorded: Sequence[TransactionLike]) -> HistoryCheck:
    """N1: the customer's trades in the three years before the first transaction (samples never
    count; the first transaction itself is not a prior trade). None found: a new customer."""
    since, until = lookback_start(first), date.fromordinal(first.toordinal() - 1)
    trades = [{"reference": t.reference, "on": t.on.isoformat(), "kind": t.kind,
               "kind_label": KIND_LABELS.get(t.kind, t.kind), "amount": str(t.amount)}
              for t in sorted(recorded, key=lambda t: (t.on, t.reference))
              if t.kind in TRADE_KINDS and since <= t.on <= until and t.reference != first_reference]
    return HistoryCheck(since=since, until=until, trades=trades)


def history_text(check: dict[str, Any]) -> str:
    """The market branch's reading of the check (a stored `HistoryCheck.as_record()`)."""
    span = f"{check['since']} 至 {check['until']}"
    if not check["trades"]:
        return f"{span} 无交易记录（样品不计），符合新客户条件"
    rows = "；".join(f"{t['on']} {t['kind_label']} {t['reference']} ¥{t['amount']}" for t in check["trades"])
    return f"{span} 查到 {len(check['trades'])} 笔交易（样品不计）：{rows}"


# ---- the form as people read it -----------------------------------------------------------------
def application_summary(case_no: str, application: dict[str, Any]) -> dict[str, str]:
    """The 《新客户开发申请表》 as label → value (personal data masked), for emails and pages."""
    c, ft, ev = application["customer"], application["first_transaction"], application["evaluation"]
    reg = "；".join(f"{k}: {v}" for k, v in (c.get("registration") or {}).items())
    out = {
        "申请编号": case_no,
        "客户名称": c["name"],
        "开票资料名称": c["invoicing_name"],
        "客户类别": CUSTOMER_CLASSES.get(c["customer_class"], c["customer_class"]),
        "联系人 / 电话": f"{c.get('contact_name') or '—'} / {mask_phone(c.get('phone')) or '—'}",
    }
    if c.get("id_card"):
        out["身份证号码"] = mask_id_card(c["id_card"])
    if reg:
        out["注册资料"] = reg
    if c.get("address"):
        out["地址"] = c["address"]
    out |= {
        "首次交易": f"{ft['date']} ¥{ft['amount']}（单据号 {ft['reference']}）",
        "开拓经过": application["development_history"],
        "评价·贡献": ev["contribution"],
        "评价·长期销售影响": ev["long_term_impact"],
        "评价·信用": ev["credit"],
        "需要支持": application.get("support_needed") or "—",
        "业务员": application["salesperson"],
    }
    return out


class NewCustomerData(CaseData):
    """A new-customer application's case data: the application as filed and its salesperson."""
    application: dict[str, Any]
    salesperson: str
