"""Shared rules: who answers a step (no self-approval, recusal, escalation upward) and when it is due."""

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from models.business_days import TZ, BusinessCalendar
from models.org import load_org
from models.rules import NoEligiblePerson, pick_assignee, task_deadline
from models.samples import SampleRequestIn, previous_month, sample_weight_kg

ORG = load_org(Path(__file__).resolve().parents[2] / "deployments" / "org.yaml")
CAL = BusinessCalendar()


def test_first_holder_of_the_role_answers():
    assert pick_assignee(ORG, "l1_handler").email == ORG.roles["l1_handler"][0]


def test_a_person_never_decides_on_their_own_request():
    first, second = ORG.roles["l1_handler"][:2]
    assert pick_assignee(ORG, "l1_handler", {first}).email == second


def test_when_every_holder_is_excluded_the_superior_answers():
    leader = ORG.first_for_role("marketing_leader").email
    assert pick_assignee(ORG, "marketing_leader", {leader}).email == ORG.superior_of(leader).email


def test_recusal_climbs_past_excluded_superiors():
    gm = ORG.first_for_role("general_manager").email
    with pytest.raises(NoEligiblePerson):
        pick_assignee(ORG, "general_manager", {gm})


def test_preferred_person_is_used_unless_excluded():
    second = ORG.roles["l1_handler"][1]
    assert pick_assignee(ORG, "l1_handler", preferred=second).email == second
    assert pick_assignee(ORG, "l1_handler", {second}, preferred=second).email == ORG.roles["l1_handler"][0]


def test_task_deadline_in_business_days_with_reminder_halfway():
    friday = datetime(2026, 11, 20, 16, 0, tzinfo=TZ)
    d = task_deadline(friday, CAL, business_days=1)
    assert d.due_at == datetime(2026, 11, 23, 16, 0, tzinfo=TZ)  # Monday
    assert d.remind_at == friday + (d.due_at - friday) / 2


def test_task_deadline_skips_the_national_day_holiday():
    d = task_deadline(datetime(2026, 9, 30, 10, 0, tzinfo=TZ), CAL, business_days=1)
    assert d.due_at.date() > datetime(2026, 10, 7).date()


def test_task_deadline_in_hours():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=TZ)
    assert task_deadline(now, CAL, hours=24).due_at == now + timedelta(hours=24)
    with pytest.raises(ValueError):
        task_deadline(now, CAL)


def test_sample_weight_by_size_class():
    assert sample_weight_kg("whole", 1) == Decimal("1.900")
    assert sample_weight_kg("half", 2) == Decimal("1.600")
    assert sample_weight_kg("small", 3) == Decimal("0.360")
    with pytest.raises(ValueError):
        sample_weight_kg("half", 0)


def test_previous_month():
    assert previous_month(datetime(2026, 1, 5).date()) == (datetime(2025, 12, 1).date(), datetime(2026, 1, 1).date())


def test_sample_request_must_be_complete():
    with pytest.raises(Exception) as e:
        SampleRequestIn.model_validate({"customer": "c", "product": "p", "spec": " ", "size_class": "half",
                                        "quantity": 1, "reason": "r"})
    assert "spec" in str(e.value)


def test_step_keys_are_valid_prefect_run_input_keys():
    from pydantic import ValidationError as VE

    from tasks.human import StepRequest

    StepRequest(case_no="TS-2026-000001", step_key="solution-quality-lead-1", title="t", role="quality_lead")
    with pytest.raises(VE):
        StepRequest(case_no="TS-2026-000001", step_key="solution-quality_lead-1", title="t", role="quality_lead")
