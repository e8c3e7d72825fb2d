"""Shared decision rules: who must answer a human step, and when it is due. Pure functions;
`now` is always an argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.business_days import BusinessCalendar, add_business_days, deadline_after_hours
from models.org import Department, OrgDirectory, Person


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


def responsible_department(org: OrgDirectory, name: str) -> Department | None:
    """C6 被投诉部门: the org directory's department named (by name or code), if it has a head."""
    key = (name or "").strip()
    for d in org.departments:
        if d.head and key and key in (d.name, d.code):
            return d
    return None


def plan_writer(org: OrgDirectory, department: Department, exclude: set[str] | frozenset[str] = frozenset()) -> Person:
    """C6 (000 «10»: 被投诉部门主任（或职责人）需在1天内明确职责、整理方案): the department head writes the plan;
    a head complained about is recused and the plan goes up to the nearest superior who is not."""
    excluded = {e.lower() for e in exclude}
    p: Person | None = org.person(department.head)
    while p is not None:
        if p.email.lower() not in excluded:
            return p
        p = org.superior_of(p.email)
    raise NoEligiblePerson(f"department_head:{department.code}")


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
