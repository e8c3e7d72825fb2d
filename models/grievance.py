"""Product-quality complaints (客户抱怨处理, procedures §7: C14–C19, R9): the salesperson's
《客户抱怨处理表》 (grievance_form), the nine-step investigation chain, responsibility, loss and penalty,
quantity pending, and which copy goes to whom. Plain functions, no Prefect, no database; amounts are
decimals in yuan, never floats.

The loss and penalty bases (客诉损失金额核算基准, 客诉罚扣判定基准) are versioned YAML tables beside
the approval-authority table (`deployments/loss_basis.yaml`, `deployments/penalty_basis.yaml`): the
seeds name them as annexes that are missing, so the tables shipped are examples to be replaced."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from models.business_days import TZ
from models.case_data import CaseData, Part
from models.guard import Guarded
from models.returns import AuthorityTable, Quantity, approvers_for

if TYPE_CHECKING:
    from models.business_days import BusinessCalendar

# ---- C15: the form ------------------------------------------------------------------------------
QUANTITY_PENDING_TEXT = "客户加工中未确定"  # R9: the demand's fixed text while the customer still processes
GrievanceClass = Literal["quality", "non_quality"]
CLASS_LABELS = {"quality": "品质异常", "non_quality": "非品质异常（人为因素）"}
YUAN = Decimal("0.01")


class GrievanceIn(Guarded):
    """POST /api/grievances: the salesperson's 《客户抱怨处理表》 (C15). Every field is mandatory
    except the return/exchange quantity while the customer is still processing the goods (then the
    demand is exactly 客户加工中未确定 and the quantity stays empty, R9)."""

    multiline = frozenset({"description", "demand", "opinion"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    abnormality_no: str = Field(min_length=1, max_length=50, description="异常编号")
    order_no: str = Field(min_length=1, max_length=50, description="订单编号")
    item_no: str = Field(min_length=1, max_length=50, description="料号")
    product_name: str = Field("", max_length=100, description="品名")
    customer: str = Field(min_length=1, max_length=100, description="客户名称")
    quantity_shipped: Quantity = Field(description="交运数量")
    ship_date: date = Field(description="交运日期")
    defective_quantity: Quantity = Field(description="不良数量")
    description: str = Field(min_length=1, max_length=4000, description="异常情况")
    demand: str = Field(min_length=1, max_length=2000,
                        description=f"客户要求；退换数量未定时填「{QUANTITY_PENDING_TEXT}」")
    return_quantity: Quantity | None = Field(None, description="退换数量；客户加工中未确定时留空")
    grievance_class: GrievanceClass = Field(description="quality 品质异常 / non_quality 非品质（人为）")
    sample_attached: bool = Field(description="是否附不良样品")
    opinion: str = Field(min_length=1, max_length=2000, description="业务员意见（签名）")
    salesperson: EmailStr = Field(description="业务员邮箱（签名人）")
    foreign: bool = Field(False, description="外销客户（结案期限 20 天，内销 15 天）")
    received_at: datetime | None = Field(None, description="公司收到客户反映的时间；默认现在")
    complaint_case_no: str | None = Field(None, max_length=32, description="来源投诉编号（投诉受理转来）")
    previous_case_no: str | None = Field(None, max_length=32, description="客户不接受原决定时，原案编号（C17）")

    @field_validator("ship_date")
    @classmethod
    def _not_in_future_far(cls, v: date) -> date:
        if v.year < 2000:
            raise ValueError("交运日期不合理 / the ship date is implausible")
        return v

    @model_validator(mode="after")
    def _quantities(self) -> "GrievanceIn":
        pending = self.demand == QUANTITY_PENDING_TEXT
        if pending and self.return_quantity is not None:
            raise ValueError(f"客户要求为「{QUANTITY_PENDING_TEXT}」时退换数量须留空 / "
                             "the return quantity stays empty while the customer is still processing")
        if not pending and self.return_quantity is None:
            raise ValueError(f"须填写退换数量，或在客户要求中填写「{QUANTITY_PENDING_TEXT}」 / the return "
                             f"quantity is required unless the demand is {QUANTITY_PENDING_TEXT}")
        if self.defective_quantity.unit == self.quantity_shipped.unit \
                and self.defective_quantity.value > self.quantity_shipped.value:
            raise ValueError("不良数量不能大于交运数量 / the defective quantity exceeds the quantity shipped")
        return self


def quantity_pending(form: dict | GrievanceIn) -> bool:
    """R9: whether the case must wait for the quantity after its decision."""
    demand = form.demand if isinstance(form, GrievanceIn) else form.get("demand", "")
    return demand == QUANTITY_PENDING_TEXT


def routed_from_complaint(category: str, order_no: str | None) -> bool:
    """C15's reading: a category-产品质量 complaint naming a shipment (order no.) is a grievance."""
    return category == "产品质量" and bool((order_no or "").strip())


