"""The typed human step as a flow writes it (tasks/ask.py: `ask`, `Asking`, `Asking.sharing`, `Asking.each`),
through the real `request_decision` on the office's fakes: what each step asks of whom, and the typed answer
it returns (docs/testing.md, session 15; moved here from tests/unit in session 16 so that nothing is
monkeypatched)."""

from __future__ import annotations

from prefect import flow

from models.answers import Decision
from tasks.ask import Asking, ask, asking
from tests.flows.harness import CS_STAFF, GM, L2_HANDLER, QUALITY_LEAD, SALESPERSON, answer

OK = Decision(decision="approve")


@flow
def one_step(case_no: str) -> str:
    got = ask(Decision, case_no=case_no, step="gm-approval", title="总经理审批", role="general_manager", summary={"a": 1})
    return f"{type(got).__name__}:{got.decision}:{got.comment}"


def test_ask_asks_the_step_of_its_case_and_returns_the_typed_answer(office):
    run = office.run(one_step, office.complaint(), {"gm-approval": Decision(decision="reject", comment="再议")})
    assert run.result == "Decision:reject:再议"
    (asked,) = run.asked
    assert (asked.step, asked.title, asked.role, asked.assignee, asked.answer_model, asked.summary) == (
        "gm-approval", "总经理审批", "general_manager", GM, "Decision", {"a": 1})
    assert run.task("gm-approval").case_no == run.case_no


@flow
def shared_steps(case_no: str) -> list[str]:
    a = asking(case_no, summary={"单号": case_no}, recused=[CS_STAFF])
    assert a == Asking(case_no, {"summary": {"单号": case_no}, "recused": [CS_STAFF]})
    a(Decision, step="a", title="甲", role="l1_handler")
    a(Decision, step="b", title="乙", role="l2_handler", summary={"own": 1})
    more = a.sharing(summary={"v": 2}, requested_by=SALESPERSON)
    assert a.shared == {"summary": {"单号": case_no}, "recused": [CS_STAFF]}  # the original as it was
    more(Decision, step="c", title="丙", role="quality_lead")
    return [x.decision for x in a.each(Decision, [])]


def test_every_step_of_a_case_shares_its_fields_unless_it_gives_its_own_and_sharing_adds_or_replaces(office):
    run = office.run(shared_steps, case_no := office.complaint(), {"a": OK, "b": OK, "c": OK})
    assert run.result == []  # nobody asked for no steps
    a, b, c = run.asked
    assert (a.step, a.title, a.role, a.summary, a.recused, a.requested_by) == (
        "a", "甲", "l1_handler", {"单号": case_no}, [CS_STAFF], None)
    assert (b.step, b.title, b.role, b.summary, b.recused) == ("b", "乙", "l2_handler", {"own": 1}, [CS_STAFF])
    assert (c.step, c.role, c.assignee, c.summary, c.recused, c.requested_by) == (
        "c", "quality_lead", QUALITY_LEAD, {"v": 2}, [CS_STAFF, SALESPERSON], SALESPERSON)  # no one approves their own request


@flow
def parallel_steps(case_no: str) -> list[str]:
    a = asking(case_no, summary={"s": 1}, recused=[CS_STAFF])
    got = a.each(Decision, [{"step": "dept-a", "title": "甲部门", "role": "general_manager"},
                            {"step": "dept-b", "title": "乙部门", "role": "l2_handler", "summary": {"own": 2}}])
    return [f"{type(x).__name__}:{x.decision}:{x.decided_by}" for x in got]


def test_parallel_steps_each_get_the_shared_fields_and_come_back_in_order(office):
    run = office.run(parallel_steps, office.complaint(), {
        "dept-b": answer(Decision(decision="reject"), by=L2_HANDLER), "dept-a": OK})
    assert run.result == [f"Decision:approve:{GM}", f"Decision:reject:{L2_HANDLER}"]
    a, b = run.asked
    assert (a.step, a.title, a.role, a.summary, a.recused, a.answer_model) == (
        "dept-a", "甲部门", "general_manager", {"s": 1}, [CS_STAFF], "Decision")
    assert (b.step, b.title, b.summary, b.recused) == ("dept-b", "乙部门", {"own": 2}, [CS_STAFF])
