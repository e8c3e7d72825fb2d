"""Typed answers of human steps (Prefect `RunInput` models).

Every answer has `decision` (the choice clicked in the email), `comment`, and `decided_by` (filled
in only when someone answers in the Prefect UI's resume form). Typed steps add their own fields;
the decision page renders them from the model, and the Prefect UI renders the same model."""

from __future__ import annotations

from typing import Literal, get_args

from prefect.input import RunInput
from pydantic import Field

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
    "taker": "领取人（签名）",
    "quantity": "实发数量",
}


class Decision(RunInput):
    """审批：批准或驳回 / approve or reject."""

    decision: Literal["approve", "reject"] = Field(description="approve 批准 / reject 驳回")
    comment: str = Field("", max_length=2000, description="意见 / comment")
    decided_by: str = Field(
        "", max_length=200, description="在 Prefect 界面处理时填写您的邮箱 / your email (Prefect UI only)"
    )


class SampleIssue(RunInput):
    """样品发放登记 / the sample handed out (P3)."""

    decision: Literal["issued"] = Field("issued", description="issued 已发放")
    taker: str = Field(min_length=1, max_length=50, description="领取人姓名 / taker's name")
    quantity: int = Field(gt=0, le=100000, description="实发数量 / quantity given")
    comment: str = Field("", max_length=2000, description="备注 / comment")
    decided_by: str = Field(
        "", max_length=200, description="在 Prefect 界面处理时填写您的邮箱 / your email (Prefect UI only)"
    )


ANSWER_MODELS: dict[str, type[RunInput]] = {
    "Decision": Decision,
    "SampleIssue": SampleIssue,
}


def register_answer(model: type[RunInput]) -> type[RunInput]:
    """Class decorator for answer models defined beside other procedures."""
    ANSWER_MODELS[model.__name__] = model
    return model


def choices_of(model: type[RunInput]) -> list[str]:
    return list(get_args(model.model_fields["decision"].annotation))


def extra_fields(model: type[RunInput]) -> list[str]:
    """The typed fields a decision page must ask for, beyond decision / comment / decided_by."""
    return [n for n in model.model_fields if n not in {"decision", "comment", "decided_by"}]