# ---- C16: the chain -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainStep:
    key: str  # the step key's base (a round adds -2, -3 …)
    no: int  # C16's step number
    title: str
    role: str
    answer_model: str
    due_business_days: int = 1


STEP_REGISTER = ChainStep("register", 1, "总经理室编号登记《客户抱怨处理表》（当日）", "gm_office", "GrievanceRegistration")
STEP_QUALITY = ChainStep("quality", 2, "质量管理部追查原因、判定责任单位", "quality_lead", "QualityTrace")
STEP_PRODUCTION = ChainStep("production", 3, "制造部门分析原因、拟定对策（生产单位、机班别、作业人员、生产日期）",
                            "production", "ProductionAnalysis")
STEP_MANAGER = ChainStep("manager", 4, "经理室批示", "general_manager", "ManagerInstruction")
STEP_RD = ChainStep("rd", 5, "研发部意见（依异常状况）", "rd", "RdOpinion")
STEP_GM_CHECK = ChainStep("gm-check", 6, "总经理室审核", "gm_office", "Decision")
STEP_PROPOSAL = ChainStep("proposal", 6, "业务部门拟定处理意见", "salesperson", "HandlingProposal")
STEP_OPINION = ChainStep("opinion", 7, "总经理室综合意见", "gm_office", "GmOfficeOpinion")
STEP_NEGOTIATION = ChainStep("negotiation", 8, "业务部门向客户说明、交涉并填写结果", "salesperson", "CustomerNegotiation")
STEP_SALES_REVIEW = ChainStep("sales-review", 8, "业务主管核阅交涉结果", "sales_manager", "Decision")
STEP_CONSOLIDATION = ChainStep("consolidation", 9, "总经理室汇总结果与意见、责任与损失（1日内）", "gm_office",
                               "GrievanceConsolidation")


def approver_step(kind: Literal["instruct", "decide"], role: str) -> ChainStep:
    """Steps 7 (批示) and 9 (核决) by the approvers of the amount's band (R2)."""
    if kind == "instruct":
        return ChainStep(f"instruct-{role.replace('_', '-')}", 7, "依核决权限批示处理意见", role, "Decision")
    return ChainStep(f"decide-{role.replace('_', '-')}", 9, "依核决权限核决（1日内）", role, "Decision")


def chain_steps(rd_requested: bool, approvers: list[str] | None) -> list[ChainStep]:
    """C16 in order. R&D gives its opinion only when step 2 or 4 asked for it; the approvers by amount
    are known once sales proposed the handling (`None` before: the chain ends at the proposal)."""
    steps = [STEP_REGISTER, STEP_QUALITY, STEP_PRODUCTION, STEP_MANAGER]
    if rd_requested:
        steps.append(STEP_RD)
    steps += [STEP_GM_CHECK, STEP_PROPOSAL]
    if approvers is None:
        return steps
    steps += [STEP_OPINION, *(approver_step("instruct", r) for r in approvers),
              STEP_NEGOTIATION, STEP_SALES_REVIEW, STEP_CONSOLIDATION,
              *(approver_step("decide", r) for r in approvers)]
    return steps


def approvers_by_amount(amount: Decimal, table: AuthorityTable) -> list[str]:
    """R2 (000 «13» 第九条五): who instructs and decides a grievance — the band of its amount; a case
    with no amount (an explanation only) is decided by the first band's approver."""
    if amount <= 0:
        return list(table.bands[0].roles)
    return approvers_for(amount, table)


MAX_RETURNS = 2  # a step that returns its predecessor a third time goes to the GM instead (escalation)


def after_return(returns_of_step: int) -> Literal["back_to_author", "escalate"]:
    """A rejection goes back to the previous step's author with the comment — twice; the third
    return of the same step escalates to the general manager, whose ruling settles it (the loop
    ends with an approval, a withdrawal or an escalation, never by running out)."""
    if returns_of_step < 1:
        raise ValueError("a return is counted from 1")
    return "back_to_author" if returns_of_step <= MAX_RETURNS else "escalate"


