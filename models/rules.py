"""Shared decision rules: who must answer a human step, and when it is due. Pure functions;
`now` is always an argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.business_days import BusinessCalendar, add_business_days, deadline_after_hours
from models.org import OrgDirectory, Person


class NoEligiblePerson(LookupError):
    """Every holder of the role (and their superiors) is recused from this case."""


def pick_assignee(org: OrgDirectory, role: str, exclude: set[str] | frozenset[str] = frozenset(),
                  preferred: str | None = None) -> Person:
    """The person who answers a step for `role`.

    A person never decides on their own request and the person complained about is recused:
    anyone in `exclude` (emails, lower-case) is skipped. If every holder of the role is excluded,
    the step goes up to the nearest superior who is not excluded."""
    excluded = {e.lower() for e in exclude}
    holders = org.people_for_role(role)
    if preferred:
        for p in holders:
            if p.email.lower() == preferred.lower() and p.email.lower() not in excluded:
                return p
    for p in holders:
        if p.email.lower() not in excluded:
            return p
    for p in holders:
        boss = org.superior_of(p.email)
        while boss is not None:
            if boss.email.lower() not in excluded:
                return boss
            boss = org.superior_of(boss.email)
    raise NoEligiblePerson(role)


@dataclass(frozen=True)
class TaskDeadline:
    remind_at: datetime
    due_at: datetime


def task_deadline(now: datetime, calendar: BusinessCalendar, *, business_days: int | None = None,
                  hours: float | None = None) -> TaskDeadline:
    """Due after N business days (or N hours); the reminder (催办) goes out halfway there."""
    if (business_days is None) == (hours is None):
        raise ValueError("give exactly one of business_days / hours")
    if business_days is not None:
        due = add_business_days(now, business_days, calendar)
    else:
        due = deadline_after_hours(now, hours)  # type: ignore[arg-type]
    return TaskDeadline(remind_at=now + (due - now) / 2, due_at=due)
