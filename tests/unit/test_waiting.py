"""What the Prefect UI shows of a waiting run, and which steps a resumed run skips: pure, no Prefect."""

from datetime import datetime, timedelta
from pathlib import Path

from models.business_days import TZ
from models.org import load_org
from models.privacy import mask_email
from models.tables import HumanTask
from tasks.human import acted_on_earlier
from tests.dbs import fresh_store
from tasks.platform.waiting import artifact_key, waiting_view

ORG = load_org(Path(__file__).resolve().parents[2] / "deployments" / "org.yaml")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
LEADER = ORG.first_for_role("marketing_leader")


def task(**kw):
    base = dict(case_no="YP-2026-000007", step_key="leader-approval", title="部门负责人审批《取样出门审批单》",
                role="marketing_leader", assignee=LEADER.email, choices=["approve", "reject"], summary={},
                created_at=NOW, remind_at=NOW + timedelta(hours=4), due_at=NOW + timedelta(hours=8),
                state="open")
    return HumanTask(**{**base, **kw})


def test_a_waiting_run_names_the_step_the_person_and_the_due_time():
    view = waiting_view(ORG, task(), NOW)
    assert view["waiting"] is True
    assert view["line"] == (f"等待 {LEADER.name}（营销部负责人） 处理「部门负责人审批《取样出门审批单》」"
                            "（leader-approval），截止 2026-11-24 18:00")
    md = view["markdown"]
    assert md.startswith("# 等待处理 · YP-2026-000007")
    assert LEADER.name in md and "2026-11-24 18:00" in md and "2026-11-24 14:00" in md


def test_an_escalated_task_names_the_superior_too():
    boss = ORG.superior_of(LEADER.email)
    view = waiting_view(ORG, task(state="escalated", escalated_to=boss.email), NOW)
    assert view["line"].endswith(f"；已上报 {boss.name}")
    assert "已上报" in view["markdown"] and boss.name in view["markdown"]


def test_a_customer_is_masked():
    view = waiting_view(ORG, task(assignee="wang.fang@example.com", role="l1_handler"), NOW)
    assert "等待 客户 w***@example.com 处理" in view["line"]
    assert "wang.fang" not in view["markdown"] + view["line"]
    assert mask_email("a@b.cn") == "a***@b.cn" and mask_email("nonsense") == "********"


def test_an_answered_task_says_who_decided():
    view = waiting_view(ORG, task(state="decided", decision="approve", decided_by=LEADER.email,
                                  decided_at=NOW), NOW)
    assert view["waiting"] is False and view["line"] == f"「部门负责人审批《取样出门审批单》」已由 {LEADER.name} 处理：批准"
    assert view["markdown"].startswith("# 当前无待办") and "批准" in view["markdown"]
    assert artifact_key("YP-2026-000007") == "waiting-yp-2026-000007"


def test_a_resumed_run_skips_only_steps_of_earlier_cycles():
    store = fresh_store()
    case, _ = store.create_case(procedure="sample_request", prefix="YP", year=2026, state="pending",
                                title="t", data={}, now=NOW, requested_by="yang.mei@huajin.example")
    first, _ = store.ensure_task(task(case_no=case.case_no, flow_run_id="run-1"), lambda t: [], NOW)
    assert not acted_on_earlier(store, first) and not acted_on_earlier(store, None)
    store.decide(first.id, decision="approve", comment="", answer={}, by=LEADER.email, via="email", now=NOW)
    store.mark_resumed(first.id, NOW)
    # just answered and resumed: the run must still record it (and show who answered)
    assert not acted_on_earlier(store, store.get_task(first.id))
    # a task of another run (the watchdog's, a linked case's) does not count
    store.ensure_task(task(case_no=case.case_no, step_key="progress-1", flow_run_id=None), lambda t: [], NOW)
    assert not acted_on_earlier(store, store.get_task(first.id))
    store.ensure_task(task(case_no=case.case_no, step_key="gm-approval", flow_run_id="run-1"), lambda t: [], NOW)
    assert acted_on_earlier(store, store.get_task(first.id))
