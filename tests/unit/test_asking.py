"""The typed human step (tasks/ask.py: `step_request`, `ask`, `Asking`, `rejection_notes`) and a complaint
outcome's decision by authority (tasks/complaint/authority.py, R2 / 000 «13» 第九条五), without Prefect:
the request each step makes and the answers it reads, exactly (docs/testing.md, session 15)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

import tasks.ask
from models.answers import Decision
from models.complaint.answers import ComplaintIntake, ComplaintOutcome
from tasks.ask import Asking, asking, rejection_notes, step_request, typed
from tasks.complaint.authority import authority_roles, decide_outcome_by_authority
from tasks.platform.runtime import use_services
from tests.fakes import fake_services


# ---- tasks/ask.py ---------------------------------------------------------------------------------
def test_a_step_request_names_its_case_step_title_role_and_answer_model():
    req = step_request(ComplaintIntake, case_no="TS-2026-0001", step="intake", title="受理确认", role="l1_handler",
                       assignee="li.na@huajin.example", due_business_days=2)
    assert (req.case_no, req.step_key, req.title, req.role, req.answer_model) == (
        "TS-2026-0001", "intake", "受理确认", "l1_handler", "ComplaintIntake")
    assert (req.assignee, req.due_business_days) == ("li.na@huajin.example", 2)


def test_an_answer_of_another_class_is_refused_naming_both():
    with pytest.raises(TypeError, match=r"^the answer is a Decision, not the ComplaintIntake asked for$"):
        typed(ComplaintIntake, Decision(decision="approve"))


@pytest.fixture
def asked(monkeypatch) -> list[Any]:
    """What `ask` and `Asking.each` ask (the StepRequests), each answered with an approval."""
    out: list[Any] = []

    def one(req):
        out.append(req)
        return Decision(decision="approve", comment=req.step_key)

    def many(reqs):
        out.append(list(reqs))
        return [Decision(decision="approve", comment=r.step_key) for r in reqs]

    monkeypatch.setattr(tasks.ask, "request_decision", one)
    monkeypatch.setattr(tasks.ask, "request_decisions", many)
    return out


def test_ask_asks_the_step_of_its_case_and_returns_the_typed_answer(asked):
    answer = tasks.ask.ask(Decision, case_no="TS-1", step="gm-approval", title="总经理审批", role="general_manager",
                           summary={"a": 1})
    assert isinstance(answer, Decision) and answer.comment == "gm-approval"
    (req,) = asked
    assert (req.case_no, req.step_key, req.title, req.role, req.answer_model, req.summary) == (
        "TS-1", "gm-approval", "总经理审批", "general_manager", "Decision", {"a": 1})


def test_every_step_of_a_case_shares_its_fields_unless_it_gives_its_own(asked):
    ask = asking("TS-1", summary={"单号": "TS-1"}, recused=["x@huajin.example"])
    assert ask == Asking("TS-1", {"summary": {"单号": "TS-1"}, "recused": ["x@huajin.example"]})
    ask(Decision, step="a", title="甲", role="l1_handler")
    ask(Decision, step="b", title="乙", role="l2_handler", summary={"own": 1})
    a, b = asked
    assert (a.case_no, a.step_key, a.title, a.role, a.summary, a.recused) == (
        "TS-1", "a", "甲", "l1_handler", {"单号": "TS-1"}, ["x@huajin.example"])
    assert (b.step_key, b.title, b.role, b.summary, b.recused) == ("b", "乙", "l2_handler", {"own": 1}, ["x@huajin.example"])


def test_sharing_adds_or_replaces_shared_fields_and_leaves_the_original_as_it_was(asked):
    ask = asking("TS-1", summary={"v": 1}, recused=["x@huajin.example"])
    more = ask.sharing(summary={"v": 2}, requested_by="lin.tao@huajin.example")
    assert more == Asking("TS-1", {"summary": {"v": 2}, "recused": ["x@huajin.example"], "requested_by": "lin.tao@huajin.example"})
    assert ask.shared == {"summary": {"v": 1}, "recused": ["x@huajin.example"]}
    more(Decision, step="c", title="丙", role="l1_handler")
    (req,) = asked
    assert (req.case_no, req.summary, req.requested_by, req.recused) == ("TS-1", {"v": 2}, "lin.tao@huajin.example", ["x@huajin.example"])


def test_parallel_steps_each_get_the_shared_fields_and_come_back_in_order(asked):
    ask = asking("TS-1", summary={"s": 1}, recused=["x@huajin.example"])
    answers = ask.each(Decision, [{"step": "dept-a", "title": "甲部门", "role": "department_head"},
                                  {"step": "dept-b", "title": "乙部门", "role": "department_head", "summary": {"own": 2}}])
    assert [a.comment for a in answers] == ["dept-a", "dept-b"] and all(isinstance(a, Decision) for a in answers)
    ((a, b),) = asked
    assert (a.case_no, a.step_key, a.title, a.role, a.summary, a.recused, a.answer_model) == (
        "TS-1", "dept-a", "甲部门", "department_head", {"s": 1}, ["x@huajin.example"], "Decision")
    assert (b.case_no, b.step_key, b.summary, b.recused) == ("TS-1", "dept-b", {"own": 2}, ["x@huajin.example"])
    assert ask.each(Decision, []) == [] and len(asked) == 1  # nobody asked for no steps


def test_parallel_answers_of_another_class_are_refused(monkeypatch):
    monkeypatch.setattr(tasks.ask, "request_decisions", lambda reqs: [Decision(decision="approve") for _ in reqs])
    with pytest.raises(TypeError, match="not the ComplaintIntake asked for"):
        asking("TS-1").each(ComplaintIntake, [{"step": "a", "title": "甲", "role": "l1_handler"}])


@dataclass
class V:
    decision: str
    comment: str = ""
    decided_by: str = ""


def test_the_rejections_are_noted_by_whom_with_their_comments_or_a_blank_marked():
    assert rejection_notes([V("reject", "金额过高", "sun.qiang@huajin.example"), V("reject", "", ""),
                            V("reject", "", "he.ping@huajin.example")]) == (
        "sun.qiang@huajin.example：金额过高；审批人：（未填写）；he.ping@huajin.example：（未填写）")
    assert rejection_notes([]) == ""


# ---- tasks/complaint/authority.py ----------------------------------------------------------------
@pytest.fixture
def svc(tmp_path):
    s = fake_services(tmp_path)
    with use_services(s):
        yield s


@pytest.mark.parametrize("handling,amount,roles", [
    ("allowance", "0.01", ["sales_manager"]),
    ("allowance", "5000.00", ["sales_manager"]),
    ("return", Decimal("5000.01"), ["deputy_sales_manager", "deputy_gm"]),
    ("return", "50000.01", ["deputy_sales_manager", "deputy_gm", "general_manager"]),
    ("allowance", "0", []), ("allowance", Decimal("0.00"), []), ("return", None, []), ("allowance", "", []),
    ("repair", "3000.00", []), ("replacement", "90000.00", []), ("explanation", "1", []),
])
def test_r2_an_amount_paid_or_forgone_is_decided_by_its_band_and_nothing_else_is(svc, handling, amount, roles):
    assert authority_roles(handling, amount) == roles


def outcome(handling: str, amount: str, **over) -> ComplaintOutcome:
    fields = {"handling": handling, "responsibility_department": "生产部", "our_fault": True, "loss_amount": amount}
    if handling == "return":
        fields |= {"return_quantity": 50, "unit": "箱"}
    return ComplaintOutcome(**fields | over)


class Script:
    """A scripted `ask`: the answers by step, every call recorded."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers, self.calls = answers, []

    def __call__(self, model, **kw):
        self.calls.append((model, kw))
        return self.answers[kw["step"]]


