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


# ---- bookkeeping in place (issue 23): no task run, the task's retries kept -------------------------
def _flaky(fails: int):
    calls = []

    @task(name="更新案件 record state", retries=2, retry_delay_seconds=[0, 0])
    def step(case_no: str) -> str:
        calls.append(case_no)
        if len(calls) <= fails:
            raise ConnectionError("database hiccup")
        return f"done {case_no}"

    return step, calls


def test_in_place_a_bookkeeping_task_is_tried_again_as_its_retries_say(caplog):
    step, calls = _flaky(fails=2)
    with caplog.at_level("INFO", logger="tasks.replay"):
        assert replay.run_inline(step, ("TS-1",), {}) == "done TS-1"
    assert calls == ["TS-1"] * 3  # two failures, the third try succeeds: retries=2
    assert "步骤 更新案件 record state" in caplog.text  # the run's log still names the step


def test_in_place_a_task_failing_after_its_last_retry_raises_or_returns_a_failed_state():
    step, calls = _flaky(fails=10)
    try:
        replay.run_inline(step, ("TS-1",), {})
    except ConnectionError:
        pass
    else:
        raise AssertionError("the last failure must raise")
    assert len(calls) == 3
    state = replay.run_inline(step, ("TS-2",), {}, return_state=True)
    assert state.is_failed() and "database hiccup" in state.message
    assert replay.run_inline(_flaky(fails=0)[0], ("TS-3",), {}, return_state=True).result() == "done TS-3"


def test_the_waits_between_tries_are_the_tasks_backoff():
    from tasks.platform.policy import IO_TASK

    @task(**IO_TASK)
    def io(case_no: str) -> None: ...

    waits = replay.retry_delays(io)
    assert len(waits) == IO_TASK["retries"] == 3
    for wait, base in zip(waits, (1, 2, 4), strict=True):  # exponential backoff, ±20 % jitter
        assert base * 0.8 <= wait <= base * 1.2
