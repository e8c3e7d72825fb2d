"""The complaint's answers (§1 and C26's group complaints): one typed model per human step."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from models.answers import CHOICE_LABELS, FIELD_LABELS, Answer, register_answer
from models.complaint.handling import Handling, validity_next_step

# ---- complaint handling (§1) ------------------------------------------------------------------
CHOICE_LABELS.update({
    "stands": "投诉成立", "not_established": "投诉不成立", "contacted": "已联系客户",
    "submitted": "提交", "answered": "提交评价", "visited": "已回访", "told": "已告知客户",
    "named": "已指定", "instructed": "已批示", "decided": "已决定",
    "confirm": "确认为群诉", "met": "已出面接待", "concluded": "已形成结论",
})
FIELD_LABELS.update({
    "level": "投诉级别（1/2/3）", "contact_note": "了解到的原因与经过", "responsibility_department": "责任部门",
    "responsibility": "责任说明", "plan": "处理方案", "first_agreement": "已与客户达成初步一致",
    "handling": "处理方式", "responsible_person": "责任人", "our_fault": "我方责任",
    "human_negligence": "人为疏忽", "loss_amount": "客诉损失金额（元）", "score": "满意度（1–5）",
    "result": "回访结果", "told_via": "告知方式（电话/短信）", "note": "告知内容与客户反应",
    "department": "被投诉部门", "instruction": "总经理批示", "satisfaction_check": "客户核实满意度",
    "routing_penalty": "未按受理权责操作的负激励（元）", "routing_reason": "负激励事由",
    "process_notice_via": "受理告知方式（流程、时限、处理人联系方式）",
    "method": "回访方式", "service_quality": "服务质量（1–5）", "service_attitude": "服务态度（1–5）",
    "fee_as_agreed": "收费价格核实", "process_satisfaction": "处理过程满意度（1–5）",
    "result_satisfaction": "处理结果满意度（1–5）", "shortcomings": "不足之处", "shortcoming_unresolved": "不足尚未解决",
    "suggestions": "建议", "repair_quality": "维修质量与速度", "signature": "验证人签名",
    "matter_of_principle": "原则性问题（提交总经理例会）", "in_legal_process": "涉及司法程序",
    "handling_plan": "例会决定的处理方案", "interim_confirmed": "确认紧急临时处理", "notify_authorities": "通报主管部门",
    "authority": "通报部门", "notified_by": "通报人",
    "typical_case": "列为典型案例", "lessons": "经验教训", "improvement": "改进措施",
    "reply_via": "答复方式（《投诉处理答复函》）", "reply_text": "答复函：处理决定与后续安排", "oral_reason": "仅口头答复的原因",
    "spokesperson": "发言人（邮箱）", "widespread": "牵涉面积广（专题研究）", "met_at": "接待时间", "place": "接待地点",
    "attendees": "参加人员", "text": "统一答复内容", "conclusion": "专题研究结论",
})


@register_answer
class ComplaintIntake(Answer):
    """受理确认：投诉是否成立（C2）及级别（C3）/ validity and level, by the receiver."""

    decision: Literal["stands", "not_established"] = Field(description="stands 成立 / not_established 不成立")
    level: int = Field(ge=1, le=3, description="级别 1 普通 / 2 较严重 / 3 非常严重（系统已建议）")

    @model_validator(mode="after")
    def _explained(self) -> "ComplaintIntake":
        """C2: a complaint that does not stand needs the polite explanation to the customer (the comment)."""
        validity_next_step(self.decision == "stands", self.comment)
        return self


@register_answer
class CustomerInformed(Answer):
    """已电话/短信告知客户（C2：无电子邮箱的客户）/ the customer told by phone or SMS, and what they said."""

    decision: Literal["told"] = Field("told", description="told 已告知客户")
    told_via: Literal["phone", "sms"] = Field(description="告知方式：phone 电话 / sms 短信")
    note: str = Field(min_length=1, max_length=2000, description="告知内容与客户反应 / what was said")


@register_answer
class FirstContact(Answer):
    """首次联系客户（C4）/ the first contact with the customer."""

    decision: Literal["contacted"] = Field("contacted", description="contacted 已联系")
    contact_note: str = Field(min_length=1, max_length=2000, description="了解到的原因与经过 / cause and course")
    # C20: how the customer was told the process, each step's time and the handler's contact (受理告知)
    process_notice_via: Literal["read_out", "email", "sms"] = Field(
        "read_out", description="受理告知方式：read_out 已当面/电话告知 / email 发送邮件 / sms 已短信告知")


@register_answer
class InvestigationPlan(Answer):
    """责任部门的调查结论与处理方案（C6）/ the responsible department's statement and plan."""

    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    responsibility_department: str = Field(min_length=1, max_length=100, description="责任部门")
    responsibility: str = Field(min_length=1, max_length=2000, description="责任说明")
    plan: str = Field(min_length=1, max_length=4000, description="处理方案（决定前不得向客户承诺）")
    first_agreement: bool = Field(False, description="已与客户达成初步一致")


