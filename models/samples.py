"""Free sample requests (样品出门审批, procedures §6, P1–P3): the request, and the pure rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, EmailStr, Field

from models.guard import Guarded

# P2: 整纱 1.9 kg (export standard), 半纱 0.8 kg, 小纱 0.12 kg — per bobbin.
SIZE_CLASS_KG: dict[str, Decimal] = {"whole": Decimal("1.9"), "half": Decimal("0.8"),
                                     "small": Decimal("0.12")}
SIZE_CLASS_LABELS = {"whole": "整纱", "half": "半纱", "small": "小纱"}


class SampleRequestIn(Guarded):
    """The 《取样出门审批单》 as the marketing department fills it (P2: completely)."""

    multiline = frozenset({"reason"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    customer: str = Field(min_length=1, max_length=100, description="客户 customer")
    product: str = Field(min_length=1, max_length=100, description="品名 product")
    spec: str = Field(min_length=1, max_length=100, description="规格 specification")
    size_class: Literal["whole", "half", "small"] = Field(description="整纱 whole / 半纱 half / 小纱 small")
    quantity: int = Field(gt=0, le=1000, description="数量（个） quantity")
    reason: str = Field(min_length=1, max_length=1000, description="事由 reason")
    requested_by: EmailStr | None = Field(None, description="申请人邮箱（营销部）; default: first marketing person")


def sample_weight_kg(size_class: str, quantity: int) -> Decimal:
    """Total weight of a sample issue (P2)."""
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    return (SIZE_CLASS_KG[size_class] * quantity).quantize(Decimal("0.001"))


def previous_month(today: date) -> tuple[date, date]:
    """[first day, first day of next month) of the month before `today` (P3 month-end totals)."""
    first_this = today.replace(day=1)
    last_prev = first_this.fromordinal(first_this.toordinal() - 1)
    return last_prev.replace(day=1), first_this
