"""One-time answer codes (issue 24): issued with every request email, stored hashed with the task and
the person, checked when a Prefect UI answer comes — valid while the task is open, once, and only
for a person who may decide."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from models.answers import ANSWER_MODELS, Decision
from models.samples_answers import SampleIssue
from tasks.human import pause_key, refusal, render_request_mail
from tasks.platform import human_codes
from tasks.platform.resume import run_input_for, waits_on
from tests.fakes import NOW, SECRET, fake_services, open_task

LEADER = "jiang.hua@huajin.example"
REQUESTER = "yang.mei@huajin.example"
DEPUTY = "liu.yang@huajin.example"


@pytest.fixture
def svc(tmp_path):
    return fake_services(tmp_path)


def new_case(svc) -> str:
    case, _ = svc.store.create_case(procedure="sample_request", prefix="YP", year=2026, state="pending_leader",
                                    title="t", data={}, now=NOW, requested_by=REQUESTER)
    return case.case_no


def code_of(text: str) -> str:
    (code,) = re.findall(r"一次性答案码：([0-9A-Z]{8})", text)
    return code


def outbox_texts(svc, task_id: int) -> list[tuple[str, str, str]]:
    from sqlmodel import select

    from models.tables import OutboxMessage

    with svc.store.session() as s:
        return [(r.dedupe_key, r.to, r.text) for r in s.exec(select(OutboxMessage).order_by(OutboxMessage.id))
                if r.dedupe_key.startswith(f"task:{task_id}:")]


def decide(svc, task, code: str, decision: str = "approve"):
    digest = human_codes.digest(SECRET, task.id, code) if code else ""
    return svc.store.decide_with_code(task.id, digest, decision=decision, comment="", answer={"decision": decision},
                                      now=NOW, refusal=refusal)


def test_a_code_is_short_unambiguous_and_typed_loosely():
    codes = {human_codes.new_code() for _ in range(200)}
    assert len(codes) == 200
    for c in codes:
        assert len(c) == 8 and human_codes.looks_like_code(c)
        assert not set(c) & set("01OIL U")
    c = next(iter(codes))
    lowered = f" {c[:4].lower()}-{c[4:].lower()} "
    assert human_codes.digest(SECRET, 7, lowered) == human_codes.digest(SECRET, 7, c)
    # bound to the task and to the key: the stored hash says nothing about another task's code
    assert human_codes.digest(SECRET, 8, c) != human_codes.digest(SECRET, 7, c)
    assert human_codes.digest("another-secret-0123456789abcdef", 7, c) != human_codes.digest(SECRET, 7, c)


def test_the_request_email_prints_a_code_stored_only_hashed(svc):
    task = open_task(svc, new_case(svc), "leader-approval", LEADER, requested_by=REQUESTER)
    ((key, to, text),) = outbox_texts(svc, task.id)
    code = code_of(text)
    (row,) = svc.store.answer_codes(task.id)
    assert (row.person, row.purpose, row.used_at) == (LEADER, "ask", None)
    assert row.code_hash == human_codes.digest(SECRET, task.id, code) and code not in row.code_hash
    html = render_request_mail(svc, task, LEADER, NOW).html
    assert re.search(r">[0-9A-Z]{8}</b>", html)


def test_a_valid_code_decides_as_its_person_once(svc):
    task = open_task(svc, new_case(svc), "leader-approval", LEADER, requested_by=REQUESTER)
    code = code_of(outbox_texts(svc, task.id)[0][2])
    outcome, row, person = decide(svc, task, code.lower())
    assert (outcome, person) == ("decided", LEADER)
    assert (row.state, row.decided_by, row.decided_via, row.decision) == ("decided", LEADER, "ui", "approve")
    assert svc.store.answer_codes(task.id)[0].used_at is not None
    # single use, and the task is no longer open
    assert decide(svc, task, code, "reject")[0] == "already"
    events = svc.store.events(task.case_no)
    assert [e.kind for e in events].count("task_decided") == 1
    assert all(code not in str(e.data) for e in events)


@pytest.mark.parametrize("given", ["", "ABCDEFGH", "link"])
def test_a_missing_or_wrong_code_is_refused_and_nothing_is_recorded(svc, given):
    task = open_task(svc, new_case(svc), "leader-approval", LEADER, requested_by=REQUESTER)
    outcome, row, person = decide(svc, task, given)
    assert outcome == "refused: wrong or missing answer code" and person is None
    assert svc.store.get_task(task.id).state == "open"
    assert "task_decided" not in [e.kind for e in svc.store.events(task.case_no)]


def test_another_tasks_code_is_refused(svc):
    case_no = new_case(svc)
    one = open_task(svc, case_no, "leader-approval", LEADER, requested_by=REQUESTER)
    two = open_task(svc, case_no, "gm-approval", "wang.jianguo@huajin.example", requested_by=REQUESTER)
    assert decide(svc, two, code_of(outbox_texts(svc, one.id)[0][2]))[0].startswith("refused")


def test_a_code_issued_to_someone_who_may_not_decide_is_refused(svc):
    """The links' rule: the requester never decides, nor someone recused (e.g. a code from an
    earlier assignment), whatever code they hold."""
    task = open_task(svc, new_case(svc), "leader-approval", LEADER, requested_by=REQUESTER)
    for person, reason in ((REQUESTER, "the requester never decides on their own request"),
                           ("sun.qiang@huajin.example", "not the assignee of this task")):
        code, row = human_codes.issue(SECRET, task.id, person, "ask", NOW)
        with svc.store.session() as s:
            s.add(row)
            s.commit()
        assert decide(svc, task, code)[:3:2] == (f"refused: {reason}", person)
    assert svc.store.get_task(task.id).state == "open"


def test_reminder_and_escalation_print_new_codes_and_each_person_answers_with_their_own(svc):
    from tasks.platform.watchdog import sla_check

    task = open_task(svc, new_case(svc), "leader-approval", LEADER, requested_by=REQUESTER)
    sla_check(svc, NOW + timedelta(hours=5), resume=False)  # the reminder (remind_at: 4 h)
    sla_check(svc, NOW + timedelta(hours=9), resume=False)  # the escalation (due: 8 h)
    mails = outbox_texts(svc, task.id)
    assert [k.split(":")[2] for k, _, _ in mails] == ["ask", "remind", "escalate"]
    codes = [code_of(t) for _, _, t in mails]
    assert len(set(codes)) == 3
    rows = svc.store.answer_codes(task.id)
    assert [(r.person, r.purpose) for r in rows] == [(LEADER, "ask"), (LEADER, "remind"), (DEPUTY, "escalate")]
    task = svc.store.get_task(task.id)
    outcome, row, person = decide(svc, task, codes[2])
    assert (outcome, person, row.decided_by) == ("decided", DEPUTY, DEPUTY)
    assert decide(svc, task, codes[0])[0] == "already"


def test_refusals_are_recorded_once_per_attempt_without_the_code(svc):
    task = open_task(svc, new_case(svc), "leader-approval", LEADER, requested_by=REQUESTER)
    assert svc.store.refused_answers(task.id) == 0
    for _ in range(2):
        svc.store.refuse_answer(task.id, attempt="leader-approval", reason="wrong or missing answer code",
                                person=None, decision="approve", now=NOW)
    assert svc.store.refused_answers(task.id) == 1
    assert pause_key("leader-approval", 1) == "leader-approval--retry1"
    assert waits_on("leader-approval--retry1", "leader-approval") and waits_on("leader-approval", "leader-approval")
    assert not waits_on("gm-approval", "leader-approval") and not waits_on(None, "leader-approval")


def test_the_schema_prefect_shows_requires_the_code_and_has_no_decided_by():
    from prefect._internal.pydantic.v2_schema import create_v2_schema

    for model in (Decision, SampleIssue, *ANSWER_MODELS.values()):
        schema = create_v2_schema(model.__name__, model_base=model)
        assert "code" in schema["required"], model.__name__
        assert "default" not in schema["properties"]["code"] and schema["properties"]["code"]["minLength"] == 1
        assert "答案码" in schema["properties"]["code"]["description"]
        assert "decided_by" not in schema["properties"]
    # an answer through the link carries no code (the link is its proof)
    assert Decision.model_validate({"decision": "approve", "decided_by": LEADER}).decided_by == LEADER


def test_a_link_resume_satisfies_the_schema_without_a_code(svc):
    import jsonschema
    from prefect._internal.pydantic.v2_schema import create_v2_schema

    task = open_task(svc, new_case(svc), "leader-approval", LEADER, requested_by=REQUESTER)
    svc.store.decide(task.id, decision="approve", comment="", answer={"decision": "approve"}, by=LEADER,
                     via="email", now=NOW)
    given = run_input_for(svc.store.get_task(task.id))
    jsonschema.validate(given, create_v2_schema("Decision", model_base=Decision))
    assert not human_codes.looks_like_code(given["code"])
