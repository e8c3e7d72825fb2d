"""Decision points of models/rules.py that the mutation run (make mutants) found untested:
recusal is case-blind and climbs past every excluded superior; a step with nobody eligible names
its role; a deadline takes exactly one of business days / hours."""

from datetime import datetime
from pathlib import Path

import pytest

from models.business_days import TZ, BusinessCalendar
from models.org import load_org
from models.rules import NoEligiblePerson, pick_assignee, task_deadline

ORG = load_org(Path(__file__).resolve().parents[2] / "deployments" / "org.yaml")
CAL = BusinessCalendar()


def test_exclusion_ignores_the_case_of_an_email():
    first, second = ORG.roles["l1_handler"][:2]
    assert pick_assignee(ORG, "l1_handler", {first.upper()}).email == second


def test_preferred_person_matches_whatever_the_case():
    second = ORG.roles["l1_handler"][1]
    assert pick_assignee(ORG, "l1_handler", preferred=second.upper()).email == second


def test_recusal_climbs_past_an_excluded_superior_to_the_next_one():
    # the deputy sales manager's superior is the sales manager, whose superior is the sales director
    deputy = ORG.first_for_role("deputy_sales_manager").email
    boss = ORG.superior_of(deputy)
    above = ORG.superior_of(boss.email)
    assert pick_assignee(ORG, "deputy_sales_manager", {deputy, boss.email}).email == above.email
    assert pick_assignee(ORG, "deputy_sales_manager", {deputy, boss.email.upper()}).email == above.email


def test_nobody_eligible_names_the_role():
    gm = ORG.first_for_role("general_manager").email
    with pytest.raises(NoEligiblePerson) as e:
        pick_assignee(ORG, "general_manager", {gm})
    assert e.value.args == ("general_manager",)


def test_task_deadline_takes_exactly_one_of_days_or_hours():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    for kwargs in ({}, {"business_days": 1, "hours": 24}):
        with pytest.raises(ValueError, match="^give exactly one of business_days / hours$"):
            task_deadline(now, CAL, **kwargs)


def test_task_deadline_reminder_is_halfway_in_hours_too():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    d = task_deadline(now, CAL, hours=48)
    assert d.due_at == datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    assert d.remind_at == datetime(2026, 11, 25, 9, 0, tzinfo=TZ)


def test_c6_the_department_named_by_name_or_code_with_a_head_and_nothing_for_a_blank_or_headless_name():
    from models.rules import responsible_department

    assert responsible_department(ORG, "质量部").code == "quality"
    assert responsible_department(ORG, " quality ").name == "质量部"
    assert responsible_department(ORG, "总经办") is None  # no head: nobody could write the plan
    for blank in ("", "  ", None):
        assert responsible_department(ORG, blank) is None


def test_c6_the_head_writes_the_plan_a_recused_head_hands_it_up_and_nobody_left_names_the_department():
    from models.rules import plan_writer

    quality = next(d for d in ORG.departments if d.code == "quality")
    head = ORG.person(quality.head)
    assert plan_writer(ORG, quality).email == head.email
    above = ORG.superior_of(head.email)
    assert plan_writer(ORG, quality, {head.email.upper()}).email == above.email
    chain, p = [], head
    while p is not None:
        chain.append(p.email)
        p = ORG.superior_of(p.email)
    with pytest.raises(NoEligiblePerson) as e:
        plan_writer(ORG, quality, set(chain))
    assert e.value.args == ("department_head:quality",)