# ---- C18: responsibility, loss, penalty -----------------------------------------------------------
Cause = Literal["our_quality", "human_negligence", "supplier", "customer"]
CAUSE_LABELS = {"our_quality": "本公司品质问题", "human_negligence": "人为疏忽", "supplier": "供应商或其他公司责任",
                "customer": "客户原因"}
FINE_MIN, FINE_MAX = Decimal("200"), Decimal("1500")  # «10» 第七条: ¥200–1,500 per case and party


def improvement_tracked(cause: str) -> bool:
    """C18: our quality problems get an improvement measure that is tracked (列入追踪); human
    negligence is exempt; supplier and customer causes have no measure of ours."""
    return cause == "our_quality"


def at_fault(cause: str) -> bool:
    """Whether the responsible parties of ours are fined (supplier: a supplier claim instead)."""
    return cause in ("our_quality", "human_negligence")


class LossItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    rate: Decimal | None = Field(None, ge=0, description="元/单位；null = 按实际金额（数量即金额）")


class VersionedTable(BaseModel):
    """An admin table: its version is stored with every case computed from it."""

    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1)
    effective_from: date


class LossBasis(VersionedTable):
    """客诉损失金额核算基准: loss items, each a rate per unit or an amount at cost (C11, C18)."""

    items: dict[str, LossItem] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _codes(cls, v: dict[str, LossItem]) -> dict[str, LossItem]:
        bad = [k for k in v if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", k)]
        if bad:
            raise ValueError(f"item codes must be lower-case identifiers: {bad}")
        return v


class PenaltyRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1)
    fine_min: Decimal
    fine_max: Decimal
    sanction: str = Field("", description="行政处分（转入《人事公布单》，S6）；空 = 无")

    @model_validator(mode="after")
    def _in_range(self) -> "PenaltyRule":
        if not (FINE_MIN <= self.fine_min <= self.fine_max <= FINE_MAX):
            raise ValueError(f"fines must lie within {FINE_MIN}–{FINE_MAX} yuan («10» 第七条), min ≤ max")
        return self


class PenaltyBasis(VersionedTable):
    """客诉罚扣判定基准: per cause at fault, the penalty type — the fine's range and any sanction."""

    rules: dict[Literal["our_quality", "human_negligence"], PenaltyRule]

    @model_validator(mode="after")
    def _complete(self) -> "PenaltyBasis":
        missing = {"our_quality", "human_negligence"} - set(self.rules)
        if missing:
            raise ValueError(f"a penalty rule is needed for every cause at fault: {sorted(missing)}")
        return self


M = TypeVar("M", bound=BaseModel)


def _load_yaml(path: Path, model: type[M], zh: str, en: str) -> M:

    try:
        return model.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - yaml, OS and validation errors alike stop start-up
        raise ValueError(f"{zh}文件 {path} 无效 / {en} file {path} is invalid: {exc}") from exc


def load_loss_basis(path: Path) -> LossBasis:
    return _load_yaml(path, LossBasis, "客诉损失金额核算基准", "loss basis")


def load_penalty_basis(path: Path) -> PenaltyBasis:
    return _load_yaml(path, PenaltyBasis, "客诉罚扣判定基准", "penalty basis")


_LINE = re.compile(r"^\s*([^:：=\s]+)\s*[:：=]\s*(\S+)\s*$")


def parse_pairs(text: str, what: str) -> list[tuple[str, Decimal]]:
    """Lines (or `;`-separated entries) `name: number` as typed on a decision page."""
    out = []
    for raw in re.split(r"[\n;；]", text or ""):
        if not raw.strip():
            continue
        m = _LINE.match(raw)
        if not m:
            raise ValueError(f"{what}格式应为「名称: 数值」：{raw.strip()} / {what}: expected 'name: number'")
        try:
            value = Decimal(m.group(2))
        except ArithmeticError:
            raise ValueError(f"{what}数值无效：{m.group(2)} / {what}: invalid number {m.group(2)}") from None
        if not value.is_finite() or value < 0:
            raise ValueError(f"{what}数值无效：{m.group(2)} / {what}: invalid number {m.group(2)}")
        out.append((m.group(1), value))
    return out


