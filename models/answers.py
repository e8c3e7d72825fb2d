"""Typed answers of human steps (Prefect `RunInput` models).

Every answer has `decision` (the choice clicked in the email), `comment`, `code` and `decided_by`.
Typed steps add their own fields; the decision page renders them from the model, and the Prefect UI
renders the same model.

`code` is the proof a Prefect UI answer carries: the one-time answer code printed in the person's
email (tasks/platform/human_codes.py). It is required in the schema Prefect saves at suspension (so the
resume form and Prefect's API refuse an answer without one); the Python model leaves it empty by
default because an answer through the emailed link is proven by the link and never carries one.
`decided_by` is filled in by the system (the link's person, or the person a code was issued to) and
is not part of the resume form: what a resume says there is not trusted."""

from __future__ import annotations

from typing import ClassVar, Literal, get_args

from prefect.input import RunInput
from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from models.guard import guard_validators

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
    "code": "答案码",
}


class Answer(RunInput):
    """What every answer carries besides its decision and typed fields. Text is one line except the
    fields named in `multiline` (models/guard.py); a number is never true/false."""

    multiline: ClassVar[frozenset[str]] = frozenset({
        "comment", "contact_note", "responsibility", "plan", "result", "feedback", "report", "changes", "reason", "note", "instruction",
        "reply_text", "lessons", "improvement"})
    _guard_numbers, _guard_text = guard_validators()

    model_config = ConfigDict(json_schema_extra=lambda schema, cls: _require_code(schema))

    comment: str = Field("", max_length=2000, description="意见 / 备注 comment")
    code: str = Field(
        "", max_length=20,
        description="答案码：您邮件中打印的 8 位一次性码（仅限本人、本事项、一次）/ "
                    "answer code: the 8-character one-time code printed in your email (yours, this task, once)")
    # set by the system, never taken from a resume form (not in the schema Prefect shows)
    decided_by: SkipJsonSchema[str] = Field("", max_length=200)


def _require_code(schema: dict) -> None:
    """The schema Prefect saves at suspension (its resume form, its API's check of `run_input`)
    requires the answer code; an answer through the link (the Python model) does not carry one."""
    props = schema.get("properties", {})
    if "code" in props:
        props["code"].pop("default", None)
        props["code"]["minLength"] = 1
        required = schema.setdefault("required", [])
        if "code" not in required:
            required.append("code")


class Decision(Answer):
    """审批：批准或驳回 / approve or reject."""

    decision: Literal["approve", "reject"] = Field(description="approve 批准 / reject 驳回")


ANSWER_MODELS: dict[str, type[RunInput]] = {"Decision": Decision}


def register_answer(model: type[RunInput]) -> type[RunInput]:
    """Class decorator: every procedure's answer model registers itself under its class name, the name
    the database stores (`HumanTask.answer_model`) and the decision page and the resume look up."""
    ANSWER_MODELS[model.__name__] = model
    return model


def choices_of(model: type[RunInput]) -> list[str]:
    return list(get_args(model.model_fields["decision"].annotation))


def extra_fields(model: type[RunInput]) -> list[str]:
    """The typed fields a decision page must ask for, beyond decision / comment / code / decided_by."""
    return [n for n in model.model_fields if n not in {"decision", "comment", "code", "decided_by"}]


@register_answer
class Done(Answer):
    """确认完成 / confirm done (e.g. archived)."""

    decision: Literal["done"] = Field("done", description="done 已完成")
