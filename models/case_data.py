"""Typed case data: what a procedure's flow reads of `case["data"]`, one model per procedure, read
once at the top of the flow (`ComplaintData.of(case)`) instead of digging through nested dicts.

The stored data is the procedure's own record, filed by its intake and grown by its steps (a step
records what it decided): a model names what the flow reads and its type; what it does not name is
kept (`extra="allow"`), so a model never loses or refuses a field a later step added. These models
read stored data — they are not the intake's input models, whose validation is for new input."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class CaseData(BaseModel):
    """Base of every procedure's case data."""

    model_config = ConfigDict(extra="allow", frozen=True)

    @classmethod
    def of(cls, case: dict[str, Any]) -> Self:
        """The data of `case` as `load_case` returns it (tasks/cases.py)."""
        return cls.model_validate(case["data"])


class Part(BaseModel):
    """A nested part of case data (a form, a person, a quantity)."""

    model_config = ConfigDict(extra="allow", frozen=True)