SUMMARY = {"单号": "TS-2026-0001"}


def test_r2_an_outcome_is_decided_by_each_approver_in_order_with_what_they_decide_on(svc):
    first = outcome("allowance", "20000.00")
    ask = Script({"authority-deputy-sales-manager": Decision(decision="approve"),
                  "authority-deputy-gm": Decision(decision="approve")})
    assert decide_outcome_by_authority(ask, first, "l1_handler", "chen.jing@huajin.example", SUMMARY) is first
    assert ask.calls == [(Decision, {
        "step": f"authority-{step}", "title": "处理结果核决（依核决权限）", "role": role,
        "summary": {"单号": "TS-2026-0001", "处理方式": "allowance", "客诉损失金额（元）": "20000.00",
                    "核决人": "deputy_sales_manager → deputy_gm"}})
        for step, role in (("deputy-sales-manager", "deputy_sales_manager"), ("deputy-gm", "deputy_gm"))]
    assert SUMMARY == {"单号": "TS-2026-0001"}


def test_r2_a_rejection_stops_the_round_and_the_handler_revises_then_it_is_decided_again(svc):
    first, revised = outcome("return", "20000.00"), outcome("allowance", "4000.00")
    ask = Script({"authority-deputy-sales-manager": Decision(decision="reject"),
                  "outcome-2": revised, "authority-sales-manager-2": Decision(decision="approve")})
    assert decide_outcome_by_authority(ask, first, "l1_handler", "chen.jing@huajin.example", SUMMARY) is revised
    assert [kw["step"] for _, kw in ask.calls] == ["authority-deputy-sales-manager", "outcome-2", "authority-sales-manager-2"]
    model, kw = ask.calls[1]
    assert model is ComplaintOutcome
    assert kw == {"step": "outcome-2", "title": "按核决意见修改处理结果", "role": "l1_handler",
                  "assignee": "chen.jing@huajin.example",
                  "defaults": first.model_dump(mode="json", exclude={"decided_by", "comment", "decision"}),
                  "summary": {"单号": "TS-2026-0001", "核决意见": "（未填写）"}}
    assert kw["defaults"]["loss_amount"] == "20000.00" and kw["defaults"]["handling"] == "return"
    assert kw["defaults"]["return_quantity"] == 50 and not {"decided_by", "comment", "decision"} & set(kw["defaults"])
    assert ask.calls[2][1]["summary"]["核决人"] == "sales_manager" and ask.calls[2][1]["role"] == "sales_manager"


