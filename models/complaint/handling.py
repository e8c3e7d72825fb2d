"""Complaint handling (客户投诉处理, procedures §1, C1–C13): the intake form and the pure decision
rules — levels, routing, deadlines, satisfaction, return visit, outcome, penalties, notices,
recusal, retention.

No Prefect, no database, no I/O. Every time-dependent function takes `now` (or the moment it
computes from) explicitly; datetimes must be aware and results are in Asia/Shanghai.

Interpretations (where the regulations are vague; see the docstrings for details):
- "Within N business days" is inclusive: a first contact at exactly the deadline is on time, one
  minute later is late. Every deadline is an instant; "after the deadline" means strictly later.
- C6 "within 1 day" (1天内) for the responsible department's plan is read as 1 business day after
  receipt, the same clock as the first contact (C4); the GM report is due 3 business days after
  that plan deadline (000 «10»: 调查处理后三天内).
- C8: ordinary complaints close within 7 calendar days of receipt (一周内处理完毕); product
  complaints (category 产品质量, handled on the 《客户抱怨处理表》) within 15 calendar days
  (domestic) / 20 (foreign) of acceptance. The stricter deadline wins wherever both could apply,
  so every complaint that is not a product complaint closes in 7 days, foreign or not. Calendar
  deadlines do not move off weekends/holidays unless `roll_close_to_workday=True` (the Civil Code
  art. 203 convention, opt-in).
- The close reminder goes out 1 business day before the close deadline (same wall-clock time on
  the previous workday); if that is not after receipt, halfway between receipt and the deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from models.case_data import CaseData, Part
from models.guard import Guarded
from models.business_days import (TZ, BusinessCalendar, add_business_days,
                                  deadline_after_calendar_days, deadline_after_hours)

# ---- vocabularies (C1) ---------------------------------------------------------------------
Kind = Literal["consumer", "franchisee"]
Channel = Literal["phone", "sms", "letter", "fax", "web", "onsite", "written", "forwarded"]
# C28: who forwarded a complaint (转来)
Forwarder = Literal["sales_showroom", "property_management", "government", "judicial_administration",
                    "lawyers_association", "other"]
Category = Literal["工程质量", "规划设计", "销售管理", "物业管理", "服务行为", "维修服务", "外部环境",
                   "产品质量", "货运", "政策"]
Handling = Literal["explanation", "repair", "replacement", "allowance", "return"]
SatisfactionAction = Literal["close", "escalate", "gm_meeting"]
Notice = Literal["reminder", "urge_notice", "inquiry_notice"]

CATEGORIES: tuple[str, ...] = ("工程质量", "规划设计", "销售管理", "物业管理", "服务行为", "维修服务",
                               "外部环境", "产品质量", "货运", "政策")
PRODUCT_CATEGORY = "产品质量"

KIND_LABELS: dict[str, str] = {"consumer": "消费者投诉", "franchisee": "加盟商投诉"}
CHANNEL_LABELS: dict[str, str] = {"phone": "电话", "sms": "短信", "letter": "信件", "fax": "传真",
                                  "web": "网络平台", "onsite": "现场", "written": "书面", "forwarded": "转来"}
FORWARDER_LABELS: dict[str, str] = {"sales_showroom": "销售展示中心", "property_management": "物管公司",
                                    "government": "政府机关", "judicial_administration": "司法行政机关",
                                    "lawyers_association": "律师协会", "other": "其他"}
# C28: forwarded by a government or judicial body: straight to the L2 handler, level 3 suggested (as 12315)
AUTHORITY_FORWARDERS = frozenset({"government", "judicial_administration"})
LEVEL_LABELS: dict[int, str] = {1: "一级（普通投诉）", 2: "二级（较严重投诉）", 3: "三级（非常严重投诉）"}
SATISFACTION_LABELS: dict[int, str] = {1: "非常满意", 2: "满意", 3: "可理解/接受", 4: "不满意",
                                       5: "很不满意"}
OUTCOME_LABELS: dict[str, str] = {"explanation": "仅解释说明", "repair": "维修", "replacement": "更换",
                                  "allowance": "折让/赔款", "return": "退货/重处理"}
VALIDITY_LABELS: dict[str, str] = {"established": "成立", "not_established": "不成立"}
NOTICE_LABELS: dict[str, str] = {"reminder": "到期提醒", "urge_notice": "催办单", "inquiry_notice": "治办单"}
SATISFACTION_ACTION_LABELS: dict[str, str] = {"close": "结案（审核、存档、记录）",
                                              "escalate": "自动升级至下一级别（重新填报《投诉处理单》）",
                                              "gm_meeting": "提交总经理例会研究处理"}

LEVELS = (1, 2, 3)

# ---- C1: the 《投诉处理单》 as received -----------------------------------------------------
_MOBILE = re.compile(r"1[3-9]\d{9}")
# Landline: area code 0xx/0xxx, optional dash, 7–8 digit number, optional "-extension";
# or a local 7–8 digit number without area code (does not start with 0 or 1).
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:-\d{1,6})?|[2-9]\d{6,7}")

_ISO_WITH_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:?\d{2})")

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Complainant(Guarded):
    """投诉人及联系方式 complainant and contact."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=50, description="投诉人姓名 complainant's name")
    phone: str = Field(min_length=7, max_length=20,
                       description="联系电话：手机 1[3-9]xxxxxxxxx 或座机（可含区号与短横线） "
                                   "phone: Mainland mobile or landline digits with optional dash")
    email: EmailStr | None = Field(None, description="其他联系方式：电子邮箱 other contact: email")

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not (_MOBILE.fullmatch(v) or _LANDLINE.fullmatch(v)):
            raise ValueError("电话号码格式无效（手机 11 位或座机号码） / "
                             "invalid phone number (Mainland mobile or landline)")
        return v


