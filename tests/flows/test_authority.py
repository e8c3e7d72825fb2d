"""R2 / 000 «13» 第九条五: a complaint's handling decision with an amount is decided by the approvers of
its amount's authority band, in order, before it is recorded or carried out (tasks/complaint/authority.py)."""

import pytest

from flows.complaint.handling import complaint
from models.answers import Decision
from models.complaint.answers import ComplaintOutcome
from tests.flows.harness import CS_STAFF, DEPUTY_GM, DEPUTY_SALES_MANAGER, GM, SALES_MANAGER
from tests.flows.test_complaint import APPROVE, handled

AUTHORITY = {"authority-sales-manager": APPROVE, "authority-deputy-sales-manager": APPROVE,
             "authority-deputy-gm": APPROVE, "authority-general-manager": APPROVE}


def outcome(handling: str, amount: str, **over) -> ComplaintOutcome:
    fields = {"handling": handling, "responsibility_department": "生产部", "our_fault": True, "loss_amount": amount}
    if handling == "return":
        fields |= {"return_quantity": 50, "unit": "箱"}
    return ComplaintOutcome(**fields | over)


@pytest.mark.parametrize("handling,amount,deciders", [
    ("allowance", "3000.00", [SALES_MANAGER]),
    ("allowance", "20000.00", [DEPUTY_SALES_MANAGER, DEPUTY_GM]),
    ("return", "900000.00", [DEPUTY_SALES_MANAGER, DEPUTY_GM, GM]),
])
def test_an_outcome_with_an_amount_is_decided_by_its_authority_band_before_it_is_recorded(
        office, handling, amount, deciders):
    run = office.run(complaint, office.complaint(), handled(1, outcome=outcome(handling, amount)) | AUTHORITY)
    authority = [a for a in run.asked if a.step.startswith("authority-")]
    assert [a.assignee for a in authority] == deciders and run.result == "closed"
    assert run.steps.index("outcome") < run.steps.index(authority[0].step) < run.steps.index("satisfaction")
    assert run.case.data["outcome"]["loss_amount"] == amount


def test_an_outcome_without_an_amount_needs_no_authority(office):
    run = office.run(complaint, office.complaint(), handled(1))
    assert not [s for s in run.steps if s.startswith("authority-")] and run.result == "closed"


def test_a_rejected_outcome_goes_back_to_the_handler_and_is_decided_again(office):
    revised = outcome("allowance", "4000.00")
    case_no = office.complaint(received_by=CS_STAFF)  # the handler is its receiver, the second L1 handler
    run = office.run(complaint, case_no, handled(1, outcome=outcome("allowance", "20000.00")) | AUTHORITY | {
        "authority-deputy-gm": Decision(decision="reject", comment="赔付过高"), "outcome-2": revised,
        "authority-sales-manager-2": APPROVE})
    steps = run.steps
    assert steps[steps.index("outcome"):steps.index("satisfaction")] == [
        "outcome", "authority-deputy-sales-manager", "authority-deputy-gm", "outcome-2", "authority-sales-manager-2"]
    assert run.step("outcome-2").assignee == CS_STAFF
    assert run.task("outcome-2").summary["核决意见"] == "赔付过高"
    assert run.case.data["outcome"]["loss_amount"] == "4000.00"  # only the approved outcome is recorded
    (started,) = office.flows.started
    assert office.svc.store.get_case(started.case_no).data["amount"] == "4000.00"