@register_answer
class ResponsibleDepartment(Answer):
    """被投诉部门（C6）：受理人指定责任部门，由其负责人1日内明确职责并提出方案 / the department complained about."""

    decision: Literal["named"] = Field("named", description="named 已指定")
    department: str = Field(min_length=1, max_length=100,
                            description="被投诉部门（组织架构中的部门名称或代码，如 生产部 / production）")
    # C25: a matter of principle goes on the GM meeting's agenda; C27: a lawsuit or arbitration filed or
    # threatened in writing, or a court/arbitration document received
    matter_of_principle: bool = Field(False, description="原则性问题（提交总经理例会）")
    in_legal_process: bool = Field(False, description="涉及司法程序（诉讼、仲裁已提起或书面威胁，或收到法院/仲裁文书）")


@register_answer
class GmMeetingDecision(Answer):
    """总经理例会决定（C25）：处理方案、是否通报主管部门 / the GM meeting's decision on a major matter."""

    multiline: ClassVar[frozenset[str]] = Answer.multiline | {"handling_plan"}
    decision: Literal["decided"] = Field("decided", description="decided 已决定")
    handling_plan: str = Field(min_length=1, max_length=4000, description="例会决定的处理方案")
    interim_confirmed: bool = Field(True, description="确认三级受理人已批准的紧急临时处理（如有）")
    notify_authorities: bool = Field(False, description="是否通报主管部门")
    authority: str = Field("", max_length=200, description="通报哪个部门")
    notified_by: str = Field("", max_length=100, description="由谁通报")

    @model_validator(mode="after")
    def _who_and_whom(self) -> "GmMeetingDecision":
        if self.notify_authorities and not (self.authority.strip() and self.notified_by.strip()):
            raise ValueError("通报主管部门时须写明通报哪个部门、由谁通报 / "
                             "notifying the authorities needs which authority and by whom")
        return self


@register_answer
class GmInstruction(Answer):
    """总经理批示（C6）：投诉调查处理报告呈总经理批示 / the GM's instruction on the investigation report."""

    decision: Literal["instructed"] = Field("instructed", description="instructed 已批示")
    instruction: str = Field(min_length=1, max_length=4000, description="批示意见 / the GM's instruction")


