"""Links (issue 9): forged, expired, replayed, for another person, for one's own request, by the person
complained about (also through an escalation link), and forms without their CSRF field or with another
link's — each refused, and nothing changed: every row of every table (tasks, events, outbox) as before,
and no run resumed. In-process: the real web app and store, the fake flow runs and clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from models.org import load_org
from models.settings import REPO_ROOT
from models.tokens import csrf_for
from tests.fakes import SECRET, fake_services, open_task, snapshot, token_for
from webapp.app import create_app

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
LEADER = ORG.first_for_role("marketing_leader").email
REQUESTER = ORG.first_for_role("marketing").email
RECEIVER = "li.na@huajin.example"  # an L1 handler
BOSS = ORG.superior_of(RECEIVER).email  # the person complained about, in the complaint case below
OUTSIDER = ORG.first_for_role("production").email


@pytest.fixture
def env(tmp_path):
    svc = fake_services(tmp_path)
    client = TestClient(create_app(svc), raise_server_exceptions=False)
    sample = open_task(svc, "YP-2026-000001", "leader-approval", LEADER, requested_by=REQUESTER)
    complaint = open_task(svc, "TS-2026-000001", "intake", RECEIVER, role="l1_handler",
                          answer_model="Decision", recused=[BOSS], escalated_to=BOSS)
    return svc, client, sample, complaint


def post(client, token, csrf="page", **form):
    """Submit the page's form; csrf="page" uses the field the page rendered for this link."""
    if csrf == "page":
        csrf = csrf_for(SECRET, token)
    data = {"choice": "approve", **form} | ({"csrf": csrf} if csrf is not None else {})
    return client.post(f"/t/{token}", data=data)


def unchanged(svc, before, resumed=0):
    assert snapshot(svc) == before
    assert len(svc.flows.resumed) == resumed


def test_forged_link_is_refused(env):
    svc, client, sample, _ = env
    before = snapshot(svc)
    token = token_for(svc, sample, LEADER)
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                   token_for(svc, sample, LEADER).replace(".", ".x", 1), "not-a-token"):
        assert client.get(f"/t/{forged}?choice=approve").status_code == 404
        assert post(client, forged).status_code == 404
    # signed with another key
    from models.tokens import make_token

    other_key = make_token("another-secret-key-0123456789abcd", sample.id, LEADER, svc.clock.now(), 30)
    assert post(client, other_key).status_code == 404
    unchanged(svc, before)


def test_expired_link_is_refused(env):
    svc, client, sample, _ = env
    before = snapshot(svc)
    old = token_for(svc, sample, LEADER, issued=svc.clock.now() - timedelta(days=31))
    assert client.get(f"/t/{old}").status_code == 404
    assert post(client, old).status_code == 404
    unchanged(svc, before)


def test_replayed_answer_shows_who_decided_and_when_and_changes_nothing(env):
    svc, client, sample, _ = env
    token = token_for(svc, sample, LEADER)
    first = post(client, token, comment="同意")
    assert first.status_code == 200 and "已提交" in first.text
    assert svc.flows.resumed == [sample.id]
    decided = snapshot(svc)
    for again in (post(client, token, choice="reject"), client.get(f"/t/{token}?choice=reject")):
        assert again.status_code == 200 and "已处理" in again.text
        assert ORG.person(LEADER).name in again.text and "2026-11-25 10:00" in again.text
    row = svc.store.get_task(sample.id)
    assert row.decision == "approve" and row.comment == "同意"
    unchanged(svc, decided, resumed=1)


@pytest.mark.parametrize("person, message", [
    (OUTSIDER, "不属于"),  # validly signed, but the task is not theirs
    (REQUESTER, "自己提交"),  # one's own request
])
def test_link_for_another_person_or_for_ones_own_request_is_refused(env, person, message):
    svc, client, sample, _ = env
    before = snapshot(svc)
    theirs = token_for(svc, sample, person)
    page = client.get(f"/t/{theirs}")
    assert page.status_code == 403 and message in page.text
    assert post(client, theirs).status_code == 403
    unchanged(svc, before)


def test_person_complained_about_never_decides_even_through_an_escalation_link(env):
    svc, client, _, complaint = env
    before = snapshot(svc)
    # the task was escalated to the receiver's superior — who is the person complained about
    theirs = token_for(svc, complaint, BOSS)
    page = client.get(f"/t/{theirs}")
    assert page.status_code == 403 and "回避" in page.text
    assert post(client, theirs).status_code == 403
    unchanged(svc, before)
    # the handler's own link still works
    assert post(client, token_for(svc, complaint, RECEIVER)).status_code == 200


def test_post_without_csrf_or_with_another_links_csrf_is_refused(env):
    svc, client, sample, complaint = env
    before = snapshot(svc)
    token = token_for(svc, sample, LEADER)
    for csrf in (None, "", csrf_for(SECRET, token_for(svc, complaint, RECEIVER)),
                 csrf_for(SECRET, token_for(svc, sample, LEADER, issued=svc.clock.now() - timedelta(hours=1))),
                 csrf_for("another-secret-key-0123456789abcd", token)):
        r = post(client, token, csrf=csrf)
        assert r.status_code == 403 and "表单已失效" in r.text
    unchanged(svc, before)
    assert post(client, token).status_code == 200  # the page's own field is accepted


def test_cancelled_task_is_refused(env):
    svc, client, sample, _ = env
    svc.store.cancel_open_tasks(sample.case_no, svc.clock.now())
    before = snapshot(svc)
    token = token_for(svc, sample, LEADER)
    assert client.get(f"/t/{token}").status_code == 410
    assert post(client, token).status_code == 410
    unchanged(svc, before)
