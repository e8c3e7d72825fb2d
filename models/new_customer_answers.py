"""New-customer certification's answers (§3)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from models.answers import CHOICE_LABELS, Answer, register_answer

# ---- new-customer certification (§3) -----------------------------------------------------------
CHOICE_LABELS.update({"certify": "认定（签字）", "refuse": "不予认定"})


@register_answer
class Certification(Answer):
    """新客户认定（N4）：认定或不予认定；业务部经理的意见即批示 / certify or refuse (the comment is the
    manager's instruction)."""

    decision: Literal["certify", "refuse"] = Field(description="certify 认定 / refuse 不予认定")