@register_answer
class ComplaintOutcome(Answer):
    """处理结果（C11）/ the outcome, responsibility and loss."""

    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    handling: Handling = Field(
        description="explanation 仅解释 / repair 维修 / replacement 更换 / allowance 折让赔款 / return 退货重处理")
    responsibility_department: str = Field(min_length=1, max_length=100, description="责任部门")
    responsible_person: str = Field("", max_length=100, description="责任人")
    our_fault: bool = Field(False, description="是否我方责任")
    human_negligence: bool = Field(False, description="是否人为疏忽")
    loss_amount: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2, description="客诉损失金额（元）")
    product_code: str = Field("", max_length=50, description="料号（折让/退货）；默认投诉中的第一个产品")
    return_quantity: int = Field(0, ge=0, le=10_000_000, description="退货数量（退货/重处理必填）")
    unit: str = Field("件", min_length=1, max_length=10, description="单位")
    # C24: the written reply to the complainant (《投诉处理答复函》): decision and next steps only
    reply_via: Literal["email", "letter", "sms", "oral_only"] = Field(
        "email", description="答复方式：email 邮件 / letter 信函 / sms 短信 / oral_only 仅口头（须说明原因）")
    reply_text: str = Field("", max_length=2000, description="答复函中的处理决定与后续安排（不写责任人、罚款及其他客户）")
    oral_reason: str = Field("", max_length=500, description="仅口头答复的原因")

    @model_validator(mode="after")
    def _written_reply(self) -> "ComplaintOutcome":
        if self.reply_via == "oral_only" and not self.oral_reason.strip():
            raise ValueError("仅口头答复须说明原因 / an oral-only reply needs the reason")
        if "罚" in self.reply_text or (self.responsible_person.strip() and self.responsible_person.strip() in self.reply_text):
            raise ValueError("答复函不得写责任人或罚款 / the written reply must not name the person responsible or fines")
        return self

    @model_validator(mode="after")
    def _return_credit_needs_amounts(self) -> "ComplaintOutcome":
        if self.handling in ("allowance", "return") and self.loss_amount <= 0:
            raise ValueError("折让/退货须填写金额 / allowance and return need loss_amount > 0")
        if self.handling == "return" and self.return_quantity <= 0:
            raise ValueError("退货须填写数量 / a return needs return_quantity > 0")
        return self


@register_answer
class Satisfaction(Answer):
    """满意度（C9）：1 非常满意 2 满意 3 可理解/接受 4 不满意 5 很不满意."""

    decision: Literal["answered"] = Field("answered", description="answered 提交")
    score: int = Field(ge=1, le=5, description="1 非常满意 / 2 满意 / 3 可理解接受 / 4 不满意 / 5 很不满意")


@register_answer
class ReturnVisit(Answer):
    """回访（C10）/ the return visit within 24 hours."""

    decision: Literal["visited"] = Field("visited", description="visited 已回访")
    result: str = Field(min_length=1, max_length=2000, description="回访结果")
    satisfaction_check: Literal["confirmed", "not_asked", "faked"] = Field(
        "confirmed", description="客户核实满意度：confirmed 曾被询问且评价属实 / not_asked 未被询问 / faked 评价非客户所作")
    # C22 (001 篇2 四(2)1, 4, 5): what a return visit records (the visitor is who answers)
    method: Literal["phone", "letter", "wechat", "in_person"] = Field(
        "phone", description="回访方式：phone 电话 / letter 信函 / wechat 微信 / in_person 上门")
    service_quality: int | None = Field(None, ge=1, le=5, description="服务质量评价（1 非常满意 … 5 很不满意）")
    service_attitude: int | None = Field(None, ge=1, le=5, description="服务态度评价（1 非常满意 … 5 很不满意）")
    fee_as_agreed: Literal["yes", "no", "no_fee"] = Field(
        "no_fee", description="收费价格核实：yes 按约定收费 / no 与约定不符 / no_fee 未收费")
    process_satisfaction: int | None = Field(None, ge=1, le=5, description="对处理过程的满意度（1–5）")
    result_satisfaction: int | None = Field(None, ge=1, le=5, description="对处理结果的满意度（1–5）")
    shortcomings: str = Field("", max_length=2000, description="客户指出的不足")
    shortcoming_unresolved: bool = Field(False, description="不足之处尚未解决")
    suggestions: str = Field("", max_length=2000, description="客户建议")
    repair_quality: str = Field("", max_length=500, description="维修质量与速度（维修类）")
    signature: str = Field("", max_length=50, description="验证人签名（上门回访必填）")
    multiline: ClassVar[frozenset[str]] = Answer.multiline | {"shortcomings", "suggestions"}

    @model_validator(mode="after")
    def _signed_in_person(self) -> "ReturnVisit":
        if self.method == "in_person" and not self.signature.strip():
            raise ValueError("上门回访须有验证人签名 / an in-person visit needs the verifier's signature")
        return self


