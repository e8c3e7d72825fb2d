"""The harness itself: a step without a scripted answer fails naming it; a scripted answer is checked
like an answer through the link; the served services keep suspending the run."""

import pytest

from flows.samples.request import sample_request
from models.answers import Decision
from tasks.platform.artifacts import PrefectArtifacts
from tasks.platform.human_steps import SuspendForAnswer, UnscriptedStep
from tasks.platform.runtime import build_services, services, use_services
from tests.flows.harness import GM, MARKETING, PENDING, answer

APPROVE = Decision(decision="approve")


def test_a_step_without_a_scripted_answer_fails_naming_it(office):
    with pytest.raises(UnscriptedStep, match="'gm-approval'.*general_manager.*wang.jianguo"):
        office.run(sample_request, office.sample_request(), {"leader-approval": APPROVE})


def test_the_requester_cannot_answer_their_own_request(office):
    with pytest.raises(AssertionError, match="requester"):
        office.run(sample_request, office.sample_request(), {"leader-approval": answer(APPROVE, by=MARKETING)})


def test_a_pending_step_stops_the_run_with_its_task_open_and_its_email_sent(office):
    run = office.run(sample_request, office.sample_request(), {"leader-approval": APPROVE, "gm-approval": PENDING})
    assert run.waiting_on == "gm-approval" and run.result is None
    assert run.task("gm-approval").state == "open" and run.mails_to(GM, "总经理审批")
    leader = run.task("leader-approval")
    assert leader.decided_via == "email" and leader.resumed_at is not None  # recorded as a link answer is


def test_the_form_artifact_is_recorded(office):
    run = office.run(sample_request, office.sample_request(), {"leader-approval": APPROVE, "gm-approval": PENDING})
    assert office.artifacts.latest[f"waiting-{run.case_no.lower()}"].count("总经理") >= 1


def test_served_services_suspend_the_run_and_write_prefect_artifacts(office):
    served = build_services(office.svc.settings, store=office.svc.store)
    assert isinstance(served.human, SuspendForAnswer) and isinstance(served.artifacts, PrefectArtifacts)
    with use_services(office.svc):
        assert services() is office.svc
        with use_services(served):
            assert services() is served
        assert services() is office.svc
