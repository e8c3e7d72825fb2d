"""The customer archive (客户档案, §2 A3) and transaction history (§3 N1–N2): input models and the
pure rules beside them. No database and no clock here: callers pass `now`."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.guard import Guarded
from models.access import FULL_READ_ROLES  # 查阅权限 (A3), defined with the other access rules
from models.privacy import mask_id_card, mask_phone

CUSTOMER_CLASSES: dict[str, str] = {
    "resident": "个人居民",
    "enterprise": "企事业单位",
    "lessee": "承租户",
    "supplier": "供应商",
    "dealer": "经销商",
    "special": "特殊客户（律师、银行等）",
}
CustomerClass = Literal["resident", "enterprise", "lessee", "supplier", "dealer", "special"]

# The fields a correction (§2 A1) may change; the archive number and the version never change.
EDITABLE_FIELDS: tuple[str, ...] = (
    "name", "customer_class", "invoicing_name", "contact_name", "phone", "email", "id_card",
    "legal_representative", "address", "registration", "salesperson",
)
FIELD_LABELS: dict[str, str] = {
    "archive_no": "档案编号", "name": "客户名称", "customer_class": "客户类别", "invoicing_name": "开票资料名称",
    "contact_name": "联系人", "phone": "联系电话", "email": "电子邮箱", "id_card": "身份证号码",
    "legal_representative": "法定代表人", "address": "地址", "registration": "注册资料",
    "salesperson": "业务员",
}
SENSITIVE_FIELDS = ("phone", "id_card")

ARCHIVE_NO = re.compile(r"^[A-Z]{2}-\d{4}-\d{6}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_card_valid(value: str) -> bool:
    """GB 11643: 17 digits, a valid birth date and the check character."""
    v = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return False
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == v[17]


def normalise_phone(value: str) -> str:
    v = re.sub(r"[\s()]", "", value or "")
    if v.startswith("+86"):
        v = v[3:]
    return v


def phone_valid(value: str) -> bool:
    v = normalise_phone(value)
    return bool(_MOBILE.fullmatch(v) or _LANDLINE.fullmatch(v))


class CustomerIn(Guarded):
    """One customer as imported or created (a CSV row, or the back office archiving a certification)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    archive_no: str | None = Field(None, description="档案编号；留空则自动编号 / archive number")
    name: str = Field(min_length=1, max_length=200, description="客户名称 / customer name")
    customer_class: CustomerClass = Field(description="客户类别 / class")
    invoicing_name: str = Field("", max_length=200, description="开票资料名称 / invoicing name")
    contact_name: str = Field("", max_length=100)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=200)
    id_card: str = Field("", max_length=18)
    legal_representative: str = Field("", max_length=100)
    address: str = Field("", max_length=300)
    registration: dict[str, Any] = Field(default_factory=dict)
    salesperson: str = Field("", max_length=200)

    @field_validator("archive_no")
    @classmethod
    def _archive_no(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not ARCHIVE_NO.fullmatch(v):
            raise ValueError("档案编号格式应为 DA-2026-000001 / archive number must look like DA-2026-000001")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if v and not phone_valid(v):
            raise ValueError("电话号码无效 / invalid phone number")
        return normalise_phone(v)

    @field_validator("id_card")
    @classmethod
    def _id_card(cls, v: str) -> str:
        if v and not id_card_valid(v):
            raise ValueError("身份证号码无效（校验位不符） / invalid ID-card number (check digit)")
        return v.upper()

    @field_validator("email", "salesperson")
    @classmethod
    def _email(cls, v: str) -> str:
        if v and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError("邮箱格式无效 / invalid email address")
        return v.lower()

    @model_validator(mode="after")
    def _defaults(self) -> "CustomerIn":
        if not self.invoicing_name:
            self.invoicing_name = self.name
        return self


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """A correction's field changes, validated like a new record's fields. Raises ValueError
    naming the field (Chinese / English)."""
    if not changes:
        raise ValueError("没有要更正的字段 / no field changes")
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValueError(f"不可更正的字段 / fields that cannot be corrected: {', '.join(unknown)}")
    probe = {"name": "x", "customer_class": "resident", **changes}
    checked = CustomerIn.model_validate(probe).model_dump()
    return {k: checked[k] for k in changes}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose value changes."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def masked_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record as any listing, page or email shows it: ID-card and phone numbers masked."""
    out = dict(record)
    if out.get("phone"):
        out["phone"] = mask_phone(out["phone"])
    if out.get("id_card"):
        out["id_card"] = mask_id_card(out["id_card"])
    return out


def masked_changes(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    out = {}
    for field, pair in changes.items():
        if field == "phone":
            pair = [mask_phone(v) for v in pair]
        elif field == "id_card":
            pair = [mask_id_card(v) for v in pair]
        out[field] = pair
    return out


def may_read_full(role: str) -> bool:
    return role in FULL_READ_ROLES


# ---- transactions (N1, N2) ----------------------------------------------------------------
TransactionKind = Literal["sale", "sample", "return"]
TRANSACTION_KIND_ZH = {"销售": "sale", "样品": "sample", "退货": "return"}


class TransactionIn(BaseModel):
    """One transaction row (a CSV line of `kefu import transactions`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(min_length=1, max_length=64, description="单据号 / document number")
    customer: str = Field(min_length=1, max_length=200, description="客户名称 / customer")
    invoicing_name: str = Field("", max_length=200, description="开票资料名称 / invoicing name")
    on: date = Field(description="日期 / date (YYYY-MM-DD)")
    amount: Decimal = Field(max_digits=14, decimal_places=2, description="金额（元） / amount in yuan")
    kind: TransactionKind = Field(description="类型 sale 销售 / sample 样品 / return 退货")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_in_chinese(cls, v: object) -> object:
        return TRANSACTION_KIND_ZH.get(v.strip(), v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _defaults(self) -> "TransactionIn":
        if not self.invoicing_name:
            self.invoicing_name = self.customer
        return self