def test_r2_each_round_has_its_own_steps_and_the_comment_goes_to_the_handler(svc):
    ask = Script({"authority-sales-manager": Decision(decision="reject", comment="赔付过高"),
                  "outcome-2": outcome("allowance", "3000.00"),
                  "authority-sales-manager-2": Decision(decision="reject", comment="仍过高"),
                  "outcome-3": outcome("repair", "0")})
    got = decide_outcome_by_authority(ask, outcome("allowance", "4000.00"), "l2_handler", "zhou.min@huajin.example", SUMMARY)
    assert got.handling == "repair"  # revised to a repair: no amount, no approver
    assert [kw["step"] for _, kw in ask.calls] == ["authority-sales-manager", "outcome-2", "authority-sales-manager-2", "outcome-3"]
    assert ask.calls[1][1]["summary"]["核决意见"] == "赔付过高" and ask.calls[3][1]["summary"]["核决意见"] == "仍过高"
    assert ask.calls[3][1]["role"] == "l2_handler" and ask.calls[3][1]["assignee"] == "zhou.min@huajin.example"
    assert ask.calls[3][1]["defaults"]["loss_amount"] == "3000.00"


def test_r2_an_outcome_without_an_amount_asks_nobody(svc):
    ask = Script({})
    repair = outcome("repair", "0")
    assert decide_outcome_by_authority(ask, repair, "l1_handler", "li.na@huajin.example", SUMMARY) is repair
    assert ask.calls == []
