"""The typed human step's pure parts (tasks/ask.py: `step_request`, `typed`, `rejection_notes`; `ask` and
`Asking` through the real request: tests/flows/test_asking.py) and a complaint
outcome's decision by authority (tasks/complaint/authority.py, R2 / 000 «13» 第九条五), without Prefect:
the request each step makes and the answers it reads, exactly (docs/testing.md, session 15)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from models.answers import Decision
from models.complaint.answers import ComplaintIntake, ComplaintOutcome
from tasks.ask import rejection_notes, step_request, typed
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
