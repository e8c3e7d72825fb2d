"""Complaints in legal process (procedures §7.1 C27; 004 第二章5(4)): pure rules, no database.

A case is flagged `in_legal_process` when a lawsuit or arbitration is filed or threatened in writing, or
a court/arbitration document arrives. Any handler sets the flag; only the legal counsel clears it. Each
change in the proceedings, recorded on the case, goes at once to the GM, the chairman and both L3
directors; C8's reminders also go to the legal counsel while the flag is set."""

from __future__ import annotations

from collections.abc import Iterable

# who may set the flag: anyone handling complaints at any level, and the legal counsel
SETTER_ROLES = frozenset({"l1_handler", "l2_handler", "l3_sales_director", "l3_admin_director", "legal_counsel"})
CLEARER_ROLE = "legal_counsel"
# who is told at once of the flag and of each change in the proceedings
TOLD_ROLES = ("general_manager", "chairman", "l3_sales_director", "l3_admin_director", "legal_counsel")


def flag_refusal(roles: Iterable[str], *, on: bool, is_case_handler: bool = False) -> tuple[str, str] | None:
    """Why a person with `roles` may not set (`on`) or clear the flag — (Chinese, English) — or None.
    The case's own handler may always set it; clearing is the legal counsel's alone."""
    held = set(roles)
    if not on:
        if CLEARER_ROLE in held:
            return None
        return ("只有法律顾问可以解除「涉及司法程序」标记", "only the legal counsel clears the in_legal_process flag")
    if is_case_handler or held & SETTER_ROLES:
        return None
    return ("只有投诉处理人可以标记「涉及司法程序」", "only a complaint handler sets the in_legal_process flag")


def update_refusal(roles: Iterable[str], *, flagged: bool, is_case_handler: bool = False) -> tuple[str, str] | None:
    """A change in the proceedings is recorded on a flagged case, by a handler or the legal counsel."""
    if not flagged:
        return ("该投诉未标记「涉及司法程序」", "the case is not flagged in_legal_process")
    return flag_refusal(roles, on=True, is_case_handler=is_case_handler)


__all__ = ["CLEARER_ROLE", "SETTER_ROLES", "TOLD_ROLES", "flag_refusal", "update_refusal"]
