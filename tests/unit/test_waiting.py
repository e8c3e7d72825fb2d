"""What the Prefect UI shows of a waiting run: pure, no Prefect."""

from datetime import datetime, timedelta
from pathlib import Path

from models.business_days import TZ
from models.org import load_org
from models.privacy import mask_email
from models.tables import HumanTask
from tasks.waiting import LABEL_KEYS, artifact_key, waiting_view

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
    labels = view["labels"]
    assert set(labels) == set(LABEL_KEYS)
    assert labels["kefu.waiting.step"] == "leader-approval"
    assert labels["kefu.waiting.for"] == f"{LEADER.name}（营销部负责人）"
    assert labels["kefu.waiting.due"] == "2026-11-24 18:00"
    md = view["markdown"]
    assert md.startswith("# 等待处理 · YP-2026-000007")
    assert LEADER.name in md and "2026-11-24 18:00" in md and "2026-11-24 14:00" in md


def test_an_escalated_task_names_the_superior_too():
    boss = ORG.superior_of(LEADER.email)
    view = waiting_view(ORG, task(state="escalated", escalated_to=boss.email), NOW)
    assert f"已上报 {boss.name}" in view["labels"]["kefu.waiting.for"]
    assert "已上报" in view["markdown"] and boss.name in view["markdown"]


def test_a_customer_is_masked():
    view = waiting_view(ORG, task(assignee="wang.fang@example.com", role="l1_handler"), NOW)
    assert view["labels"]["kefu.waiting.for"] == "客户 w***@example.com"
    assert "wang.fang" not in view["markdown"]
    assert mask_email("a@b.cn") == "a***@b.cn" and mask_email("nonsense") == "********"


def test_an_answered_task_clears_the_labels_and_says_who_decided():
    view = waiting_view(ORG, task(state="decided", decision="approve", decided_by=LEADER.email,
                                  decided_at=NOW), NOW)
    assert view["labels"] == {k: "" for k in LABEL_KEYS}
    assert view["markdown"].startswith("# 当前无待办") and "批准" in view["markdown"]
    assert LEADER.name in view["markdown"]
    assert artifact_key("YP-2026-000007") == "waiting-yp-2026-000007"
