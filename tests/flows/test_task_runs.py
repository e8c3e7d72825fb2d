"""Issue 23: a human step costs Prefect at most three task runs — 请求决定 request decision (the task
opened, its email written to the outbox and delivered, who the run waits for shown) and 记录决定 record
decision (the answer recorded, who answered shown); the suspension between them is none, and the
flow's bookkeeping between two steps (the case read, its state, the form artifact, …) is called in
place, not as task runs (tasks/replay.py). Counted from the task-run events the engine emits (the
server of tests/flows records none; bench/task_runs.py counts what a recording server keeps)."""

import re
from collections import Counter
from contextlib import contextmanager

from flows.complaint.handling import complaint
from flows.samples.request import sample_request
from models.answers import Decision
from models.samples_answers import GateCheck, SampleIssue
from models.samples import gate_pass_code
from tests.flows.test_complaint import handled


@contextmanager
def task_runs():
    """The names of the task runs started in the block, by task-run id (from their events)."""
    from prefect.events.clients import AssertingEventsClient, NullEventsClient
    from prefect.events.worker import EventsWorker

    names: dict[str, str] = {}
    AssertingEventsClient.reset()
    EventsWorker.set_client_override(AssertingEventsClient)
    try:
        yield names
        EventsWorker.drain_all()
        for client in AssertingEventsClient.all:
            for event in client.events:
                if event.resource.id.startswith("prefect.task-run."):
                    names[event.resource.id] = event.resource.get("prefect.resource.name", "")
    finally:
        EventsWorker.drain_all()
        EventsWorker.set_client_override(NullEventsClient)
        AssertingEventsClient.reset()


def by_task(names: dict[str, str]) -> Counter:
    """How many task runs of each task (the name without the step's title or Prefect's `-<key>`)."""
    return Counter(re.sub(r"-[0-9a-f]{1,3}$", "", n.split(" · ")[0]) for n in names.values())


def test_a_complaint_is_at_most_three_task_runs_per_human_step(office):
    with task_runs() as names:
        run = office.run(complaint, office.complaint(category="服务行为"), handled(2))
    assert run.result == "closed" and len(run.steps) == 12
    assert len(names) <= 3 * len(run.steps), by_task(names)
    # each step is one request and one record, named by the step as the process owner reads it
    counted = by_task(names)
    assert counted["请求决定 request decision"] == counted["记录决定 record decision"] == len(run.steps)
    assert "请求决定 request decision · 受理确认：投诉是否成立、投诉级别 (intake)" in names.values()
    assert "记录决定 record decision · 投诉档案存档 (archive)" in names.values()


def test_a_sample_request_is_at_most_three_task_runs_per_human_step(office):
    case_no = office.sample_request()
    gate = GateCheck(decision="released", pass_code=gate_pass_code(office.svc.settings.secret_key, case_no),
                     product_matches=True, spec_matches=True, size_class_matches=True, quantity_matches=True)
    with task_runs() as names:
        run = office.run(sample_request, case_no, {
            "leader-approval": Decision(decision="approve"), "gm-approval": Decision(decision="approve"),
            "sample-issue": SampleIssue(taker="王师傅", quantity=6), "gate-check": gate})
    assert run.result == "issued" and len(run.steps) == 4
    assert len(names) <= 3 * len(run.steps), by_task(names)
