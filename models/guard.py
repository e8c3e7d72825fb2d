"""Input hygiene shared by every request body and every answer (issue 24, items 6 and 10).

- One-line text (names, customer, product, phone, titles…: every `str` field not named as
  multi-line) refuses control characters — CR, LF, TAB, NUL, the other C0 and C1 characters, DEL
  and the Unicode line/paragraph separators — so no such text can break a mail header or a slip.
- Multi-line text (descriptions, reasons, comments: the model's `multiline` names) keeps line
  breaks (CRLF and a lone CR, as browsers send a textarea, become LF) and tabs, and refuses every
  other control character.
- A number is never a boolean: `true` is not 1 (JSON and Python input; a form's "1" stays a number).

A model opts in by inheriting `Guarded` (plain pydantic models), or by adding `guard_validators()`
to its class body (models with another base, such as Prefect's `RunInput`). Strings inside lists
and dicts (keys too) are checked like the field that holds them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, ClassVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

ONE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # \t and \n pass
NUMBERS = (int, float, Decimal)


def _control_error(multiline: bool) -> PydanticCustomError:
    if multiline:
        return PydanticCustomError(
            "multiline_control_char",
            "must not contain control characters other than line breaks and tabs")
    return PydanticCustomError(
        "control_char", "must be one line: no control characters (line breaks, tabs, NUL…)")


def clean_text(value: Any, multiline: bool) -> Any:
    """The value with every string in it checked (and, multi-line, CR/CRLF made LF). Raises
    PydanticCustomError on a forbidden character."""
    if isinstance(value, str):
        if multiline:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
            if MULTI_LINE_FORBIDDEN.search(value):
                raise _control_error(True)
        elif ONE_LINE_FORBIDDEN.search(value):
            raise _control_error(False)
        return value
    if isinstance(value, list):
        return [clean_text(v, multiline) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_text(v, multiline) for v in value)
    if isinstance(value, dict):
        return {clean_text(k, False): clean_text(v, multiline) for k, v in value.items()}
    return value  # numbers, dates, nested models (guarded by their own class)


def _numeric(annotation: Any) -> bool:
    if annotation in NUMBERS:
        return True
    if get_origin(annotation) is Union or type(annotation).__name__ == "UnionType":
        args = [a for a in get_args(annotation) if a is not type(None)]
        return bool(args) and all(_numeric(a) for a in args)
    if getattr(annotation, "__metadata__", None) is not None:  # Annotated[int, …]
        return _numeric(get_args(annotation)[0])
    return False


def _no_bool_numbers(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, bool) and info.field_name in cls.model_fields \
            and _numeric(cls.model_fields[info.field_name].annotation):
        raise PydanticCustomError("number_not_bool", "must be a number, not true/false")
    return value


def _text(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    return clean_text(value, info.field_name in getattr(cls, "multiline", frozenset()))


def guard_validators() -> tuple[Any, Any]:
    """The two validators, for a class body: `_numbers, _text = guard_validators()`."""
    return (field_validator("*", mode="before")(classmethod(_no_bool_numbers)),
            field_validator("*", mode="after")(classmethod(_text)))


class Guarded(BaseModel):
    """Base of the request models: see the module docstring. `multiline` names the fields whose
    text may have line breaks."""

    multiline: ClassVar[frozenset[str]] = frozenset()
    _guard_numbers, _guard_text = guard_validators()