class Event(Guarded):
    """事件发生时间、地点 the event's time and place."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    time: str = Field("", max_length=100, description="事件时间（自由文本或 ISO 格式） event time (free text or ISO)")
    place: str = Field("", max_length=200, description="事件地点 event place")


class Product(Guarded):
    """涉及产品及编码 a product involved and its code."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100, description="产品名称 product name")
    code: str = Field("", max_length=50, description="产品编码/料号 product code")


class Forwarding(Guarded):
    """C28 转来: who forwarded the complaint, their reference, and when the company received it (the
    deadlines count from then)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    forwarder: Forwarder = Field(description="转来单位类别：sales_showroom 销售展示中心 / property_management 物管公司 / "
                                             "government 政府机关 / judicial_administration 司法行政机关 / "
                                             "lawyers_association 律师协会 / other 其他 forwarder")
    forwarder_name: str = Field(min_length=1, max_length=100, description="转来单位名称 the forwarder's name")
    reference: str = Field(min_length=1, max_length=100, description="转来单位的文号/编号 the forwarder's reference")
    company_received_at: datetime = Field(
        description="公司收到转来投诉的时间（ISO-8601，须含时区；各期限由此起算） when the company received it")

    @field_validator("company_received_at", mode="before")
    @classmethod
    def _iso_text(cls, v: object) -> object:
        return _iso_with_zone(v)

    @field_validator("company_received_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return _aware_in_range(v)


def _iso_with_zone(v: object) -> object:
    """ISO-8601 text with a time zone only: no epoch numbers (JSON or numeric text), no dates alone."""
    if v is None or isinstance(v, datetime):
        return v
    if not isinstance(v, str) or not _ISO_WITH_ZONE.fullmatch(v.strip()):
        raise PydanticCustomError("iso_datetime_with_zone", "must be ISO-8601 text with a time zone, "
                                  "e.g. 2026-11-25T10:00:00+08:00")
    return v.strip()


def _aware_in_range(v: datetime | None) -> datetime | None:
    if v is not None and (v.tzinfo is None or v.utcoffset() is None):
        raise ValueError("must include a time zone (e.g. +08:00) / 必须包含时区")
    if v is not None:
        try:  # 0001-01-01T00:00:00+14:00 is before the first instant a datetime can hold in UTC
            v.astimezone(TZ)
        except (OverflowError, ValueError):
            raise PydanticCustomError("datetime_out_of_range", "is out of range") from None
    return v


class ComplaintIn(Guarded):
    """The 《投诉处理单》 as the receiver records it (C1), with the flags that drive the level (C3)."""

    multiline = frozenset({"description", "demand"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    complainant: Complainant = Field(description="投诉人及联系方式 complainant and contact")
    kind: Kind = Field(description="投诉类型：consumer 消费者投诉 / franchisee 加盟商投诉 complaint kind")
    channel: Channel = Field(description="投诉渠道：电话、短信、信件、传真、网络平台、现场、书面、转来（forwarded，须填 "
                                         "forwarded） channel")
    forwarded: Forwarding | None = Field(None, description="转来投诉（C28）：转来单位、文号、公司收到时间 "
                                                           "forwarded complaint: forwarder, reference, date received")
    category: Category = Field(description="投诉类别（004） complaint category")
    description: str = Field(min_length=1, max_length=5000,
                             description="投诉内容与事件起因 the complaint and the event's cause")
    event: Event = Field(default_factory=Event, description="事件时间、地点 event time and place")
    stores: list[ShortText] = Field(default_factory=list, max_length=50,
                                    description="涉及店铺 stores involved")
    persons_involved: list[ShortText] = Field(
        default_factory=list, max_length=50,
        description="涉及人员（员工姓名或邮箱，被投诉人回避） persons involved (staff names or emails; recused)")
    products: list[Product] = Field(default_factory=list, max_length=100,
                                    description="涉及产品及编码 products and product codes")
    demand: str = Field("", max_length=2000, description="客户诉求 the customer's demand")
    subject: str = Field("", max_length=100, description="投诉对象：项目、楼栋或产品批次（群诉识别，C26） "
                                                         "the subject: project, building or product batch")
    foreign: bool = Field(False, description="国外客户（产品投诉 20 天结案） foreign customer (20-day product deadline)")
    order_no: str = Field("", max_length=50, description="订单编号：产品质量投诉注明订单的，转《客户抱怨处理表》（C15） "
                                                         "order no.: a product-quality complaint naming one becomes a grievance")
    received_by: EmailStr | None = Field(None, description="受理人邮箱 who received it (email)")
    received_at: datetime | None = Field(
        None, description="受理时间：ISO-8601 文本，须含时区，不晚于现在、不早于允许的回溯期（默认 30 天） "
                          "when it was received: ISO-8601 text with a time zone, not in the future, not before "
                          "the allowed window (default 30 days)")
    # C3 level triggers
    hotline_12315: bool = Field(False, description="客户已投诉至 12315 热线 the customer went to the 12315 hotline")
    media: bool = Field(False, description="媒体介入 media involved")
    batch: bool = Field(False, description="新品质量批量投诉 batch quality complaint about a new product")
    emotional: bool = Field(False, description="带有情绪的投诉 emotional complaint")
    repeat_event_ref: str | None = Field(
        None, max_length=50, description="同一事件的前次投诉编号 previous case number about the same event")
    department_failed_to_act: bool = Field(
        False, description="投诉职能部门不作为 complaint that a department failed to act")

    @field_validator("received_at", mode="before")
    @classmethod
    def _iso_text(cls, v: object) -> object:
        return _iso_with_zone(v)

    @field_validator("received_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return _aware_in_range(v)

    @model_validator(mode="after")
    def _forwarded(self) -> "ComplaintIn":
        """C28: channel `forwarded` and the forwarding record go together; the deadlines count from the
        company's receipt, so `received_at` is that moment (given once, or equal)."""
        if self.channel == "forwarded" and self.forwarded is None:
            raise ValueError("转来的投诉须填写转来单位、文号和公司收到时间（forwarded） / "
                             "a forwarded complaint needs forwarded: forwarder, reference and date received")
        if self.channel != "forwarded" and self.forwarded is not None:
            raise ValueError("只有渠道为「转来」（forwarded）的投诉才填写 forwarded / "
                             "forwarded is only for channel forwarded")
        if self.forwarded is not None:
            at = self.forwarded.company_received_at
            if self.received_at is not None and self.received_at != at:
                raise ValueError("received_at 须与 forwarded.company_received_at 相同（期限自公司收到之日起算） / "
                                 "received_at must equal forwarded.company_received_at (deadlines count from it)")
            self.received_at = at
        return self

    @field_validator("repeat_event_ref")
    @classmethod
    def _blank_ref(cls, v: str | None) -> str | None:
        return v or None


