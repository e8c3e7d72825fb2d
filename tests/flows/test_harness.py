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


def test_the_real_artifacts_write_markdown_and_tables_on_the_run_or_on_a_run_named_by_its_id():
    """PrefectArtifacts against the Prefect test server: inside a flow run the artifacts land on it; from
    outside (the watchdog, the web app) on the run named by `flow_run_id`."""
    import json
    from uuid import UUID

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    real = PrefectArtifacts()

    @flow
    def writes() -> str:
        from prefect.runtime import flow_run

        real.markdown("harness-md", "# 标题", "说明")
        real.table("harness-table", [{"产品": "A", "数量": 2}], "表")
        return flow_run.id

    run_id = writes()
    real.table("harness-later", [{"x": 1}], "稍后", flow_run_id=run_id)
    real.markdown("harness-later-md", "稍后", "稍后的说明", flow_run_id=run_id)
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])))
    by_key = {a.key: a for a in arts if a.key}  # (Prefect adds keyless ones of its own)
    assert set(by_key) == {"harness-md", "harness-table", "harness-later", "harness-later-md"}
    assert (by_key["harness-md"].type, by_key["harness-md"].data, by_key["harness-md"].description) == (
        "markdown", "# 标题", "说明")
    assert by_key["harness-table"].type == "table" and json.loads(by_key["harness-table"].data) == [{"产品": "A", "数量": 2}]
    assert by_key["harness-later"].type == "table" and json.loads(by_key["harness-later"].data) == [{"x": 1}]
    assert by_key["harness-later"].description == "稍后" and by_key["harness-later-md"].type == "markdown"


def outline(office, case_no: str) -> tuple[list, list, list, str]:
    """What a case came to: every mail (subject, to), every task (step, state, decision, assignee, due),
    every event's kind, and the case's state."""
    store = office.svc.store
    return ([(m.subject, tuple(m.to)) for m in office.mailer.sent],
            [(t.step_key, t.state, t.decision, t.assignee, t.due_at) for t in store.tasks_of(case_no)],
            [e.kind for e in store.events(case_no)], store.get_case(case_no).state)


def test_a_scenario_going_on_from_a_prepared_step_ends_as_the_whole_run_does(office, tmp_path):
    """`Office.prepare` / `Office.resume`: the same flow run again from the top, as Prefect resumes it — the
    earlier answers read from the database — comes to the same mails, tasks, events and state as one run
    answering every step (a grievance from its decision, a level-2 complaint from its outcome), and a second
    scenario from the same preparation starts where it stopped, not where the first one ended."""
    from flows.complaint.handling import complaint
    from flows.grievance.chain import grievance
    from tests.dbs import release
    from tests.flows.harness import Office
    from tests.flows.test_complaint import handled
    from tests.flows.test_grievance import chain, file

    cases = [(grievance, file, chain(), "decision-told"),
             (complaint, lambda o: o.complaint(category="服务行为"), handled(2), "outcome")]
    for n, (flow, new_case, script, step) in enumerate(cases):
        whole, preparing = Office(tmp_path / f"whole-{n}"), Office(tmp_path / f"preparing-{n}")
        one = whole.run(flow, new_case(whole), script)
        prepared = preparing.prepare(flow, new_case(preparing), script | {step: PENDING})
        assert prepared.waiting_on == step and prepared.case_no == one.case_no
        for again in range(2):
            went_on = Office(tmp_path / f"went-on-{n}-{again}")
            run = went_on.resume(prepared, script)
            assert run.result == one.result == "closed"
            assert run.steps == one.steps[one.steps.index(step):]  # the steps before were not asked again
            assert run.flow_run_id == prepared.flow_run_id
            assert outline(went_on, run.case_no) == outline(whole, one.case_no)
            release(went_on.svc.store)
        release(whole.svc.store)
        release(preparing.svc.store)
