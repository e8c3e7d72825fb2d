"""The free-sample procedure's answers (§5, P3–P5)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from models.answers import CHOICE_LABELS, FIELD_LABELS, Answer, register_answer

# "withdrawn" (StockWithdrawal) is labelled by the archive answers («撤回»): one label per choice name, as before the split
CHOICE_LABELS.update({"issued": "已发放", "released": "放行", "recorded": "已登记"})
FIELD_LABELS.update({
    "taker": "领取人（签名）", "quantity": "实发数量",
    "pass_code": "出门证编码", "product_matches": "品名一致", "spec_matches": "规格一致",
    "size_class_matches": "规格类别一致", "quantity_matches": "数量一致", "taken_on": "取样日期", "purpose": "领用用途",
})


@register_answer
class SampleIssue(Answer):
    """样品发放登记 / the sample handed out (P3)."""

    decision: Literal["issued"] = Field("issued", description="issued 已发放")
    taker: str = Field(min_length=1, max_length=50, description="领取人姓名 / taker's name")
    quantity: int = Field(gt=0, le=100000, description="实发数量 / quantity given")


@register_answer
class GateCheck(Answer):
    """门卫核验出门证（P4）/ the gate guard checks the goods against the gate pass."""

    decision: Literal["released", "refused"] = Field(description="released 放行 / refused 不予放行")
    pass_code: str = Field(min_length=1, max_length=20, description="出门证编码（出门证上的一次性编码）")
    product_matches: bool = Field(False, description="品名与出门证一致")
    spec_matches: bool = Field(False, description="规格与出门证一致")
    size_class_matches: bool = Field(False, description="规格类别（整纱/半纱/小纱）与出门证一致")
    quantity_matches: bool = Field(False, description="数量与出门证一致")
    note: str = Field("", max_length=500, description="备注")


@register_answer
class StockWithdrawal(Answer):
    """车间办理退库（P5）/ the workshop processes the withdrawal from stock."""

    decision: Literal["withdrawn"] = Field("withdrawn", description="withdrawn 已办理退库")
    note: str = Field("", max_length=500, description="退库单号/备注")


@register_answer
class WarehouseLedger(Answer):
    """司库员登记仓库台账（P5）/ the storekeeper records the sample taken in the warehouse ledger."""

    decision: Literal["recorded"] = Field("recorded", description="recorded 已登记")
    taker: str = Field(min_length=1, max_length=50, description="领取人姓名 / taker")
    quantity: int = Field(gt=0, le=100000, description="取样数量 / quantity taken")
    taken_on: date = Field(description="取样日期 / date taken (YYYY-MM-DD)")


@register_answer
class SampleRequisition(Answer):
    """营销部填写《领用单》（P5）/ marketing's requisition for the quantity taken from stock."""

    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    quantity: int = Field(gt=0, le=100000, description="领用数量（与仓库台账一致）")
    purpose: str = Field(min_length=1, max_length=500, description="领用用途")
