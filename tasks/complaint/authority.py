"""Decisions by approval authority (核决权限, R2) outside §4's own forms: a complaint's handling decision.

000 «13» 第九条五: the GM office's consolidated opinion goes "依据核决权限" to the business-department
manager, the deputy GM or the GM for the decision (核决), and 第九条十 forbids answering the customer
beyond that authority. The complaint flow calls `decide_outcome_by_authority` once, right after the
handler records the outcome and before anything of it is recorded or carried out."""

from __future__ import annotations

from decimal import Decimal
from itertools import count
from typing import Any

from models.answers import Decision
from models.complaint.answers import ComplaintOutcome
from models.returns import approvers_for
from tasks.ask import Asking
from tasks.platform.runtime import services
from tasks.returns.authority import authority

# the handlings that carry an amount the company pays or forgoes (折让/赔款, 退货/重处理)
AMOUNT_HANDLINGS = frozenset({"allowance", "return"})


def authority_roles(handling: str, amount: Decimal | str | None) -> list[str]:
    """The roles that must decide an outcome, in order: the authority band of its amount (R2) for an
    allowance/compensation or a return/re-processing with an amount; nobody for the others."""
    amount = Decimal(str(amount or "0"))
    if handling not in AMOUNT_HANDLINGS or amount <= 0:
        return []
    return approvers_for(amount, authority(services()))


def decide_outcome_by_authority(ask: Asking, outcome: ComplaintOutcome, handler_role: str, handler: str,
                                summary: dict[str, Any]) -> ComplaintOutcome:
    """000 «13» 第九条五 (R2): an outcome with an amount is decided (核决) by every approver of its
    amount's band, in order, before it is recorded; a rejection goes back to the handler with the
    comment for a revised outcome (`outcome-2`, …), which is decided again. Returns the approved
    outcome (one without an amount — e.g. revised to a repair — needs no approver). The loop ends
    only with an approval: a rejected outcome is never recorded."""
    for round_no in count(1):
        suffix = "" if round_no == 1 else f"-{round_no}"
        roles = authority_roles(outcome.handling, outcome.loss_amount)
        rejection = None
        for role in roles:
            d = ask(Decision, step=f"authority-{role.replace('_', '-')}{suffix}", title="处理结果核决（依核决权限）", role=role,
                    summary={**summary, "处理方式": outcome.handling, "客诉损失金额（元）": str(outcome.loss_amount),
                             "核决人": " → ".join(roles)})
            if d.decision == "reject":
                rejection = d
                break
        if rejection is None:
            return outcome
        outcome = ask(ComplaintOutcome, step=f"outcome-{round_no + 1}", title="按核决意见修改处理结果", role=handler_role,
                      assignee=handler, defaults=outcome.model_dump(mode="json", exclude={"decided_by", "comment", "decision"}),
                      summary={**summary, "核决意见": rejection.comment or "（未填写）"})
    raise AssertionError("unreachable")
