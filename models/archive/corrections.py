"""The archive-correction request (客户信息错误更正, §2 A1–A2) and its pure rules: the remedy plan
(补救处理方案) as drafted by CS staff, the step keys of the nine-step chain, and how a plan reads
(masked) in emails, pages and the 《客户信息更正单》."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from models.archive.records import FIELD_LABELS, masked_changes
from models.guard import Guarded
from models.case_data import CaseData, Part

# A2, in order: (step key, title, role). Revisions go to the author; the chain resumes at the step.
PLAN_REVIEWS: tuple[tuple[str, str, str], ...] = (
    ("cs-manager-review", "客服部经理审核《客户信息更正单》", "cs_manager"),
    ("gm-approval", "总经理审批《客户信息更正单》", "general_manager"),
)
REPORT_REVIEWS: tuple[tuple[str, str, str], ...] = (
    ("cs-manager-report-review", "客服部经理审核更正报告", "cs_manager"),
    ("gm-report-approval", "总经理审批更正报告", "general_manager"),
)
MAX_ROUNDS = 9  # a draft rejected this often at one step goes to a ruling (flows/archive/correction.py)


class DepartmentAction(Guarded):
    """One department named in the plan: what it must do and by when (A2 step 5)."""

    multiline = frozenset({"action"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    department: str = Field(min_length=1, max_length=32, description="部门代码（组织架构）/ department code")
    action: str = Field("", max_length=1000, description="需执行的内容 / what the department must do")
    due_business_days: int = Field(3, ge=1, le=30, description="反馈期限（工作日）/ feedback due in business days")


class CorrectionIn(Guarded):
    """`POST /api/archive-corrections`: the remedy plan (A2 step 1)."""

    multiline = frozenset({"reason"})
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    archive_no: str = Field(min_length=1, max_length=32, description="档案编号 / archive number")
    changes: dict[str, Any] = Field(description="更正字段 {field: new value} / field changes")
    reason: str = Field(min_length=1, max_length=2000, description="错误说明与更正理由 / what is wrong and why")
    drafted_by: str = Field(min_length=3, max_length=200, description="起草人（客服部人员）邮箱 / drafter")
    departments: list[DepartmentAction | str] = Field(
        min_length=1, max_length=20, description="须执行的部门 / departments that must act")

    @field_validator("departments")
    @classmethod
    def _departments(cls, v: list[DepartmentAction | str]) -> list[DepartmentAction]:
        out = [DepartmentAction(department=d) if isinstance(d, str) else d for d in v]
        codes = [d.department for d in out]
        if len(set(codes)) != len(codes):
            raise ValueError("部门重复 / a department is named twice")
        return out


def step_key(base: str, round_no: int) -> str:
    """`cs-manager-review`, then `cs-manager-review-2` after a revision (a task is per case + key)."""
    return base if round_no == 1 else f"{base}-{round_no}"


def department_key(code: str) -> str:
    return "dept-" + code.lower().replace("_", "-")


def parse_revised_changes(text: str) -> dict[str, Any] | None:
    """The reviser's typed field changes (a JSON object), or None to keep the current ones."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError("更正字段须为 JSON 对象 / changes must be a JSON object") from None
    if not isinstance(value, dict):
        raise ValueError("更正字段须为 JSON 对象 / changes must be a JSON object")
    return value


def change_lines(before: dict[str, Any], changes: dict[str, Any]) -> list[str]:
    """`联系电话：138****5678 → 139****0000`, one line per field, personal data masked."""
    pairs = masked_changes({k: [before.get(k) or "", v] for k, v in changes.items()})
    out = []
    for k, (old, new) in pairs.items():
        if isinstance(old, dict) or isinstance(new, dict):
            old, new = json.dumps(old, ensure_ascii=False), json.dumps(new, ensure_ascii=False)
        out.append(f"{FIELD_LABELS.get(k, k)}：{old or '（空）'} → {new or '（空）'}")
    return out


class DepartmentTask(Part):
    """One department named in the plan, with its name and head from the org directory (at intake)."""
    department: str
    name: str
    head: str
    action: str = ""
    due_business_days: int = 3


class CorrectionData(CaseData):
    """An archive correction's case data: the remedy plan as filed and who drafted it."""
    archive_no: str
    changes: dict[str, Any]
    reason: str
    drafted_by: str
    departments: list[DepartmentTask]
