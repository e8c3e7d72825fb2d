"""The answers of returns and allowances (§4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from models.answers import CHOICE_LABELS, FIELD_LABELS, Answer, register_answer

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
