"""The watchdog's complaint checks with fakes (in-memory store, fixed clock, recording mailer):
C4/C12 late first contact, C8 reminder / 《催办单》 / 《治办单》, C7 progress contacts, 001's 10-day rule."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from models.business_days import TZ
from models.complaint.handling import ComplaintIn
from models.settings import Settings
from tasks.complaint.intake import file_complaint
from tasks.complaint.watch import complaint_checks, inquiry_if_late
from tasks.platform.clock import FixedClock
from tasks.platform.intake import IntakeError
from tasks.platform.mail import MemoryMailer
from tasks.platform.runtime import build_services
from tests.dbs import fresh_store

RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday


@pytest.fixture
def svc(tmp_path):
    settings = Settings(home=tmp_path, secret_key="x" * 32, env="test",
                        org_file=Path(__file__).resolve().parents[2] / "deployments" / "org.yaml")
    return build_services(settings, store=fresh_store(), mailer=MemoryMailer(),
                          clock=FixedClock(RECEIVED + timedelta(minutes=5)))


def complaint(**over):
    b = {"complainant": {"name": "王芳", "phone": "13812345678"}, "kind": "consumer", "channel": "phone",
         "category": "维修服务", "description": "漏水", "event": {"time": "周一", "place": "园区店"},
         "received_at": RECEIVED.isoformat()}
    b.update(over)
    return ComplaintIn.model_validate(b)


def events(svc, case_no, kind):
    return [e for e in svc.store.events(case_no) if e.kind == kind]


def test_late_first_contact_is_recorded_once(svc):
    case, _ = file_complaint(svc, complaint())
    assert complaint_checks(svc, RECEIVED + timedelta(hours=23))["penalties"] == 0
    assert complaint_checks(svc, RECEIVED + timedelta(days=1, minutes=1))["penalties"] == 1
    assert complaint_checks(svc, RECEIVED + timedelta(days=2))["penalties"] == 0
    (e,) = events(svc, case.case_no, "penalty_recorded")
    assert e.data["amount"] == "30.00" and e.data["handler"] == svc.org.first_for_role("l1_handler").email


def test_contact_in_time_records_nothing(svc):
    case, _ = file_complaint(svc, complaint())
    svc.store.update_case(case.case_no, actor="x", kind="first_contact_recorded", now=RECEIVED,
                          data={"first_contact_at": (RECEIVED + timedelta(hours=3)).isoformat()})
    assert complaint_checks(svc, RECEIVED + timedelta(days=3))["penalties"] == 0


def test_close_deadline_reminder_then_urge_notice_each_once(svc):
    case, _ = file_complaint(svc, complaint())
    close = datetime.fromisoformat(case.data["deadlines"]["close"])
    assert close == RECEIVED + timedelta(days=7)  # ordinary complaint: 7 days
    remind = datetime.fromisoformat(case.data["deadlines"]["remind_before_close"])
    assert complaint_checks(svc, remind - timedelta(minutes=1))["close_reminders"] == 0
    assert complaint_checks(svc, remind + timedelta(minutes=1))["close_reminders"] == 1
    assert complaint_checks(svc, remind + timedelta(minutes=2))["close_reminders"] == 0
    assert complaint_checks(svc, close + timedelta(minutes=1))["urge_notices"] == 1
    assert complaint_checks(svc, close + timedelta(days=1))["urge_notices"] == 0
    assert len(events(svc, case.case_no, "urge_notice")) == 1


def test_product_complaints_close_in_15_or_20_days(svc):
    dom, _ = file_complaint(svc, complaint(category="产品质量"))
    foreign, _ = file_complaint(svc, complaint(category="产品质量", foreign=True,
                                               complainant={"name": "Tom", "phone": "13900000000"}))
    assert dom.data["deadlines"]["close"] == (RECEIVED + timedelta(days=15)).isoformat()
    assert foreign.data["deadlines"]["close"] == (RECEIVED + timedelta(days=20)).isoformat()


def test_case_closed_late_gets_an_inquiry_notice(svc):
    case, _ = file_complaint(svc, complaint())
    late = RECEIVED + timedelta(days=8)
    case = svc.store.update_case(case.case_no, actor="x", kind="complaint_closed", now=late, state="closed",
                                 closed=True)
    assert inquiry_if_late(svc, case) == 1
    assert inquiry_if_late(svc, case) == 0
    assert len(events(svc, case.case_no, "inquiry_notice")) == 1


def test_progress_contact_reminder_for_long_cases(svc):
    case, _ = file_complaint(svc, complaint())
    svc.store.update_case(case.case_no, actor="x", kind="first_contact_recorded", now=RECEIVED,
                          data={"first_contact_at": RECEIVED.isoformat()})
    # level 1: weekly (5 business days)
    assert complaint_checks(svc, RECEIVED + timedelta(days=4))["progress_reminders"] == 0
    assert complaint_checks(svc, RECEIVED + timedelta(days=7, hours=1))["progress_reminders"] == 1
    assert complaint_checks(svc, RECEIVED + timedelta(days=7, hours=2))["progress_reminders"] == 0
    (task,) = [t for t in svc.store.tasks_of(case.case_no) if t.step_key.startswith("progress-")]
    assert task.assignee == svc.org.first_for_role("l1_handler").email and task.answer_model == "ProgressContact"
    # the handler records the contact: the next one is due a week after it
    contacted = RECEIVED + timedelta(days=7, hours=3)
    svc.store.decide(task.id, decision="contacted", comment="", answer={"contact_note": "已告知进度"},
                     by=task.assignee, via="email", now=contacted)
    assert complaint_checks(svc, RECEIVED + timedelta(days=10))["progress_reminders"] == 0
    assert complaint_checks(svc, contacted + timedelta(days=7, hours=1))["progress_reminders"] == 1


def test_not_resolved_in_10_days_becomes_major(svc):
    case, _ = file_complaint(svc, complaint())
    assert case.level == 1
    complaint_checks(svc, RECEIVED + timedelta(days=10, hours=1))
    assert svc.store.get_case(case.case_no).level == 2
    assert len(events(svc, case.case_no, "level_raised")) == 1


def test_same_customer_same_event_is_at_least_level_2(svc):
    first, _ = file_complaint(svc, complaint())
    second, _ = file_complaint(svc, complaint())
    assert first.level == 1 and second.level == 2 and second.data["repeat_of"] == first.case_no


def test_blank_event_time_and_place_never_make_a_repeat(svc):
    # C3: a repeat is the same customer and the same event: blank time and place name no event
    first, _ = file_complaint(svc, complaint(event={"time": "", "place": ""}))
    second, _ = file_complaint(svc, complaint(event={"time": " ", "place": ""}, description="另一件事"))
    assert second.level == 1 and second.data["repeat_of"] is None
    # ... but a blank time with the same place is still the same event
    third, _ = file_complaint(svc, complaint(event={"time": "", "place": "园区店"}))
    fourth, _ = file_complaint(svc, complaint(event={"time": "", "place": "园区店"}))
    assert fourth.level == 2 and fourth.data["repeat_of"] == third.case_no


def test_hotline_12315_is_level_3_and_deadlines_are_iso_shanghai(svc):
    case, _ = file_complaint(svc, complaint(hotline_12315=True))
    assert case.level == 3
    assert all(v.endswith("+08:00") for v in case.data["deadlines"].values())


def test_receiver_must_be_an_l1_handler_and_nothing_is_stored(svc):
    with pytest.raises(IntakeError) as e:
        file_complaint(svc, complaint(received_by=svc.org.first_for_role("general_manager").email))
    assert e.value.field == "received_by"
    assert svc.store.list_cases()[0] == 0
