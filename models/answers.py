"""Typed answers of human steps (Prefect `RunInput` models).

Every answer has `decision` (the choice clicked in the email), `comment`, `code` and `decided_by`.
Typed steps add their own fields; the decision page renders them from the model, and the Prefect UI
renders the same model.

`code` is the proof a Prefect UI answer carries: the one-time answer code printed in the person's
email (tasks/platform/human_codes.py). It is required in the schema Prefect saves at suspension (so the
resume form and Prefect's API refuse an answer without one); the Python model leaves it empty by
default because an answer through the emailed link is proven by the link and never carries one.
`decided_by` is filled in by the system (the link's person, or the person a code was issued to) and
is not part of the resume form: what a resume says there is not trusted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal, get_args

from prefect.input import RunInput
from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from models.complaint.handling import Handling
from models.guard import guard_validators

CHOICE_LABELS: dict[str, str] = {
    "approve": "批准",
    "reject": "驳回",
    "issued": "已发放",
    "done": "已完成",
}

FIELD_LABELS: dict[str, str] = {
    "decision": "决定",
    "comment": "意见 / 备注",
    "decided_by": "处理人邮箱",
    "code": "答案码",
    "taker": "领取人（签名）",
    "quantity": "实发数量",
}


class Answer(RunInput):
    """What every answer carries besides its decision and typed fields. Text is one line except the
    fields named in `multiline` (models/guard.py); a number is never true/false."""

    multiline: ClassVar[frozenset[str]] = frozenset({
        "comment", "contact_note", "responsibility", "plan", "result", "feedback", "report", "changes", "reason", "note", "instruction",
        "reply_text", "lessons", "improvement"})
    _guard_numbers, _guard_text = guard_validators()

    model_config = ConfigDict(json_schema_extra=lambda schema, cls: _require_code(schema))

    comment: str = Field("", max_length=2000, description="意见 / 备注 comment")
    code: str = Field(
        "", max_length=20,
        description="答案码：您邮件中打印的 8 位一次性码（仅限本人、本事项、一次）/ "
                    "answer code: the 8-character one-time code printed in your email (yours, this task, once)")
    # set by the system, never taken from a resume form (not in the schema Prefect shows)
    decided_by: SkipJsonSchema[str] = Field("", max_length=200)


def _require_code(schema: dict) -> None:
    """The schema Prefect saves at suspension (its resume form, its API's check of `run_input`)
    requires the answer code; an answer through the link (the Python model) does not carry one."""
    props = schema.get("properties", {})
    if "code" in props:
        props["code"].pop("default", None)
        props["code"]["minLength"] = 1
        required = schema.setdefault("required", [])
        if "code" not in required:
            required.append("code")


class Decision(Answer):
    """审批：批准或驳回 / approve or reject."""

    decision: Literal["approve", "reject"] = Field(description="approve 批准 / reject 驳回")


class SampleIssue(Answer):
    """样品发放登记 / the sample handed out (P3)."""

    decision: Literal["issued"] = Field("issued", description="issued 已发放")
    taker: str = Field(min_length=1, max_length=50, description="领取人姓名 / taker's name")
    quantity: int = Field(gt=0, le=100000, description="实发数量 / quantity given")


class GateCheck(Answer):
    """门卫核验出门证（P4）/ the gate guard checks the goods against the gate pass."""

    decision: Literal["released", "refused"] = Field(description="released 放行 / refused 不予放行")
    pass_code: str = Field(min_length=1, max_length=20, description="出门证编码（出门证上的一次性编码）")
    product_matches: bool = Field(False, description="品名与出门证一致")
    spec_matches: bool = Field(False, description="规格与出门证一致")
    size_class_matches: bool = Field(False, description="规格类别（整纱/半纱/小纱）与出门证一致")
    quantity_matches: bool = Field(False, description="数量与出门证一致")
    note: str = Field("", max_length=500, description="备注")


class StockWithdrawal(Answer):
    """车间办理退库（P5）/ the workshop processes the withdrawal from stock."""

    decision: Literal["withdrawn"] = Field("withdrawn", description="withdrawn 已办理退库")
    note: str = Field("", max_length=500, description="退库单号/备注")


class WarehouseLedger(Answer):
    """司库员登记仓库台账（P5）/ the storekeeper records the sample taken in the warehouse ledger."""

    decision: Literal["recorded"] = Field("recorded", description="recorded 已登记")
    taker: str = Field(min_length=1, max_length=50, description="领取人姓名 / taker")
    quantity: int = Field(gt=0, le=100000, description="取样数量 / quantity taken")
    taken_on: date = Field(description="取样日期 / date taken (YYYY-MM-DD)")


class SampleRequisition(Answer):
    """营销部填写《领用单》（P5）/ marketing's requisition for the quantity taken from stock."""

    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    quantity: int = Field(gt=0, le=100000, description="领用数量（与仓库台账一致）")
    purpose: str = Field(min_length=1, max_length=500, description="领用用途")


ANSWER_MODELS: dict[str, type[RunInput]] = {
    "Decision": Decision,
    "SampleIssue": SampleIssue,
    "GateCheck": GateCheck,
    "StockWithdrawal": StockWithdrawal,
    "WarehouseLedger": WarehouseLedger,
    "SampleRequisition": SampleRequisition,
}


def register_answer(model: type[RunInput]) -> type[RunInput]:
    """Class decorator for answer models defined beside other procedures."""
    ANSWER_MODELS[model.__name__] = model
    return model


def choices_of(model: type[RunInput]) -> list[str]:
    return list(get_args(model.model_fields["decision"].annotation))


def extra_fields(model: type[RunInput]) -> list[str]:
    """The typed fields a decision page must ask for, beyond decision / comment / code / decided_by."""
    return [n for n in model.model_fields if n not in {"decision", "comment", "code", "decided_by"}]


# ---- complaint handling (§1) ------------------------------------------------------------------
CHOICE_LABELS.update({
    "stands": "投诉成立", "not_established": "投诉不成立", "contacted": "已联系客户",
    "submitted": "提交", "answered": "提交评价", "visited": "已回访", "told": "已告知客户",
    "named": "已指定", "instructed": "已批示", "decided": "已决定", "released": "放行", "withdrawn": "已办理退库", "recorded": "已登记",
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
    "pass_code": "出门证编码", "product_matches": "品名一致", "spec_matches": "规格一致",
    "size_class_matches": "规格类别一致", "quantity_matches": "数量一致", "taken_on": "取样日期", "purpose": "领用用途",
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
        from models.complaint.handling import validity_next_step

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
class Done(Answer):
    """确认完成 / confirm done (e.g. archived)."""

    decision: Literal["done"] = Field("done", description="done 已完成")


@register_answer
class ProgressContact(Answer):
    """进度回复（C7）：告知客户处理进度 / a progress contact with the customer."""

    decision: Literal["contacted"] = Field("contacted", description="contacted 已联系")
    contact_note: str = Field(min_length=1, max_length=2000, description="联系内容 / what the customer was told")


# ---- return and credit (§4) -------------------------------------------------------------------
CHOICE_LABELS.update({"confirmed": "确认（已盖章）", "refused": "不同意", "booked": "已入账",
                      "received": "已验收签收", "accept_actual": "按实退量接受"})
FIELD_LABELS.update({"proof": "证明文件", "received_quantity": "实退量", "booked_quantity": "入账数量",
                     "receivable_amount": "该料号应收金额（元）"})
RECEIVABLE_HELP = ("R7：因客诉影响收款时，填写《客户抱怨处理表》所列料号的应收金额，从业务员应收帐款回收率中扣除；"
                   "不影响收款留空 / the product's receivable excluded from the salesperson's collection rate")


@register_answer
class CustomerConfirmation(Answer):
    """客户确认《销货折让证明单》（盖章）/ the customer's confirmation (R3)."""

    decision: Literal["confirmed", "refused"] = Field(description="confirmed 确认 / refused 不同意")


@register_answer
class AllowanceBooking(Answer):
    """会计科入账（R3）：凭证明入账 / accounting books the allowance against its proof."""

    decision: Literal["booked"] = Field("booked", description="booked 已入账")
    proof: Literal["marked_invoice_copy", "stamped_allowance_certificate"] = Field(
        description="marked_invoice_copy 注明折让的原发票副本 / stamped_allowance_certificate 盖章的折让证明单")
    receivable_amount: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2,
                                       description=RECEIVABLE_HELP)


@register_answer
class GoodsReceived(Answer):
    """仓库验收（R4）：核对退货单并签收实退量 / the warehouse signs for the quantity received."""

    decision: Literal["received"] = Field("received", description="received 已验收")
    received_quantity: int = Field(ge=0, le=10_000_000, description="实退量 / quantity actually received")


@register_answer
class QuantityDecision(Answer):
    """退货数量差异超出允收比率（R5）：按实退量接受或驳回 / accept the received quantity or reject."""

    decision: Literal["accept_actual", "reject"] = Field(description="accept_actual 按实退量 / reject 驳回")


@register_answer
class ReturnBooking(Answer):
    """会计科入账（R6）：须有三种退回证明之一 / booking needs one of the three proofs."""

    decision: Literal["booked"] = Field("booked", description="booked 已入账")
    proof: Literal["original_invoice", "stamped_invoice_copy", "return_certificate"] = Field(
        description="original_invoice 原发票 / stamped_invoice_copy 盖章发票副本 / return_certificate 销货退回证明单")
    receivable_amount: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2,
                                       description=RECEIVABLE_HELP)


# ---- archive correction (§2) ----------------------------------------------------------------
CHOICE_LABELS.update({"resubmitted": "修改后重新提交", "withdrawn": "撤回"})
FIELD_LABELS.update({"changes": "修改后的更正字段（JSON，留空则不变）", "feedback": "执行情况反馈",
                     "report": "更正报告"})


@register_answer
class PlanRevision(Answer):
    """修改被驳回的补救处理方案 / revise the rejected remedy plan (A2: back to its author)."""

    decision: Literal["resubmitted", "withdrawn"] = Field(description="resubmitted 重新提交 / withdrawn 撤回")
    changes: str = Field("", max_length=4000, description='修改后的更正字段 JSON，例如 {"phone": "13900000000"}；留空则保留原更正内容')
    reason: str = Field("", max_length=2000, description="修改后的更正理由（留空则不变）")

    @model_validator(mode="after")
    def _changes_valid(self) -> "PlanRevision":
        from models.archive.records import validate_changes
        from models.archive.corrections import parse_revised_changes

        if self.decision == "resubmitted":
            revised = parse_revised_changes(self.changes)
            if revised is not None:
                validate_changes(revised)
        return self


@register_answer
class DepartmentFeedback(Answer):
    """部门执行反馈（A2 第 5 步）/ a department's feedback on its execution."""

    decision: Literal["done"] = Field("done", description="done 已完成")
    feedback: str = Field(min_length=1, max_length=4000, description="执行情况反馈 / what was done")


@register_answer
class CorrectionReport(Answer):
    """客服部更正报告（A2 第 6 步）/ CS's report on the executed correction."""

    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    report: str = Field(min_length=1, max_length=8000, description="更正报告 / the report")


# ---- new-customer certification (§3) -----------------------------------------------------------
CHOICE_LABELS.update({"certify": "认定（签字）", "refuse": "不予认定"})


@register_answer
class Certification(Answer):
    """新客户认定（N4）：认定或不予认定；业务部经理的意见即批示 / certify or refuse (the comment is the
    manager's instruction)."""

    decision: Literal["certify", "refuse"] = Field(description="certify 认定 / refuse 不予认定")


# ---- product complaints: the 《客户抱怨处理表》 chain (§7 C15–C18, R9) ------------------------------
CHOICE_LABELS.update({"registered": "编号登记", "abnormality_only": "无损失：开《异常处理单》", "returned": "退回上一环节",
                      "entered": "提交数量", "recorded": "已登记", "effective": "有效", "ineffective": "无效",
                      "upheld": "维持原稿，继续流转"})
FIELD_LABELS.update({
    "cause_analysis": "原因追查", "ask_rd": "需研发部提出意见", "cause": "原因分析", "countermeasure": "对策",
    "production_unit": "生产单位", "machine_shift": "机班别", "operators": "作业人员", "production_date": "生产日期",
    "opinion": "意见", "unit_price": "单价（元）", "amount": "金额（元；数量未定时按已知部分或 0）", "proposal": "处理意见",
    "customer_accepts": "客户接受", "responsible_units": "责任单位", "responsible_persons": "责任人员",
    "improvement_measure": "改善措施", "improvement_owner": "改善负责人（邮箱或姓名）", "improvement_due": "改善完成日期（YYYY-MM-DD）",
    "loss_items": "损失项目（每行「项目代码: 数量」）", "fines": "罚扣（每行「责任方: 金额」，200–1500 元）", "supplier": "供应商",
    "claim": "索赔内容", "recovered": "追回金额（元）", "unit": "单位",
})


class _Returnable(Answer):
    """A chain step that may send the case back to the previous step's author (C16): "returned" needs
    only the comment; "submitted" needs the step's own fields (`needed`)."""

    needed: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _complete_when_submitted(self) -> "_Returnable":
        if self.decision == "returned":
            if not self.comment.strip():
                raise ValueError("退回须填写意见 / a return needs the comment")
        else:
            missing = [f for f in self.needed if not str(getattr(self, f)).strip()]
            if missing:
                raise ValueError(f"请填写：{'、'.join(FIELD_LABELS.get(f, f) for f in missing)} / required: {', '.join(missing)}")
        return self


@register_answer
class GrievanceRegistration(_Returnable):
    """总经理室编号登记（C16 第 1 步）：登记，或无损失开《异常处理单》，或退回业务员补正."""

    decision: Literal["registered", "abnormality_only", "returned"] = Field(
        description="registered 登记 / abnormality_only 无损失开异常处理单 / returned 退回业务员")


@register_answer
class FormRevision(Answer):
    """业务员补正《客户抱怨处理表》后重新提交，或撤回 / the salesperson revises the form or withdraws it."""

    decision: Literal["resubmitted", "withdrawn"] = Field(description="resubmitted 重新提交 / withdrawn 撤回")
    opinion: str = Field("", max_length=2000, description="补正后的业务员意见（留空则不变）")


@register_answer
class QualityTrace(_Returnable):
    """质量管理部追查原因、判定责任单位（C16 第 2 步）."""

    needed = ("cause_analysis", "responsible_department")
    multiline = Answer.multiline | {"cause_analysis"}
    decision: Literal["submitted", "returned"] = Field(description="submitted 提交 / returned 退回上一环节")
    cause_analysis: str = Field("", max_length=4000, description="原因追查")
    responsible_department: str = Field("", max_length=100, description="责任单位")
    ask_rd: bool = Field(False, description="需研发部提出意见")


@register_answer
class ProductionAnalysis(_Returnable):
    """制造部门分析原因、拟定对策（C16 第 3 步）."""

    needed = ("cause", "countermeasure", "production_unit", "machine_shift", "operators", "production_date")
    multiline = Answer.multiline | {"cause", "countermeasure"}
    decision: Literal["submitted", "returned"] = Field(description="submitted 提交 / returned 退回上一环节")
    cause: str = Field("", max_length=4000, description="原因分析")
    countermeasure: str = Field("", max_length=4000, description="对策")
    production_unit: str = Field("", max_length=100, description="生产单位")
    machine_shift: str = Field("", max_length=100, description="机班别")
    operators: str = Field("", max_length=200, description="作业人员")
    production_date: str = Field("", max_length=20, description="生产日期")


@register_answer
class ManagerInstruction(_Returnable):
    """经理室批示（C16 第 4 步）."""

    needed = ("instruction",)
    decision: Literal["instructed", "returned"] = Field(description="instructed 已批示 / returned 退回上一环节")
    instruction: str = Field("", max_length=4000, description="批示")
    ask_rd: bool = Field(False, description="需研发部提出意见")


@register_answer
class RdOpinion(_Returnable):
    """研发部意见（C16 第 5 步，依异常状况）."""

    needed = ("opinion",)
    multiline = Answer.multiline | {"opinion"}
    decision: Literal["submitted", "returned"] = Field(description="submitted 提交 / returned 退回上一环节")
    opinion: str = Field("", max_length=4000, description="研发部意见")


@register_answer
class HandlingProposal(_Returnable):
    """业务部门拟定处理意见（C16 第 6 步）：处理方式、单价、金额."""

    needed = ("proposal",)
    multiline = Answer.multiline | {"proposal"}
    decision: Literal["submitted", "returned"] = Field(description="submitted 提交 / returned 退回上一环节")
    handling: Handling = Field("explanation", description="explanation 仅解释 / repair 维修 / replacement 更换 / "
                                                          "allowance 折让赔款 / return 退货重处理")
    unit_price: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2, description="单价（元）")
    amount: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2, description="金额（元）")
    proposal: str = Field("", max_length=4000, description="处理意见")


