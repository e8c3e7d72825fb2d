"""Answers given in the Prefect UI's resume form (issue 24, items 1 and 3), through the flow's own
check-and-record path (tasks/human.py `record_answer`): accepted only with the one-time answer code
printed in that person's email, recorded as decided via ui by the person the code was issued to, and
followed by exactly the bookkeeping a link's answer gets; anything else is refused and recorded as
refused, and the step keeps waiting (the run waits again on the same step, under the next key)."""

from flows.samples.request import sample_request
from models.answers import Decision
from models.samples_answers import SampleIssue
from tests.flows.harness import GM, MARKETING, MARKETING_LEADER, PENDING, PRODUCTION, answer, ui

APPROVE = Decision(decision="approve")


def test_ui_answers_with_the_emailed_code_do_the_same_bookkeeping_as_links(office):
    """Item 3: after UI answers the sample case is approved, `sample_approved` is recorded and the
    slip goes to production — as after link answers."""
    run = office.run(sample_request, office.sample_request(), {
        "leader-approval": ui(APPROVE), "gm-approval": ui(APPROVE), "sample-issue": PENDING})
    assert run.waiting_on == "sample-issue"
    assert run.case.state == "approved"
    assert len(run.events("sample_approved")) == 1
    assert run.mails_to(PRODUCTION, "取样出门审批单")
    for key, person in (("leader-approval", MARKETING_LEADER), ("gm-approval", GM)):
        t = run.task(key)
        assert (t.state, t.decided_via, t.decided_by, t.decision) == ("decided", "ui", person, "approve")
        assert t.resumed_at is not None
    assert not run.events("answer_refused")

    run = office.run(sample_request, run.case_no, {
        "leader-approval": APPROVE, "gm-approval": APPROVE,
        "sample-issue": ui(SampleIssue(taker="王师傅", quantity=6)), "gate-check": ui(_released(office, run.case_no))})
    assert run.result == "issued" and run.case.state == "issued"
    assert run.task("sample-issue").decided_by == PRODUCTION


def test_the_same_case_answered_by_links_ends_in_the_same_state_and_events(office, tmp_path):
    from tests.flows.harness import Office

    by_ui = office.run(sample_request, office.sample_request(), {
        "leader-approval": ui(APPROVE), "gm-approval": ui(APPROVE), "sample-issue": PENDING})
    other = Office(tmp_path / "links")
    by_link = other.run(sample_request, other.sample_request(), {
        "leader-approval": APPROVE, "gm-approval": APPROVE, "sample-issue": PENDING})
    assert by_ui.case.state == by_link.case.state == "approved"
    assert by_ui.event_kinds == by_link.event_kinds
    assert [m.subject for m in by_ui.mails] == [m.subject for m in by_link.mails]


def test_a_forged_ui_answer_is_refused_and_the_step_keeps_waiting(office):
    """Item 1: `{"decision": "approve", "decided_by": <the requester>}` with a made-up code decides
    nothing; the refusal is recorded (reason, never the code) and the run waits again on the step."""
    forged = {"decision": "approve", "comment": "自己批", "decided_by": MARKETING}
    run = office.run(sample_request, office.sample_request(), {
        "leader-approval": [ui(forged, code="ABCDEFGH"), PENDING]})
    assert run.waiting_on == "leader-approval"
    assert office.human.keys == ["leader-approval", "leader-approval--retry1"]
    t = run.task("leader-approval")
    assert t.state == "open" and t.decided_by is None and t.decision is None
    (refused,) = run.events("answer_refused")
    assert refused.step_key == "leader-approval" and refused.actor is None
    assert refused.data["reason"] == "wrong or missing answer code"
    assert "ABCDEFGH" not in str(refused.data)
    assert run.case.state == "pending_leader"
    assert not run.events("task_decided") and not run.events("sample_approved")
    assert not run.mails_to(GM)


def test_after_a_refusal_the_right_code_or_a_link_still_answers_the_step(office):
    run = office.run(sample_request, office.sample_request(), {
        "leader-approval": [ui(APPROVE, code="ABCDEFGH"), ui(APPROVE, code="")],
        "gm-approval": [ui(Decision(decision="reject", comment="超量"), code="22222222"),
                        answer(Decision(decision="reject", comment="超量"))]})
    # the leader's second try has no code either: refused again, the step still waits
    assert run.waiting_on == "leader-approval"
    assert len(run.events("answer_refused")) == 2
    run = office.run(sample_request, run.case_no, {
        "leader-approval": [ui(APPROVE)],
        "gm-approval": [ui(Decision(decision="reject", comment="超量"), code="22222222"),
                        answer(Decision(decision="reject", comment="超量"))]})
    assert office.human.keys == ["leader-approval--retry2", "gm-approval", "gm-approval--retry1"]
    assert run.result == "rejected" and run.case.state == "rejected"
    assert run.task("leader-approval").decided_via == "ui"
    assert (run.task("gm-approval").decided_via, run.task("gm-approval").decided_by) == ("email", GM)
    assert len(run.events("answer_refused")) == 3
    (notice,) = run.mails_to(MARKETING, "未获批准")
    assert "超量" in notice.text


def test_a_code_is_its_persons_and_its_tasks_only(office):
    """The leader's code does not answer the GM's step; the leader's code, used once, is spent."""
    case_no = office.sample_request()
    run = office.run(sample_request, case_no, {"leader-approval": ui(APPROVE), "gm-approval": PENDING})
    leader_code = office.human.code_in_mail(run.task("leader-approval"), MARKETING_LEADER)
    run = office.run(sample_request, case_no, {
        "leader-approval": APPROVE, "gm-approval": [ui(APPROVE, code=leader_code), PENDING]})
    assert run.waiting_on == "gm-approval" and run.task("gm-approval").state == "open"
    (refused,) = run.events("answer_refused")
    assert refused.data["reason"] == "wrong or missing answer code"


def test_the_code_never_reaches_logs_events_or_artifacts(office, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    case_no = office.sample_request()
    run = office.run(sample_request, case_no, {"leader-approval": ui(APPROVE), "gm-approval": PENDING})
    code = office.human.code_in_mail(run.task("leader-approval"), MARKETING_LEADER)
    assert code in run.mails_to(MARKETING_LEADER)[0].text
    assert code not in caplog.text
    assert all(code not in str(e.data) for e in run.events())
    assert code not in str(run.task("leader-approval").answer)
    assert code not in repr(office.artifacts.__dict__)


def test_guessing_is_bounded_after_ten_refusals_only_the_link_answers(office):
    from tasks.human import MAX_UI_REFUSALS, TOO_MANY

    guesses = [ui(APPROVE, code=f"2345678{c}") for c in "ABCDEFGHJK"][:MAX_UI_REFUSALS]
    run = office.run(sample_request, office.sample_request(), {
        "leader-approval": [*guesses, ui(APPROVE), answer(APPROVE)], "gm-approval": PENDING})
    reasons = [e.data["reason"] for e in run.events("answer_refused")]
    assert reasons == ["wrong or missing answer code"] * MAX_UI_REFUSALS + [TOO_MANY]
    t = run.task("leader-approval")
    assert (t.decided_via, t.decided_by) == ("email", MARKETING_LEADER) and run.waiting_on == "gm-approval"


def _released(office, case_no):
    """P4: the gate guard's check of the pass (its one-time code) with the goods matching."""
    from models.samples import gate_pass_code
    from models.samples_answers import GateCheck

    return GateCheck(decision="released", pass_code=gate_pass_code(office.svc.settings.secret_key, case_no),
                     product_matches=True, spec_matches=True, size_class_matches=True, quantity_matches=True)