def compute_loss(entries: list[tuple[str, Decimal]], basis: LossBasis) -> tuple[Decimal, list[dict]]:
    """C18: the loss amount by the basis — each item's quantity × rate (or its amount at cost);
    returns (total, breakdown) to store with the basis version. Unknown items are refused."""
    breakdown, total = [], Decimal("0.00")
    for code, qty in entries:
        item = basis.items.get(code)
        if item is None:
            raise ValueError(f"损失项目 {code} 不在核算基准 {basis.version} 中 / loss item {code} is not in "
                             f"basis {basis.version}")
        amount = (qty if item.rate is None else qty * item.rate).quantize(YUAN, rounding=ROUND_HALF_UP)
        breakdown.append({"item": code, "label": item.label, "quantity": str(qty), "unit": item.unit,
                          "rate": None if item.rate is None else str(item.rate), "amount": str(amount)})
        total += amount
    return total, breakdown


def check_fines(fines: list[tuple[str, Decimal]], cause: str, basis: PenaltyBasis) -> list[dict]:
    """C18 / «10» 第七条: each responsible party at fault is fined within the basis's range for the
    cause (itself within ¥200–1,500); amounts outside are refused; no cause at fault, no fine."""
    if not fines:
        return []
    if not at_fault(cause):
        raise ValueError(f"责任原因「{CAUSE_LABELS.get(cause, cause)}」不罚扣 / no fines for cause {cause}")
    rule = basis.rules[cause]
    out = []
    for party, amount in fines:
        if not (rule.fine_min <= amount <= rule.fine_max):
            raise ValueError(f"{party} 罚扣 {amount} 元超出 {rule.fine_min}–{rule.fine_max} 元 / the fine of {party} "
                             f"({amount}) is outside {rule.fine_min}–{rule.fine_max} yuan")
        out.append({"party": party, "amount": str(amount.quantize(YUAN)), "penalty_type": rule.label,
                    "sanction": rule.sanction})
    return out


# ---- R9: quantity pending -----------------------------------------------------------------------
QUANTITY_REMINDER_DAYS = 7


def quantity_reminder_due(since: datetime, last_reminded: datetime | None, now: datetime) -> bool:
    """R9: weekly reminders to sales while the quantity is pending (the first a week after the decision)."""
    base = last_reminded or since
    return now >= base + timedelta(days=QUANTITY_REMINDER_DAYS)


def pending_amount(unit_price: Decimal, quantity: int) -> Decimal:
    """R9: the amount once the quantity is known, at the decided unit price."""
    if quantity < 0 or unit_price < 0:
        raise ValueError("quantity and unit price must not be negative")
    return (unit_price * quantity).quantize(YUAN, rounding=ROUND_HALF_UP)


def reapproval_roles(decided_amount: Decimal, final_amount: Decimal, table: AuthorityTable) -> list[str]:
    """R9: the approvers of the final amount when it passes the authority of the band that decided
    (a higher band); none while it stays within it."""
    before, after = approvers_by_amount(decided_amount, table), approvers_by_amount(final_amount, table)
    rank = {tuple(b.roles): i for i, b in enumerate(table.bands)}
    if rank[tuple(after)] > rank[tuple(before)]:  # both are a band's roles
        return after
    return []


# ---- C6 inside the chain, C19 objections --------------------------------------------------------
NO_PROMISE = "在作出处理决定前不得向客户做任何承诺（C6，000 «2»）"  # shown on every step before the decision
OBJECTION_BUSINESS_DAYS = 3  # C19 (interpretation): a petition within 3 business days of the notification
S1_ISSUE_DAY = 2  # the monthly 《客诉案件统计表》 of a month is issued on the 2nd of the next (deployments)


def s1_issued(month: str, at: datetime) -> bool:
    """Whether S1's table of `month` (YYYY-MM) was issued by `at` (Asia/Shanghai): from the 2nd of the
    month after it."""

    y, m = (int(x) for x in month.split("-"))
    issue = datetime(y + (m == 12), m % 12 + 1, S1_ISSUE_DAY, tzinfo=TZ)
    return at.astimezone(TZ) >= issue


def correction_month(closed_month: str, changed_at: datetime) -> str | None:
    """C19 / S4: a change decided after S1's table of the case's month was issued appears as a correction
    in the month it was decided (the issued month stays unchanged); None while the month is still open."""

    return changed_at.astimezone(TZ).strftime("%Y-%m") if s1_issued(closed_month, changed_at) else None


def share_changes(text: str, unit: str, shares_by_case: dict[str, dict[str, dict]]) -> dict[str, Decimal]:
    """The GM's (or a settlement's) shares for `unit`, lines 「编号: 比率」 over the unit's cases; a case not
    the unit's, or a share outside 0–100, is refused."""
    out = {}
    for case_no, share in parse_pairs(text, "比率"):
        if unit not in shares_by_case.get(case_no, {}):
            raise ValueError(f"{case_no} 不是 {unit} 的案件 / {case_no} is not a case of {unit}")
        if share > 100:
            raise ValueError(f"比率须在 0–100 之间：{share} / a share lies within 0–100")
        out[case_no] = share.quantize(YUAN)
    return out