# ---- helpers -------------------------------------------------------------------------------
def _check_level(level: int) -> int:
    if isinstance(level, bool) or level not in LEVELS:
        raise ValueError(f"level must be 1, 2 or 3, got {level!r}")
    return int(level)


def _aware(dt: datetime, name: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime, pass an aware datetime")
    return dt.astimezone(TZ)


def _money(amount: Decimal | int | str | float) -> Decimal:
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation as exc:
        raise ValueError(f"invalid amount {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"invalid amount {amount!r}")
    return value.quantize(Decimal("0.01"))


# ---- C2: validity --------------------------------------------------------------------------
def validity_next_step(established: bool, explanation: str = "") -> Literal["handle", "close_not_established"]:
    """C2: a complaint that stands is handled; one that does not is closed as 不成立 — still
    recorded and counted — after a polite explanation to the customer, which is required."""
    if established:
        return "handle"
    if not explanation.strip():
        raise ValueError("投诉不成立时须向客户委婉说明 / a polite explanation to the customer is required")
    return "close_not_established"


# ---- C3: levels ----------------------------------------------------------------------------
def propose_level(c: ComplaintIn, *, same_customer_same_event: bool = False) -> tuple[int, list[str]]:
    """C3: the suggested level and every reason for it (Chinese). The receiver may still choose.

    Level 3: 12315 hotline, media, batch quality complaint about a new product, a department that
    failed to act. At least level 2: same customer + same event (flag or `repeat_event_ref`),
    emotional, service behaviour/attitude (服务行为), policy (政策). Otherwise level 1."""
    l3: list[str] = []
    if c.hotline_12315:
        l3.append("消费者已投诉至 12315 热线")
    if c.media:
        l3.append("媒体介入，可能影响公司声誉")
    if c.batch:
        l3.append("新品质量批量投诉")
    if c.department_failed_to_act:
        l3.append("投诉职能部门不作为")
    if c.forwarded is not None and c.forwarded.forwarder in AUTHORITY_FORWARDERS:
        l3.append(f"{FORWARDER_LABELS[c.forwarded.forwarder]}转来（{c.forwarded.forwarder_name}）")
    l2: list[str] = []
    if same_customer_same_event or c.repeat_event_ref:
        ref = f"（前次投诉 {c.repeat_event_ref}）" if c.repeat_event_ref else ""
        l2.append(f"同一客户针对同一事件的二次投诉{ref}")
    if c.emotional:
        l2.append("带有情绪反馈的投诉")
    if c.category == "服务行为":
        l2.append("对服务态度/服务质量不满的投诉")
    if c.category == "政策":
        l2.append("对政策不理解、不满意的投诉")
    if l3:
        return 3, [f"三级：{r}" for r in l3] + [f"二级：{r}" for r in l2]
    if l2:
        return 2, [f"二级：{r}" for r in l2]
    return 1, ["一级：可由一级受理人直接处理的具体问题（普通投诉）"]


MAJOR_AFTER_DAYS = 10


def level_after_days_open(level: int, opened_at: datetime, now: datetime, *,
                          days: int = MAJOR_AFTER_DAYS) -> int:
    """001: a complaint not reasonably resolved within 10 (calendar) days becomes major: at least
    level 2 once `now` is strictly later than `opened_at` + 10 days."""
    level = _check_level(level)
    if _aware(now, "now") > deadline_after_calendar_days(_aware(opened_at, "opened_at"), days):
        return max(level, 2)
    return level


def escalated_level(level: int) -> int:
    """C9: the next level up (level 3 stays 3)."""
    return min(_check_level(level) + 1, 3)


# ---- C5: routing ---------------------------------------------------------------------------
class Routing(BaseModel):
    """Who does what at a level (C5, with C6's solution approval). Role identifiers from models.org.

    `reported_via`: the roles the 《投诉处理单》 passes through, in order, before the handler.
    `solution_approvers`: C6 — the quality lead and the manager approve the solution (处理方案)
    before it is carried out; the manager is the level's reviewer, so nobody approves their own."""

    model_config = ConfigDict(frozen=True)
    level: int
    handler: str
    reviewers: tuple[str, ...]
    informed: tuple[str, ...] = ()
    reported_via: tuple[str, ...] = ()
    solution_approvers: tuple[str, ...]
    gm_report_by: str = "quality_lead"
    gm_report_to: str = "general_manager"
    archiver: str = "archive_clerk"


# L3 unsatisfied: the administration centre submits it to the GM's regular meeting (000 «12» 1.7).
GM_MEETING_SUBMITTER = "l3_admin_director"


def routing(level: int) -> Routing:
    """C5 (000 «1/12» §5.1):
    - L1: l1_handler handles, l2_handler reviews, archive_clerk archives.
    - L2: l1_handler passes the form at once to l2_handler, who handles; l3_sales_director reviews.
    - L3: l1_handler reports at once to l2_handler, who reports to both L3 directors; the sales
      director directs the handling (the administration director is informed); the GM reviews."""
    level = _check_level(level)
    if level == 1:
        return Routing(level=1, handler="l1_handler", reviewers=("l2_handler",),
                       solution_approvers=("quality_lead", "l2_handler"))
    if level == 2:
        return Routing(level=2, handler="l2_handler", reviewers=("l3_sales_director",),
                       reported_via=("l1_handler",),
                       solution_approvers=("quality_lead", "l3_sales_director"))
    return Routing(level=3, handler="l3_sales_director", reviewers=("general_manager",),
                   informed=("l3_admin_director",), reported_via=("l1_handler", "l2_handler"),
                   solution_approvers=("quality_lead", "general_manager"))


# ---- C4, C6, C7, C8: deadlines -------------------------------------------------------------
FIRST_CONTACT_BUSINESS_DAYS = 1
PLAN_BUSINESS_DAYS = 1
GM_REPORT_BUSINESS_DAYS = 3
ORDINARY_CLOSE_DAYS = 7
PRODUCT_CLOSE_DAYS_DOMESTIC = 15
PRODUCT_CLOSE_DAYS_FOREIGN = 20
MINOR_PROGRESS_INTERVAL = 5   # C7: weekly = every 5 business days
MAJOR_PROGRESS_INTERVAL = 3   # C7: L2/L3 default


class Deadlines(BaseModel):
    """All deadlines of a case, Asia/Shanghai, computed from its receipt."""

    model_config = ConfigDict(frozen=True)
    received_at: datetime
    first_contact: datetime          # C4
    plan: datetime                   # C6 responsible department's plan and first agreement
    gm_report: datetime              # C6 report to the GM
    close: datetime                  # C8
    remind_before_close: datetime    # C8 reminder
    close_days: int                  # 7 / 15 / 20
    close_rule: Literal["ordinary", "product_domestic", "product_foreign"]
    progress_interval_business_days: int  # C7


def progress_interval_business_days(level: int, *, major_interval: int = MAJOR_PROGRESS_INTERVAL) -> int:
    """C7: at least weekly (5 business days) for level 1; L2/L3 every `major_interval` (default 3)."""
    level = _check_level(level)
    if major_interval < 1 or major_interval > MINOR_PROGRESS_INTERVAL:
        raise ValueError("major_interval must be between 1 and 5 business days")
    return MINOR_PROGRESS_INTERVAL if level == 1 else major_interval


def next_progress_contact(last_contact: datetime, level: int, calendar: BusinessCalendar, *,
                          major_interval: int = MAJOR_PROGRESS_INTERVAL) -> datetime:
    """C7: when the handler must next contact the customer with progress."""
    return add_business_days(last_contact, progress_interval_business_days(
        level, major_interval=major_interval), calendar)


def previous_business_moment(t: datetime, calendar: BusinessCalendar) -> datetime:
    """The same wall-clock time on the last workday strictly before `t`'s date (Asia/Shanghai)."""
    local = _aware(t, "t")
    d = local.date()
    for _ in range(3700):
        d -= timedelta(days=1)
        if calendar.is_workday(d):
            return datetime.combine(d, local.timetz().replace(tzinfo=None), TZ)
    raise ValueError("no workday within ten years")


def close_reminder_at(close_due: datetime, calendar: BusinessCalendar,
                      received_at: datetime | None = None) -> datetime:
    """C8 reminder moment: 1 business day before the close deadline; if that is not after
    `received_at` (e.g. a 7-day deadline across the National Day week), halfway between."""
    close_due = _aware(close_due, "close_due")
    remind = previous_business_moment(close_due, calendar)
    if received_at is not None:
        received = _aware(received_at, "received_at")
        if remind <= received:
            remind = received + (close_due - received) / 2
    return remind


def _roll_to_workday(t: datetime, calendar: BusinessCalendar) -> datetime:
    d = t.date()
    for _ in range(3700):
        if calendar.is_workday(d):
            return datetime.combine(d, t.timetz().replace(tzinfo=None), TZ)
        d += timedelta(days=1)
    raise ValueError("no workday within ten years")


def complaint_deadlines(received_at: datetime, level: int, category: str, foreign: bool,
                        calendar: BusinessCalendar, *,
                        major_progress_interval: int = MAJOR_PROGRESS_INTERVAL,
                        ordinary_close_days: int = ORDINARY_CLOSE_DAYS,
                        product_close_days_domestic: int = PRODUCT_CLOSE_DAYS_DOMESTIC,
                        product_close_days_foreign: int = PRODUCT_CLOSE_DAYS_FOREIGN,
                        roll_close_to_workday: bool = False) -> Deadlines:
    """C4 first contact: 1 business day after receipt. C6 plan: 1 business day after receipt
    (the seed's 1天内, on the business-day clock); GM report: 3 business days after the plan
    deadline. C8 close: 7 calendar days (ordinary), 15 / 20 calendar days for product complaints
    (domestic / foreign); the reminder 1 business day before (see `close_reminder_at`).
    C7 progress interval by level."""
    level = _check_level(level)
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    received = _aware(received_at, "received_at")
    first_contact = add_business_days(received, FIRST_CONTACT_BUSINESS_DAYS, calendar)
    plan = add_business_days(received, PLAN_BUSINESS_DAYS, calendar)
    gm_report = add_business_days(plan, GM_REPORT_BUSINESS_DAYS, calendar)
    if category == PRODUCT_CATEGORY:
        rule = "product_foreign" if foreign else "product_domestic"
        days = product_close_days_foreign if foreign else product_close_days_domestic
    else:
        rule, days = "ordinary", ordinary_close_days
    close = deadline_after_calendar_days(received, days)
    if roll_close_to_workday:
        close = _roll_to_workday(close, calendar)
    return Deadlines(
        received_at=received, first_contact=first_contact, plan=plan, gm_report=gm_report,
        close=close, remind_before_close=close_reminder_at(close, calendar, received),
        close_days=days, close_rule=rule,
        progress_interval_business_days=progress_interval_business_days(
            level, major_interval=major_progress_interval))


# ---- C8: notices ---------------------------------------------------------------------------
def overdue_notices(close_due: datetime, now: datetime, closed_at: datetime | None, *,
                    remind_at: datetime | None = None,
                    calendar: BusinessCalendar | None = None) -> list[Notice]:
    """C8: the notices that apply at `now`:
    - open, `remind_at` <= now <= close_due → ["reminder"] (remind_at defaults to 1 business day
      before the deadline, see `close_reminder_at`; pass `Deadlines.remind_before_close`);
    - open, now > close_due → ["urge_notice"] (《催办单》 to the department and its superior);
    - closed after close_due → ["inquiry_notice"] (《治办单》 asking why it was late);
    - otherwise [] (closed on time, or not yet in the reminder window)."""
    close_due = _aware(close_due, "close_due")
    now = _aware(now, "now")
    if closed_at is not None:
        return ["inquiry_notice"] if _aware(closed_at, "closed_at") > close_due else []
    if now > close_due:
        return ["urge_notice"]
    if remind_at is None:
        remind_at = close_reminder_at(close_due, calendar or BusinessCalendar())
    if now >= _aware(remind_at, "remind_at"):
        return ["reminder"]
    return []


# ---- C9: satisfaction ----------------------------------------------------------------------
def satisfaction_outcome(score: int, level: int) -> SatisfactionAction:
    """C9: 1–3 close the case; 4–5 escalate to the next level with a new linked 《投诉处理单》;
    4–5 at level 3 go to the GM's regular meeting (总经理例会) as an agenda item."""
    if isinstance(score, bool) or not isinstance(score, int) or score not in SATISFACTION_LABELS:
        raise ValueError(f"satisfaction score must be an integer 1–5, got {score!r}")
    level = _check_level(level)
    if score <= 3:
        return "close"
    return "gm_meeting" if level == 3 else "escalate"


# ---- C10: return visit ---------------------------------------------------------------------
RETURN_VISIT_HOURS = 24


def return_visit_due(resolved_at: datetime) -> datetime:
    """C10: the return visit (回访) is due within 24 hours of resolution — the outcome recorded, not
    the customer's satisfaction answer (001: 处理完毕后24小时内回访)."""
    return deadline_after_hours(_aware(resolved_at, "resolved_at"), RETURN_VISIT_HOURS)


def return_visit_role(level: int) -> str:
    """C10: minor (L1) by the receiver, l1_handler; major (L2/L3) by the area manager in person."""
    return "l1_handler" if _check_level(level) == 1 else "area_manager"


def visit_unsatisfactory(ratings: Iterable[int | None], shortcoming_unresolved: bool) -> bool:
    """C22: a return visit is unsatisfactory when any rating (service quality and attitude, the
    process, the result; C9's scale) is 4–5, or a shortcoming is unresolved."""
    return shortcoming_unresolved or any(r is not None and r >= 4 for r in ratings)


def visit_action(action: SatisfactionAction, process: int | None, result: int | None,
                 level: int) -> SatisfactionAction:
    """C22: a visit rating the handling process or result 4–5 also escalates (C9), even after a 1–3
    survey answer; otherwise the survey's action stands."""
    worst = max((r for r in (process, result) if r is not None), default=None)
    if action == "close" and worst is not None and worst >= 4:
        return satisfaction_outcome(worst, level)
    return action


# ---- C11: outcome --------------------------------------------------------------------------
# The outcome's typed form (handling, responsibility, loss) is models.answers.ComplaintOutcome.


def starts_return_flow(handling: str) -> Literal["allowance", "return"] | None:
    """C11/R1: allowance/compensation and return/re-processing start the return/credit procedure."""
    if handling not in OUTCOME_LABELS:
        raise ValueError(f"unknown handling {handling!r}")
    if handling == "allowance":
        return "allowance"
    if handling == "return":
        return "return"
    return None


# ---- C12: penalties ------------------------------------------------------------------------
PenaltyRule = Literal["first_contact_late", "routing_not_followed", "closing_without_satisfaction"]
PENALTY_LABELS: dict[str, str] = {
    "first_contact_late": "未在1个工作日内应诉并填报《投诉处理单》",
    "routing_not_followed": "未按受理权责及业务指引操作",
    "closing_without_satisfaction": "未咨询客户满意度或私自填写舞弊",
}
PENALTY_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "first_contact_late": (Decimal("30"), Decimal("30")),
    "routing_not_followed": (Decimal("30"), Decimal("100")),
    "closing_without_satisfaction": (Decimal("50"), Decimal("100")),
}


class Penalty(BaseModel):
    """C12: a recorded violation (负激励) of a handler, amount in yuan."""

    model_config = ConfigDict(frozen=True)
    handler: str = ""
    rule: PenaltyRule
    amount: Decimal
    reason: str

    @model_validator(mode="after")
    def _in_range(self) -> "Penalty":
        low, high = PENALTY_RANGES[self.rule]
        if not (low <= self.amount <= high):
            raise ValueError(f"{self.rule}: amount must be within ¥{low}–¥{high}, got ¥{self.amount}")
        return self


def first_contact_penalty(received_at: datetime, contacted_at: datetime | None, now: datetime,
                          calendar: BusinessCalendar, *, handler: str = "") -> Penalty | None:
    """C4/C12: ¥30 when the first contact came later than 1 business day after receipt, or has not
    happened and `now` is past that deadline. Contact exactly at the deadline is on time."""
    due = add_business_days(received_at, FIRST_CONTACT_BUSINESS_DAYS, calendar)
    if contacted_at is not None:
        late = _aware(contacted_at, "contacted_at") > due
        detail = f"实际联系时间 {_aware(contacted_at, 'contacted_at'):%Y-%m-%d %H:%M}"
    else:
        late = _aware(now, "now") > due
        detail = "至今未联系客户"
    if not late:
        return None
    return Penalty(handler=handler, rule="first_contact_late", amount=Decimal("30.00"),
                   reason=f"{PENALTY_LABELS['first_contact_late']}（应于 {due:%Y-%m-%d %H:%M} 前联系，{detail}）")


def routing_penalty(amount: Decimal | int | str, *, handler: str = "", reason: str = "") -> Penalty:
    """C5/C12: not following the routing: ¥30–100, decided case by case (视情)."""
    text = PENALTY_LABELS["routing_not_followed"] + (f"：{reason}" if reason else "")
    return Penalty(handler=handler, rule="routing_not_followed", amount=_money(amount), reason=text)


def closing_without_satisfaction_penalty(amount: Decimal | int | str, *, handler: str = "",
                                         faked: bool = False, reason: str = "") -> Penalty:
    """C9/C12: closing without asking the customer's satisfaction, or a faked answer: ¥50–100."""
    base = "私自填写满意度（舞弊）" if faked else "结案前未咨询客户满意度"
    text = base + (f"：{reason}" if reason else "")
    return Penalty(handler=handler, rule="closing_without_satisfaction", amount=_money(amount), reason=text)


# ---- recusal (000 «2»: 被投诉人应当回避) ------------------------------------------------------
def recused_people(persons_involved: Iterable[str], resolve: Callable[[str], str | None]) -> set[str]:
    """The lower-case emails of the people complained about. Entries that are emails are taken as
    they are; names go through `resolve` (e.g. the org directory); unknown names are ignored."""
    out: set[str] = set()
    for entry in persons_involved:
        entry = (entry or "").strip()
        if not entry:
            continue
        email = entry if "@" in entry else resolve(entry)
        if email:
            out.add(email.strip().lower())
    return out


# ---- C13: archive --------------------------------------------------------------------------
RETENTION_YEARS = 2


def retention_until(closed_at: datetime | date) -> date:
    """C13: the case file is kept at least 2 years from closing (Asia/Shanghai date); a 29 February
    closing keeps until 1 March, never less than the full period."""
    if isinstance(closed_at, datetime):
        d = _aware(closed_at, "closed_at").date()
    else:
        d = closed_at
    try:
        return d.replace(year=d.year + RETENTION_YEARS)
    except ValueError:  # 29 February → 1 March
        return date(d.year + RETENTION_YEARS, 3, 1)


__all__ = [
    "CATEGORIES", "CHANNEL_LABELS", "Category", "Channel", "Complainant", "ComplaintIn", "Deadlines",
    "AUTHORITY_FORWARDERS", "Event", "FORWARDER_LABELS", "Forwarding",
    "GM_MEETING_SUBMITTER", "Handling", "KIND_LABELS", "Kind", "LEVEL_LABELS", "NOTICE_LABELS",
    "Notice", "OUTCOME_LABELS", "PENALTY_LABELS", "PENALTY_RANGES", "Penalty", "Product",
    "RETENTION_YEARS", "Routing", "SATISFACTION_ACTION_LABELS", "SATISFACTION_LABELS", "TZ",
    "VALIDITY_LABELS", "close_reminder_at", "closing_without_satisfaction_penalty",
    "complaint_deadlines", "escalated_level", "first_contact_penalty", "level_after_days_open",
    "next_progress_contact", "overdue_notices", "previous_business_moment",
    "progress_interval_business_days", "propose_level", "recused_people", "retention_until",
    "return_visit_due", "return_visit_role", "routing", "routing_penalty", "satisfaction_outcome",
    "starts_return_flow", "validity_next_step", "visit_action", "visit_unsatisfactory",
]


# ---- the complaint's case data, as the flow reads it (models/case_data.py) ------------------------
class ComplainantRecord(Part):
    name: str
    phone: str = ""
    email: str | None = None


class ProductRecord(Part):
    name: str = ""
    code: str = ""


class ComplaintForm(Part):
    """The 《投诉处理单》 as received (ComplaintIn, stored)."""
    complainant: ComplainantRecord
    kind: str
    category: str
    description: str
    demand: str = ""
    order_no: str = ""
    foreign: bool = False
    products: list[ProductRecord] = []


class ComplaintData(CaseData):
    """A complaint's case data: the form, who received it, the level the rules proposed and why, the
    deadlines (ISO times by name), who is recused, and whether it is routed to a grievance (C15)."""
    form: ComplaintForm
    received_by: str
    recused: list[str] = []
    proposed_level: int
    level_reasons: list[str] = []
    deadlines: dict[str, str] = {}
    route: Literal["complaint", "grievance"] = "complaint"
    plan_writer: str | None = None  # recorded when the handler names the responsible department (C6)
    responsible_department: str | None = None
    group_case: str | None = None  # C26: the group complaint it joined (tasks/complaint/steps.py link_group_members)
    in_legal_process: bool | None = None  # C27: set by a handler or cleared by the legal counsel on the case

    def due(self, deadline: str) -> datetime:
        return datetime.fromisoformat(self.deadlines[deadline])
