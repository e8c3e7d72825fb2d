"""The grievance's answers (§7 C15–C18, R9: the 《客户抱怨处理表》 chain; S5's share confirmation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError, model_validator

from models.answers import CHOICE_LABELS, FIELD_LABELS, Answer, register_answer
from models.complaint.handling import Handling
from models.grievance import FINE_MAX, FINE_MIN, QUANTITY_PENDING_TEXT, GrievanceIn, at_fault, improvement_tracked, parse_pairs

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
        if self.decision == "settled" and not parse_pairs(self.shares, "比率"):
            raise ValueError("协调一致须填写比率 / a settlement needs the shares")
        return self