# ---- C17: the five copies -----------------------------------------------------------------------
@dataclass(frozen=True)
class Copy:
    no: int
    mark: str
    unit: str
    role: str


COPIES = (Copy(1, "第一联", "质量管理部", "quality_lead"), Copy(2, "第二联", "制造部门", "production"),
          Copy(3, "第三联", "业务部门", "salesperson"), Copy(4, "第四联", "会计科", "accounting"),
          Copy(5, "第五联", "总经理室", "gm_office"))


class CustomerAddressRefused(ValueError):
    """C17: no copy or attachment of a grievance_form ever goes to a customer address."""


COPY_FILE_PREFIX = "客户抱怨处理表"  # every attachment of a grievance_form starts so (tasks/grievance/steps.py)


def is_grievance_form_file(filename: str) -> bool:
    return filename.startswith(COPY_FILE_PREFIX)


def check_copy_recipients(recipients: list[str], internal: set[str]) -> None:
    """Every recipient of a copy must be a person of the company's org directory (`internal`, lower
    case); anyone else is a customer address (or unknown) and is refused."""
    outside = sorted(r for r in recipients if r.lower() not in internal)
    if outside:
        raise CustomerAddressRefused(f"《客户抱怨处理表》不得发送给客户或外部地址：{', '.join(outside)} / a grievance "
                                     f"form copy never goes to a customer or outside address: {', '.join(outside)}")


# ---- C14: the register --------------------------------------------------------------------------
def days_overdue(due_at: datetime | None, now: datetime) -> int:
    """Whole days past a step's deadline (0 when on time or undated)."""
    if due_at is None or now <= due_at:
        return 0
    return (now - due_at).days + (1 if (now - due_at) % timedelta(days=1) else 0)


__all__ = [
    "CAUSE_LABELS", "CLASS_LABELS", "COPIES", "Cause", "ChainStep", "Copy", "CustomerAddressRefused",
    "FINE_MAX", "FINE_MIN", "GrievanceIn", "LossBasis", "MAX_RETURNS", "PenaltyBasis",
    "QUANTITY_PENDING_TEXT", "after_return", "approver_step", "approvers_by_amount", "at_fault", "chain_steps",
    "check_copy_recipients", "check_fines", "compute_loss", "days_overdue", "improvement_tracked",
    "load_loss_basis", "load_penalty_basis", "parse_pairs", "pending_amount", "quantity_pending",
    "quantity_reminder_due", "reapproval_roles", "routed_from_complaint",
]


# ---- S5 shares and S1's product-complaint figures ------------------------------------------------
def responsible_units(text: str) -> list[str]:
    """The responsible units as the GM office wrote them (「生产部、质量部」), in order, each once."""
    out: list[str] = []
    for u in re.split(r"[、,，;；/\s]+", text or ""):
        if u and u not in out:
            out.append(u)
    return out


def draft_shares(units: list[str]) -> dict[str, Decimal]:
    """S5: the GM office's draft — equal shares (比率, percent, 2 decimals) summing to exactly 100; the
    rounding remainder goes to the first unit named."""
    if not units:
        return {}
    each = (Decimal(100) / len(units)).quantize(YUAN, rounding="ROUND_DOWN")
    shares = {u: each for u in units}
    shares[units[0]] += Decimal(100) - each * len(units)
    return shares


def case_shares(data: dict) -> dict[str, dict]:
    """The case's shares: confirmed by the heads (S5, stored in `data.shares`), else the draft, 未确认."""
    stored = data.get("shares")
    if stored:
        return stored
    units = responsible_units((data.get("decision") or {}).get("responsible_units", ""))
    return {u: {"share": str(v), "confirmed": False} for u, v in draft_shares(units).items()}


STATE_LABELS = {"closed": "结案", "withdrawn": "撤销", "abnormality_report": "异常处理单（无损失）",
                "routed": "转客户抱怨处理", "customer_rejected": "客户不接受，另案重办"}


