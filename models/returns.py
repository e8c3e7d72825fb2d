"""Return and credit processing (成品退货与销货折让, procedures §4, R1–R8): the request, the
approval-authority decision table and the pure rules. Amounts are decimals in yuan, never floats;
quantities are integers with a unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from models.case_data import CaseData, Part
from models.guard import Guarded

Kind = Literal["allowance", "return"]
AllowanceProof = Literal["marked_invoice_copy", "stamped_allowance_certificate"]
ReturnProof = Literal["original_invoice", "stamped_invoice_copy", "return_certificate"]

PROOF_LABELS = {
    "marked_invoice_copy": "退回注明折让的原发票副本",
    "stamped_allowance_certificate": "客户盖章的《销货折让证明单》",
    "original_invoice": "收回原发票",
    "stamped_invoice_copy": "注明退回数量、单价、金额并经买方盖章的发票副本",
    "return_certificate": "买方盖章的《销货退回证明单》",
}
KIND_LABELS = {"allowance": "销货折让", "return": "成品退货"}


class Quantity(Guarded):
    model_config = ConfigDict(extra="forbid")
    value: int = Field(gt=0, le=10_000_000, description="数量（整数）")
    unit: str = Field("件", min_length=1, max_length=10, description="单位，如 件、箱、kg")


class ReturnRequestIn(Guarded):
    """POST /api/returns: a case decided outside the system (R1), or started by a complaint."""

    multiline = frozenset({"reason", "handling", "basis"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Kind = Field(description="allowance 折让/赔款 / return 退货/重处理")
    customer: str = Field(min_length=1, max_length=100, description="客户名称")
    customer_email: EmailStr | None = Field(None, description="客户邮箱（客户确认用）")
    invoice_no: str = Field("", max_length=50, description="原发票号")
    product_code: str = Field(min_length=1, max_length=50, description="料号 / 产品编号")
    product_name: str = Field("", max_length=100, description="品名")
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="金额（元）")
    quantity: Quantity | None = Field(None, description="退货数量（退货必填）")
    reason: str = Field(min_length=1, max_length=2000, description="原因")
    handling: str = Field("", max_length=2000, description="处理方式")
    basis: str = Field("", max_length=2000, description="依据")
    salesperson: EmailStr | None = Field(None, description="业务员邮箱；默认第一位业务员")
    complaint_case_no: str | None = Field(None, max_length=32, description="来源投诉编号")

    @field_validator("amount", mode="before")
    @classmethod
    def _no_floats(cls, v: object) -> object:
        if isinstance(v, float):
            raise ValueError("amount must be a decimal string, e.g. \"1234.50\", not a float")
        return v

    @model_validator(mode="after")
    def _quantity_for_returns(self) -> "ReturnRequestIn":
        if self.kind == "return" and self.quantity is None:
            raise ValueError("a return needs quantity {value, unit} / 退货必须填写数量")
        return self


# ---- R2: approval authority ------------------------------------------------------------------
class Band(BaseModel):
    model_config = ConfigDict(extra="forbid")
    up_to: Decimal | None = Field(description="upper bound in yuan, inclusive; null = no limit")
    roles: list[str] = Field(min_length=1)


class AuthorityTable(BaseModel):
    """核决权限: amount bands (ascending, the last unbounded) → roles that approve, in order."""

    model_config = ConfigDict(extra="forbid")
    bands: list[Band] = Field(min_length=1)
    default_over_acceptance_ratio: Decimal = Field(ge=0, le=1)
    customer_ratios: dict[str, Decimal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> "AuthorityTable":
        bounds = [b.up_to for b in self.bands]
        if bounds[-1] is not None:
            raise ValueError("the last band must be unbounded (up_to: null)")
        finite = [b for b in bounds[:-1]]
        if any(b is None for b in finite) or finite != sorted(finite) or len(set(finite)) != len(finite):
            raise ValueError("band limits must be strictly ascending, only the last one null")
        for r in self.customer_ratios.values():
            if not (0 <= r <= 1):
                raise ValueError("customer ratios must be within 0–1")
        return self


def load_authority(path: Path, known_roles: frozenset[str] | None = None) -> AuthorityTable:
    """Read and validate the decision table; errors name the file (Chinese and English)."""

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        table = AuthorityTable.model_validate(raw)
    except Exception as exc:  # noqa: BLE001 - yaml, OS and validation errors alike stop start-up
        raise ValueError(f"核决权限文件 {path} 无效 / approval authority file {path} is invalid: {exc}") from exc
    if known_roles is not None:
        unknown = sorted({r for b in table.bands for r in b.roles} - known_roles)
        if unknown:
            raise ValueError(f"核决权限文件 {path}: 未知角色 {unknown} / unknown roles {unknown}")
    return table


def approvers_for(amount: Decimal, table: AuthorityTable) -> list[str]:
    """R2: the roles that must approve an amount, in order (the first band whose limit it does not
    exceed). Sales staff never answer beyond their authority."""
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal")
    if amount <= 0:
        raise ValueError("amount must be positive")
    for band in table.bands:
        if band.up_to is None or amount <= band.up_to:
            return list(band.roles)
    raise AssertionError("unreachable: the last band is unbounded")


# ---- R5: reconciliation -------------------------------------------------------------------------
def over_acceptance_ratio(customer: str, table: AuthorityTable) -> Decimal:
    """The customer's own 超量允收比率, else the company default."""
    return table.customer_ratios.get(customer, table.default_over_acceptance_ratio)


def reconcile(approved: int, received: int, ratio: Decimal) -> Literal["book", "decide"]:
    """R5: within the ratio of the approved quantity (either way) the actual quantity is booked;
    beyond it the case goes back for a decision."""
    if approved <= 0 or received < 0:
        raise ValueError("approved must be positive and received not negative")
    return "book" if Decimal(abs(received - approved)) <= ratio * approved else "decide"


def receivable_exclusion(product_receivable: Decimal, complaint_established: bool) -> Decimal:
    """R7/R8: the amount excluded from the salesperson's collection-rate figure — the receivable of the
    complaint's product (000 «13» 第十三条二3 "所列料号之应收金额", which accounting states at booking;
    zero when the complaint did not affect collection), never the allowance or return amount; a
    complaint that did not stand excludes nothing (第九条十三: collected on the normal term)."""
    if not isinstance(product_receivable, Decimal):
        raise TypeError("the receivable must be a Decimal")
    if product_receivable < 0:
        raise ValueError("the receivable cannot be negative")
    return product_receivable.quantize(Decimal("0.01")) if complaint_established else Decimal("0.00")


def returned_amount(amount: Decimal, approved: int, booked: int) -> Decimal:
    """The transaction a booked return writes to the history (N1): the slip's amount for the quantity
    actually booked (amount × booked ÷ approved, to the fen, half up), negative — a return reverses
    sales, so a customer's amounts sum to net sales."""
    if approved <= 0 or booked < 0:
        raise ValueError("approved must be positive and booked not negative")
    return -(amount * booked / approved).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# ---- the case data of a return or an allowance, as the flows read it (models/case_data.py) ---------
class QuantityRecord(Part):
    value: int
    unit: str = "件"


class ReturnData(CaseData):
    """A return's or an allowance's case data: the slip as filed (ReturnRequestIn), its salesperson, the
    approvers of its amount's band (R2), the customer's over-acceptance ratio (R5)."""
    kind: Literal["allowance", "return"]
    salesperson: str
    approvers: list[str]
    customer_email: str | None = None
    quantity: QuantityRecord | None = None
    over_acceptance_ratio: Decimal = Decimal("0")
