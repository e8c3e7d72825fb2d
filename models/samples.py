"""Free sample requests (样品出门审批, procedures §6, P1–P3): the request, and the pure rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, EmailStr, Field

from models.guard import Guarded
from models.case_data import CaseData

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
    from_stock: bool = Field(False, description="非在机生产品种，从库存取样（退库、仓库台账、领用单，P5） "
                                                "a product not in production: the sample comes from stock")


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


def month_totals_summary(totals: dict) -> dict[str, str | int]:
    """P3's report to finance, line by line: the month's issues, quantity and weight, each product and
    size, and the exceptions — quantities issued other than approved, approved but not issued, issued
    without the guard's check (P4), stock samples whose totals differ from the warehouse ledger (P5) —
    each 「无」 when there is none."""
    summary: dict[str, str | int] = {"月份": totals["month"], "发放次数": totals["issues"],
                                     "数量（个）": totals["quantity"], "重量（kg）": totals["weight_kg"]}
    for line in totals["lines"]:
        summary[f"{line['product']} / {line['size_label']}"] = f"{line['quantity']} 个，{line['weight_kg']} kg"
    summary["与审批单数量不符"] = "；".join(f"{d['case_no']} 批 {d['approved']} 发 {d['issued']}"
                                    for d in totals["differences"]) or "无"
    summary["已批未发"] = "、".join(totals["unissued"]) or "无"
    summary["已发放未经门卫核验放行（P4）"] = "、".join(totals["no_gate_check"]) or "无"
    summary["库存取样与仓库台账不符（P5）"] = "；".join(
        f"{m['case_no']} 汇总 {m['counted']} 台账 {m['warehouse_ledger'] if m['warehouse_ledger'] is not None else '未登记'}"
        f" 领用单 {m['requisition'] if m['requisition'] is not None else '无'}" for m in totals["stock_mismatches"]) or "无"
    return summary


# ---- P4: three copies and the gate pass (000 «4» 二1, 6) ---------------------------------------------
SLIP_COPIES: dict[int, tuple[str, str]] = {1: ("留存", "营销部"), 2: ("生产部", "生产部"), 3: ("出门证", "门卫凭此放行")}
GATE_ITEMS: dict[str, str] = {"product_matches": "品名", "spec_matches": "规格", "size_class_matches": "规格类别",
                              "quantity_matches": "数量"}


def gate_pass_code(secret: str, case_no: str) -> str:
    """The gate pass's one-time code: an HMAC of the slip number under the system's secret (8 characters,
    no 0/O/1/I), so a re-run issues the same pass and nobody can make one up."""
    digest = hmac.new(secret.encode(), f"gate-pass:{case_no}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:8].translate(str.maketrans("01OI", "89XY"))


def gate_decision(expected_code: str, given_code: str, used: bool, matches: dict[str, bool],
                  guard_decision: Literal["released", "refused"], note: str = "") -> tuple[str, str]:
    """P4: what the gate records. A code not this pass's, or a pass already used, is refused; goods not
    matching the pass (product, specification, size class, quantity) are refused; else the guard's word."""
    if (given_code or "").strip().upper() != expected_code:
        return "refused", "出门证编码无效"
    if used:
        return "refused", "出门证已使用（一次有效）"
    wrong = [label for key, label in GATE_ITEMS.items() if not matches.get(key)]
    if wrong:
        return "refused", "货物与出门证不符：" + "、".join(wrong)
    if guard_decision == "refused":
        return "refused", note or "门卫拒绝放行"
    return "released", note or "核对无误，放行"


class SampleRequestData(CaseData):
    """A sample request's case data: the 《取样出门审批单》 as filed (SampleRequestIn)."""
    customer: str
    product: str
    spec: str
    size_class: Literal["whole", "half", "small"]
    quantity: int
    reason: str
    from_stock: bool = False