@register_answer
class GmOfficeOpinion(_Returnable):
    """总经理室综合意见（C16 第 7 步）."""

    needed = ("opinion",)
    multiline = Answer.multiline | {"opinion"}
    decision: Literal["submitted", "returned"] = Field(description="submitted 提交 / returned 退回上一环节")
    opinion: str = Field("", max_length=4000, description="综合意见")


@register_answer
class CustomerNegotiation(_Returnable):
    """业务部门向客户说明、交涉并填写结果（C16 第 8 步）."""

    needed = ("result",)
    decision: Literal["submitted", "returned"] = Field(description="submitted 提交 / returned 退回上一环节")
    result: str = Field("", max_length=4000, description="交涉结果")
    customer_accepts: bool = Field(True, description="客户接受")


@register_answer
class GrievanceConsolidation(_Returnable):
    """总经理室汇总结果与意见（C16 第 9 步，1日内）；责任、改善、损失与罚扣（C18）."""

    needed = ("result", "responsible_units")
    multiline = Answer.multiline | {"improvement_measure", "loss_items", "fines"}
    decision: Literal["submitted", "returned"] = Field(description="submitted 提交 / returned 退回上一环节")
    result: str = Field("", max_length=4000, description="汇总结果与意见")
    cause: Literal["our_quality", "human_negligence", "supplier", "customer"] = Field(
        "our_quality", description="our_quality 本公司品质问题 / human_negligence 人为疏忽 / supplier 供应商或其他公司 / customer 客户")
    responsible_units: str = Field("", max_length=200, description="责任单位")
    responsible_persons: str = Field("", max_length=200, description="责任人员")
    improvement_measure: str = Field("", max_length=2000, description="改善措施（本公司品质问题必填，列入追踪）",
                                     examples=["更换粗纱机皮辊并加强条干检测"])
    improvement_owner: str = Field("", max_length=100, description="改善负责人（邮箱或姓名）", examples=["韩雪"])
    improvement_due: str = Field("", max_length=10, description="改善完成日期 YYYY-MM-DD", examples=["2026-12-31"])
    loss_items: str = Field("", max_length=2000, description="损失项目，每行「项目代码: 数量」（按客诉损失金额核算基准）")
    fines: str = Field("", max_length=2000, description="罚扣，每行「责任方: 金额」（每案每责任方 200–1500 元）",
                       examples=["生产部: 500"])

    @model_validator(mode="after")
    def _c18(self) -> "GrievanceConsolidation":
        from datetime import date

        from models.grievance import FINE_MAX, FINE_MIN, at_fault, improvement_tracked, parse_pairs

        if self.decision == "returned":
            return self
        parse_pairs(self.loss_items, "损失项目")
        fines = parse_pairs(self.fines, "罚扣")
        if fines and not at_fault(self.cause):
            raise ValueError("该责任原因不罚扣 / no fines for this cause")
        for party, amount in fines:
            if not FINE_MIN <= amount <= FINE_MAX:
                raise ValueError(f"{party} 罚扣须在 200–1500 元之间 / fines lie within 200–1,500 yuan")
        if improvement_tracked(self.cause):
            if not (self.improvement_measure.strip() and self.improvement_owner.strip() and self.improvement_due):
                raise ValueError("本公司品质问题须填写改善措施、负责人和完成日期 / our quality problems need the "
                                 "improvement measure, owner and due date")
            try:
                date.fromisoformat(self.improvement_due)
            except ValueError:
                raise ValueError("改善完成日期格式为 YYYY-MM-DD / the due date is YYYY-MM-DD") from None
        return self


