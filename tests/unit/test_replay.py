"""A resumed run replays earlier cycles without task runs (tasks/replay.py): which cycle is which."""

from datetime import datetime, timedelta

from prefect import task

from models.business_days import TZ
from models.tables import HumanTask
from tasks import replay
from tasks.human import acted_on_earlier
from tests.dbs import fresh_store

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)


def open_task(store, case_no: str, step: str, run_id: str | None) -> HumanTask:
    row = HumanTask(case_no=case_no, step_key=step, title=step, role="marketing_leader", assignee="a@x.example",
                    choices=["approve", "reject"], summary={}, created_at=NOW, due_at=NOW + timedelta(hours=8),
                    state="open", flow_run_id=run_id)
    return store.ensure_task(row, lambda t: [], NOW)[0]


def new_case(store) -> str:
    case, _ = store.create_case(procedure="complaint", prefix="TS", year=2026, state="received", title="t",
                                data={}, now=NOW, requested_by=None)
    return case.case_no


def test_a_first_cycle_does_not_replay_and_a_resumed_one_does_until_its_new_step():
    store = fresh_store()
    case_no = new_case(store)
    assert not replay.replaying(case_no, run_id="run-a", store=store)  # nothing opened yet: a first cycle
    first = open_task(store, case_no, "intake", "run-a")
    replay.forget("run-a")  # the run suspends on its first step
    # the next cycle starts from the top: it replays until it reaches a step not of an earlier cycle
    assert replay.replaying(case_no, run_id="run-a", store=store)
    store.decide(first.id, decision="approve", comment="", answer={}, by="a@x.example", via="email", now=NOW)
    assert not acted_on_earlier(store, store.get_task(first.id))  # the step this cycle was resumed for
    replay.reached_new_step("run-a")
    assert not replay.replaying(case_no, run_id="run-a", store=store)


def test_only_the_runs_own_tasks_count():
    store = fresh_store()
    case_no = new_case(store)
    open_task(store, case_no, "progress-1", None)  # the watchdog's
    open_task(store, case_no, "intake", "run-b")  # another run of the same case
    assert not replay.replaying(case_no, run_id="run-c", store=store)
    assert not replay.replaying(None, run_id="run-d")  # no case to look at yet: run the task
    assert not replay.replaying(case_no)  # outside a flow run


@task
def _read(case_no: str) -> str:
    return f"read {case_no}"


def test_during_replay_a_read_is_a_plain_call_and_a_write_is_not_made(monkeypatch):
    store = fresh_store()
    case_no = new_case(store)
    open_task(store, case_no, "intake", "run-e")
    calls = []

    @task
    def write(case_no: str) -> None:
        calls.append(case_no)

    read_once, write_once = replay.replayed("read")(_read), replay.replayed("skip")(write)
    monkeypatch.setenv("PREFECT__FLOW_RUN_ID", "run-e")  # prefect.runtime.flow_run.id outside a run
    assert replay.replaying(case_no, store=store)
    assert read_once(case_no) == f"read {case_no}"
    assert write_once(case_no) is None and calls == []
    assert read_once.name == "_read" and read_once.fn is _read.fn  # still the task for everything else
    replay.forget("run-e")