@register_answer
class ComplaintReview(Answer):
    """审核《投诉处理单》（C5）：批准或驳回；受理人未按受理权责及业务指引操作的，视情记负激励（C12）."""

    decision: Literal["approve", "reject"] = Field(description="approve 批准 / reject 驳回")
    routing_penalty: Literal["0", "30", "50", "80", "100"] = Field(
        "0", description="未按受理权责及业务指引操作的负激励（元，0 为无）")
    routing_reason: str = Field("", max_length=500, description="负激励事由")
    # C23: the reviewer may mark the case typical for the case library (典型案例库), with its lessons
    typical_case: bool = Field(False, description="列为典型案例（匿名，经客服部经理审核后发布）")
    lessons: str = Field("", max_length=2000, description="经验教训（典型案例）")
    improvement: str = Field("", max_length=2000, description="改进措施（典型案例）")



@register_answer
class ProgressContact(Answer):
    """进度回复（C7）：告知客户处理进度 / a progress contact with the customer."""

    decision: Literal["contacted"] = Field("contacted", description="contacted 已联系")
    contact_note: str = Field(min_length=1, max_length=2000, description="联系内容 / what the customer was told")


# ---- group complaints (§7.1 C26) -----------------------------------------------------------------
@register_answer
class GroupConfirm(Answer):
    """群诉确认（C26）：系统建议，二级受理人确认 / the L2 handler confirms a suggested group complaint."""

    decision: Literal["confirm", "reject"] = Field(description="confirm 确认为群诉 / reject 不是群诉")
    spokesperson: str = Field("", max_length=200, description="统一答复的发言人（邮箱；默认二级受理人）")
    widespread: bool = Field(False, description="牵涉面积广，需专题研究")


@register_answer
class GroupMeeting(Answer):
    """第一时间出面接待（C26）/ the CS head met the complainants in person."""

    decision: Literal["met"] = Field("met", description="met 已出面接待")
    met_at: str = Field(min_length=1, max_length=50, description="时间")
    place: str = Field(min_length=1, max_length=200, description="地点")
    attendees: str = Field(min_length=1, max_length=1000, description="参加人员")


@register_answer
class GroupReply(Answer):
    """统一口径答复（C26）/ the one text the spokesperson answers all members with."""

    multiline: ClassVar[frozenset[str]] = Answer.multiline | {"text"}
    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    text: str = Field(min_length=1, max_length=4000, description="统一答复内容")


@register_answer
class SpecialStudy(Answer):
    """专题研究（C26）/ a widespread issue's special study and its conclusion."""

    multiline: ClassVar[frozenset[str]] = Answer.multiline | {"conclusion"}
    decision: Literal["concluded"] = Field("concluded", description="concluded 已形成结论")
    conclusion: str = Field(min_length=1, max_length=4000, description="专题研究结论")


# ---- the case library's quarterly review (§7.1 C23) ----------------------------------------------
@register_answer
class CaseLibraryQuarterReview(Answer):
    """典型案例库季度审核（C23）/ the CS manager's review of each library entry: keep, update, retire."""

    multiline: ClassVar[frozenset[str]] = Answer.multiline | {"reviews"}
    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    reviews: str = Field("{}", max_length=50000, description='逐条审核 JSON，例如 {"TS-2026-000001": "retire", '
                         '"TS-2026-000002": {"lessons": "新的经验教训"}}；可更新 cause/lessons/improvement；未列出的保留（keep）')