@register_answer
class QuantityEntry(Answer):
    """R9：客户加工完毕后，业务员填写退换数量 / the quantity once known."""

    decision: Literal["entered"] = Field("entered", description="entered 提交")
    quantity: int = Field(gt=0, le=10_000_000, description="退换数量")
    unit: str = Field("kg", min_length=1, max_length=10, description="单位")


@register_answer
class SupplierClaim(Answer):
    """供应商索赔（C18）：供应商、索赔内容、追回金额 / the supplier claim and its result."""

    decision: Literal["recorded"] = Field("recorded", description="recorded 已登记")
    supplier: str = Field(min_length=1, max_length=100, description="供应商")
    claim: str = Field(min_length=1, max_length=2000, description="索赔内容")
    recovered: Decimal = Field(Decimal("0"), ge=0, max_digits=14, decimal_places=2, description="追回金额（元）")


@register_answer
class ImprovementDone(Answer):
    """改善措施落实（C18，列入追踪）/ the tracked improvement carried out."""

    decision: Literal["done"] = Field("done", description="done 已完成")
    result: str = Field(min_length=1, max_length=2000, description="落实情况")


@register_answer
class EffectCheck(Answer):
    """质量管理部效果确认（C18）/ the quality department checks the improvement's effect."""

    decision: Literal["effective", "ineffective"] = Field(description="effective 有效 / ineffective 无效")


