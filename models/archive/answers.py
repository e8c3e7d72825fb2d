"""The customer archive's answers (§2 A2's corrections, §7.2 A5's periodic clean-up)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from models.answers import CHOICE_LABELS, FIELD_LABELS, Answer, register_answer
from models.archive.corrections import parse_revised_changes
from models.archive.records import validate_changes

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


# ---- customer archive, periodic (§7.2 A5) --------------------------------------------------------
@register_answer
class ArchiveCleanupProposals(Answer):
    """定期清理处理建议（A5）/ the archive clerk's proposal per listed record."""

    multiline: ClassVar[frozenset[str]] = Answer.multiline | {"proposals", "paper_files"}
    decision: Literal["submitted"] = Field("submitted", description="submitted 提交")
    proposals: str = Field("{}", max_length=20000, description='处理建议 JSON，例如 {"DA-2026-000001": "deactivate", '
                           '"DA-2026-000002": "merge:DA-2026-000003", "DA-2026-000004": "correct"}；未列出的保留（keep）')
    paper_files: str = Field("", max_length=4000, description="纸质档案存放位置与状态（散放/装订/归档）")