def month_figures(cases: list[tuple[str, dict]], corrections: list[dict] | None = None) -> dict:
    """S1's product-complaint figures over the month's closed grievances (state, data): by closing state
    and cause (supplier and customer causes are not our fault), loss and fines, supplier recoveries,
    and each responsible unit's shares — confirmed or 未确认 (S5); and the corrections decided this month
    to earlier, already issued months (C19: a 《签呈》's changed share), which leave those months as issued."""
    by_state: dict[str, int] = {}
    by_cause: dict[str, int] = {c: 0 for c in CAUSE_LABELS}
    loss, fines_amount, recovered, fines = Decimal("0"), Decimal("0"), Decimal("0"), 0
    units: dict[str, dict] = {}
    for state, data in cases:
        by_state[state] = by_state.get(state, 0) + 1
        d = data.get("decision")
        if not d:
            continue
        by_cause[d["cause"]] += 1
        loss += Decimal(d["loss_total"])
        fines += len(d["fines"])
        fines_amount += sum((Decimal(f["amount"]) for f in d["fines"]), Decimal("0"))
        recovered += Decimal((data.get("supplier_claim") or {}).get("recovered", "0"))
        for unit, s in case_shares(data).items():
            u = units.setdefault(unit, {"unit": unit, "cases": 0, "share_total": Decimal("0"), "confirmed": 0,
                                        "unconfirmed": 0})
            u["cases"] += 1
            u["share_total"] += Decimal(s["share"])
            u["confirmed" if s["confirmed"] else "unconfirmed"] += 1
    return {
        "total": len(cases),
        "by_state": [{"state": k, "label": STATE_LABELS.get(k, k), "count": n} for k, n in sorted(by_state.items())],
        "by_cause": [{"cause": k, "label": CAUSE_LABELS[k], "our_fault": at_fault(k), "count": n}
                     for k, n in by_cause.items()],
        "our_fault": sum(n for k, n in by_cause.items() if at_fault(k)),
        "loss_total": str(loss.quantize(YUAN)), "fines": fines, "fines_amount": str(fines_amount.quantize(YUAN)),
        "supplier_recovered": str(recovered.quantize(YUAN)), "corrections": list(corrections or []),
        "shares": [{**u, "share_total": str(u["share_total"].quantize(YUAN)),
                    "status": "已确认" if not u["unconfirmed"] else "未确认"} for u in units.values()],
    }


# ---- S5 / S6 schedule: before the 10th ------------------------------------------------------------
def first_business_day(year: int, month: int, calendar: BusinessCalendar) -> date:
    d = date(year, month, 1)
    while not calendar.is_workday(d):
        d += timedelta(days=1)
    return d


def improvement_reminder(due: datetime, now: datetime) -> datetime | None:
    """C18: a tracked measure "is reminded on its due date" — at the start of that day (08:30 Shanghai);
    asked on the due date itself or later, None (the usual reminder halfway to the deadline applies)."""
    day = due.astimezone(TZ).date()
    at = datetime(day.year, day.month, day.day, 8, 30, tzinfo=TZ)
    return at if now < at < due else None


def confirmations_due(today: date, calendar: BusinessCalendar) -> datetime:
    """S5: the heads' tasks are due 2 business days before the 10th of this month (17:30 Shanghai)."""
    d, left = date(today.year, today.month, 10), 2
    while left:
        d -= timedelta(days=1)
        if calendar.is_workday(d):
            left -= 1
    return datetime(d.year, d.month, d.day, 17, 30, tzinfo=TZ)


def units_with_fines(cases: list[tuple[str, dict]]) -> dict[str, list[dict]]:
    """S6 (2): per responsible unit, the month's fines (case, party, amount, cause) for its 《奖罚通知单》;
    a fine's party is the unit itself or a person of it, so the rows go to each unit named on the case."""
    out: dict[str, list[dict]] = {}
    for case_no, data in cases:
        d = data.get("decision") or {}
        for unit in responsible_units(d.get("responsible_units", "")):
            for f in d.get("fines", []):
                out.setdefault(unit, []).append({"case_no": case_no, "party": f["party"], "amount": f["amount"],
                                                 "cause": d.get("cause_label", ""), "sanction": f.get("sanction", "")})
    return out


class GrievanceFormRecord(Part):
    customer: str = ""


class GrievanceData(CaseData):
    """A grievance's case data: the 《客户抱怨处理表》 as filed, its salesperson, whether the quantity is
    still unknown (R9)."""
    form: GrievanceFormRecord
    salesperson: str
    quantity_pending: bool = False
    deadlines: dict[str, str] = {}  # C6/C8 deadlines by name, ISO times (the intake's record)

    def due(self, deadline: str) -> datetime:
        return datetime.fromisoformat(self.deadlines[deadline])