@register_answer
class GmRuling(Answer):
    """总经理裁定（C16 多次退回后上报）：维持原稿继续流转，或撤销本案 / the GM's ruling on repeated returns."""

    decision: Literal["upheld", "withdrawn"] = Field(description="upheld 维持原稿继续 / withdrawn 撤销本案")


FIELD_LABELS.update({"abnormality_no": "异常编号", "order_no": "订单编号", "item_no": "料号", "customer": "客户",
                     "quantity_shipped": "交运数量", "ship_date": "交运日期（YYYY-MM-DD）", "defective_quantity": "不良数量",
                     "demand": "客户要求", "return_quantity": "退换数量（0 = 客户加工中未确定）",
                     "grievance_class": "类别", "sample_attached": "附不良样品"})


@register_answer
class GrievanceForm(Answer):
    """业务员就产品质量投诉填写《客户抱怨处理表》（C15）/ the salesperson fills the grievance form for a
    product-quality complaint naming an order."""

    multiline = Answer.multiline | {"description", "demand", "opinion"}
    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    abnormality_no: str = Field(min_length=1, max_length=50, description="异常编号")
    order_no: str = Field(min_length=1, max_length=50, description="订单编号")
    item_no: str = Field(min_length=1, max_length=50, description="料号")
    customer: str = Field(min_length=1, max_length=100, description="客户名称")
    quantity_shipped: int = Field(gt=0, le=10_000_000, description="交运数量")
    unit: str = Field("kg", min_length=1, max_length=10, description="单位")
    ship_date: str = Field(min_length=10, max_length=10, description="交运日期 YYYY-MM-DD", examples=["2026-11-02"])
    defective_quantity: int = Field(gt=0, le=10_000_000, description="不良数量")
    description: str = Field(min_length=1, max_length=4000, description="异常情况")
    demand: str = Field(min_length=1, max_length=2000, description="客户要求；数量未定填「客户加工中未确定」")
    return_quantity: int = Field(0, ge=0, le=10_000_000, description="退换数量；0 = 客户加工中未确定")
    grievance_class: Literal["quality", "non_quality"] = Field(description="quality 品质异常 / non_quality 非品质（人为）")
    sample_attached: bool = Field(False, description="附不良样品")
    opinion: str = Field(min_length=1, max_length=2000, description="业务员意见")

    def to_form(self, salesperson: str, **extra: Any) -> Any:
        """The 《客户抱怨处理表》 as POST /api/grievances takes it (validated there by the same rules)."""
        from models.grievance import QUANTITY_PENDING_TEXT, GrievanceIn

        pending = self.return_quantity == 0
        return GrievanceIn.model_validate({
            "abnormality_no": self.abnormality_no, "order_no": self.order_no, "item_no": self.item_no,
            "customer": self.customer, "quantity_shipped": {"value": self.quantity_shipped, "unit": self.unit},
            "ship_date": self.ship_date, "defective_quantity": {"value": self.defective_quantity, "unit": self.unit},
            "description": self.description, "demand": QUANTITY_PENDING_TEXT if pending else self.demand,
            "return_quantity": None if pending else {"value": self.return_quantity, "unit": self.unit},
            "grievance_class": self.grievance_class, "sample_attached": self.sample_attached,
            "opinion": self.opinion, "salesperson": salesperson, **extra})

    @model_validator(mode="after")
    def _valid_form(self) -> "GrievanceForm":
        from pydantic import ValidationError

        try:
            self.to_form("salesperson@example.com")
        except ValidationError as exc:
            raise ValueError("；".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None
        return self


# ---- S5: the heads confirm the month's responsibility shares ------------------------------------------
CHOICE_LABELS.update({"proposed": "提出其他比率"})
FIELD_LABELS.update({"proposal": "建议比率（每行「编号: 比率」）", "improvement_state": "改善措施与结果状态"})


@register_answer
class ShareConfirmation(Answer):
    """责任比率共同确认（S5）：确认草拟的比率，或提出其他比率并说明理由；并记录改善措施与结果的状态."""

    multiline = Answer.multiline | {"proposal"}
    decision: Literal["confirmed", "proposed"] = Field(description="confirmed 确认 / proposed 提出其他比率")
    proposal: str = Field("", max_length=2000, description="建议比率，每行「编号: 比率」；确认时留空")
    improvement_state: Literal["done", "in_progress", "ineffective"] = Field(
        "in_progress", description="done 已完成 / in_progress 进行中 / ineffective 无效")

    @model_validator(mode="after")
    def _proposal_with_reason(self) -> "ShareConfirmation":
        from models.grievance import parse_pairs

        if self.decision == "proposed":
            if not parse_pairs(self.proposal, "建议比率") or not self.comment.strip():
                raise ValueError("提出其他比率须填写建议比率和理由（意见）/ a proposal needs the shares and the reason")
        return self


# ---- C17 the customer's answer, C19 objections by 《签呈》 (product complaints) ------------------------
CHOICE_LABELS.update({"accepted": "接受", "rejected": "客户不接受", "petition": "提出《签呈》", "objects": "提出异议",
                      "resolved": "已沟通，无异议", "forwarded": "转呈总经理", "maintained": "维持原决定",
                      "changed": "变更决定", "settled": "已协调一致", "unsettled": "未能协调（转《签呈》）"})
FIELD_LABELS.update({"passed_on_via": "告知方式（函告/电话）", "subject": "异议事项", "reasons": "理由",
                     "change_asked": "请求变更为", "attachments": "附件（文件名或链接，每行一个）", "objection": "异议内容",
                     "follow_up": "跟进处理记录", "answer": "总经理批示（最终）", "shares": "比率（每行「编号: 比率」）"})
PETITION_SUBJECTS = {"responsibility": "责任归属", "share": "责任比率", "loss": "损失金额", "penalty": "罚扣"}


@register_answer
class CustomerDecisionReply(Answer):
    """业务部门将核决结果函告或电话告知客户，并记录客户是否接受（C17）/ sales passes the decision on and records
    whether the customer accepts it."""

    multiline = Answer.multiline | {"note"}
    decision: Literal["accepted", "rejected"] = Field(description="accepted 客户接受 / rejected 客户不接受（另填新表）")
    passed_on_via: Literal["letter", "phone"] = Field("phone", description="letter 函告 / phone 电话")
    note: str = Field(min_length=1, max_length=2000, description="告知内容与客户反应")


@register_answer
class Petition(Answer):
    """《签呈》（C19）：对核决（责任、比率、损失、罚扣）有异议的单位经总经理室呈总经理；无异议则接受 /
    a unit accepts the decision or files a petition: reasons, the change asked, attachments."""

    multiline = Answer.multiline | {"reasons", "change_asked", "attachments"}
    decision: Literal["accepted", "petition"] = Field(description="accepted 接受 / petition 提出《签呈》")
    subject: Literal["responsibility", "share", "loss", "penalty"] = Field(
        "penalty", description="responsibility 责任归属 / share 责任比率 / loss 损失金额 / penalty 罚扣")
    reasons: str = Field("", max_length=4000, description="理由")
    change_asked: str = Field("", max_length=2000, description="请求变更为")
    attachments: str = Field("", max_length=2000, description="附件（文件名或链接，每行一个）")

    @model_validator(mode="after")
    def _petition_complete(self) -> "Petition":
        if self.decision == "petition" and not (self.reasons.strip() and self.change_asked.strip()):
            raise ValueError("《签呈》须填写理由和请求变更的内容 / a petition needs its reasons and the change asked")
        return self


@register_answer
class PersonalOpinionReply(Answer):
    """被投诉人知悉对其本人的处理意见（C19）：接受，或向受理人提出异议 / the person complained about accepts the
    opinion concerning them or objects to the handler."""

    multiline = Answer.multiline | {"objection"}
    decision: Literal["accepted", "objects"] = Field(description="accepted 接受 / objects 提出异议")
    objection: str = Field("", max_length=2000, description="异议内容")

    @model_validator(mode="after")
    def _objection_stated(self) -> "PersonalOpinionReply":
        if self.decision == "objects" and not self.objection.strip():
            raise ValueError("提出异议须填写异议内容 / an objection needs its content")
        return self


@register_answer
class ObjectionFollowUp(Answer):
    """受理人记录对被投诉人异议的跟进（C19）；仍有异议的转《签呈》/ the handler records the follow-up; continued
    disagreement becomes a petition."""

    multiline = Answer.multiline | {"follow_up"}
    decision: Literal["resolved", "petition"] = Field(description="resolved 已沟通无异议 / petition 仍有异议，转《签呈》")
    follow_up: str = Field(min_length=1, max_length=2000, description="跟进处理记录")


@register_answer
class PetitionForward(Answer):
    """总经理室转呈《签呈》并附意见（C19）/ the GM office forwards the petition to the GM with its opinion."""

    multiline = Answer.multiline | {"opinion"}
    decision: Literal["forwarded"] = Field("forwarded", description="forwarded 转呈总经理")
    opinion: str = Field(min_length=1, max_length=2000, description="总经理室意见")


@register_answer
class PetitionAnswer(Answer):
    """总经理对《签呈》的批示，为最终决定（C19）：维持，或变更（罚扣、比率）/ the GM's final answer."""

    multiline = Answer.multiline | {"answer", "fines", "shares"}
    decision: Literal["maintained", "changed"] = Field(description="maintained 维持原决定 / changed 变更决定")
    answer: str = Field(min_length=1, max_length=4000, description="总经理批示（最终）")
    fines: str = Field("", max_length=2000, description="变更后的罚扣，每行「责任方: 金额」；不变则留空")
    shares: str = Field("", max_length=2000, description="变更后的比率，每行「编号: 比率」；不变则留空")

    @model_validator(mode="after")
    def _pairs(self) -> "PetitionAnswer":
        from models.grievance import FINE_MAX, FINE_MIN, parse_pairs

        for party, amount in parse_pairs(self.fines, "罚扣"):
            if not FINE_MIN <= amount <= FINE_MAX:
                raise ValueError(f"{party} 罚扣须在 200–1500 元之间 / fines lie within 200–1,500 yuan")
        parse_pairs(self.shares, "比率")
        return self


@register_answer
class ShareSettlement(Answer):
    """总经理室与部门负责人协调责任比率（S5）：协调一致（比率），或未能协调（转《签呈》，C19）."""

    multiline = Answer.multiline | {"shares"}
    decision: Literal["settled", "unsettled"] = Field(description="settled 已协调一致 / unsettled 未能协调，转《签呈》")
    shares: str = Field("", max_length=2000, description="协调后的比率，每行「编号: 比率」", examples=["KS-2026-0001: 60"])

    @model_validator(mode="after")
    def _settled_shares(self) -> "ShareSettlement":
        from models.grievance import parse_pairs

        if self.decision == "settled" and not parse_pairs(self.shares, "比率"):
            raise ValueError("协调一致须填写比率 / a settlement needs the shares")
        return self


# ---- customer archive, periodic (§7.2 A5) --------------------------------------------------------
@register_answer
class ArchiveCleanupProposals(Answer):
    """定期清理处理建议（A5）/ the archive clerk's proposal per listed record."""

    multiline: ClassVar[frozenset[str]] = Answer.multiline | {"proposals", "paper_files"}
    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    proposals: str = Field("{}", max_length=20000, description='处理建议 JSON，例如 {"DA-2026-000001": "deactivate", '
                           '"DA-2026-000002": "merge:DA-2026-000003", "DA-2026-000004": "correct"}；未列出的保留（keep）')
    paper_files: str = Field("", max_length=4000, description="纸质档案存放位置与状态（散放/装订/归档）")


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
