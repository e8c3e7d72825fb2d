"""The watchdog with fakes: in-memory store, recording mailer, fixed clock — no Prefect."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from models.business_days import TZ
from models.settings import Settings
from models.tables import HumanTask
from tests.dbs import fresh_store
from tasks.platform.clock import FixedClock
from tasks.human import render_request_mail
from tasks.platform.mail import MemoryMailer
from tasks.platform.runtime import build_services
from tasks.platform.watchdog import sla_check

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)


@pytest.fixture
def svc(tmp_path):
    settings = Settings(home=tmp_path, secret_key="x" * 32, env="test",
                        org_file=Path(__file__).resolve().parents[2] / "deployments" / "org.yaml")
    return build_services(settings, store=fresh_store(), mailer=MemoryMailer(), clock=FixedClock(NOW))


def open_task(svc, assignee="jiang.hua@huajin.example"):
    case, _ = svc.store.create_case(procedure="sample_request", prefix="YP", year=2026, state="pending",
                                    title="t", data={}, now=NOW, requested_by="yang.mei@huajin.example")
    row = HumanTask(case_no=case.case_no, step_key="leader-approval", title="部门负责人审批",
                    role="marketing_leader", assignee=assignee, requested_by="yang.mei@huajin.example",
                    choices=["approve", "reject"], summary={"客户电话": "13812345678"}, created_at=NOW,
                    remind_at=NOW + timedelta(hours=12), due_at=NOW + timedelta(days=1))
    task, _ = svc.store.ensure_task(row, lambda t: [render_request_mail(svc, t, t.assignee, NOW)], NOW)
    return task


def test_reminder_once_then_escalation_to_the_superior(svc):
    task = open_task(svc)
    assert sla_check(svc, NOW, resume=False)["mail_sent"] == 1  # the request itself
    assert sla_check(svc, NOW + timedelta(hours=11), resume=False)["reminded"] == 0
    assert sla_check(svc, NOW + timedelta(hours=13), resume=False)["reminded"] == 1
    assert sla_check(svc, NOW + timedelta(hours=14), resume=False)["reminded"] == 0
    counts = sla_check(svc, NOW + timedelta(days=1, minutes=1), resume=False)
    assert counts["escalated"] == 1 and counts["mail_sent"] == 1
    assert sla_check(svc, NOW + timedelta(days=2), resume=False)["escalated"] == 0
    subjects = [(m.to[0], m.subject.split("】")[0] + "】") for m in svc.mailer.sent]
    assert subjects == [("jiang.hua@huajin.example", "【待办】"), ("jiang.hua@huajin.example", "【催办】"),
                        ("liu.yang@huajin.example", "【逾期上报】")]
    assert svc.store.get_task(task.id).escalated_to == "liu.yang@huajin.example"


def test_mails_mask_phone_numbers(svc):
    open_task(svc)
    sla_check(svc, NOW, resume=False)
    m = svc.mailer.sent[0]
    assert "13812345678" not in m.text + m.html and "138****5678" in m.text


def test_mail_outage_keeps_messages_until_smtp_is_back(svc):
    open_task(svc)
    svc.mailer.fail_next = 1
    assert sla_check(svc, NOW, resume=False)["mail_failed"] == 1
    assert sla_check(svc, NOW, resume=False)["mail_sent"] == 1
    assert sla_check(svc, NOW, resume=False)["mail_sent"] == 0
    assert len(svc.mailer.sent) == 1


# a case filed while Prefect was down: tests/unit/test_flow_starts.py (the watchdog delivers its start)
