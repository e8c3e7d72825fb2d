"""Replay: every resume re-runs a flow from the top, through steps an earlier cycle already did.

A step of an earlier cycle is known by its human task (`tasks.human.acted_on_earlier`: decided,
resumed past, and a later task of the same run exists). Everything a flow does before such a step
ran to completion in that earlier cycle — the later task could not have been opened otherwise. So
until the run reaches its first step that is *not* of an earlier cycle, the bookkeeping tasks need
no task run: reads are called as plain functions (`read`), writes that are already in the database
(`skip`) are not called at all. Correctness never depends on this — every task is idempotent — it
only spares Prefect's server and the flow-run process the task runs of the replay (in a complaint
of ten human steps they were more than half of all task runs).

    @replayed("read")
    @task(...)
    def load_case(case_no): ...

Outside a flow run, or once the run has reached a new step, the task runs as a task."""

from __future__ import annotations

import functools
from typing import Any, Callable, Literal

from prefect import Task

from tasks.platform.runtime import services

Mode = Literal["read", "skip"]

# flow-run id -> True while the run replays steps of earlier cycles (one flow run per process in
# production; in tests several, hence keyed by run)
_replaying: dict[str, bool] = {}


def current_run_id() -> str | None:
    """The flow run this code runs in (None outside one)."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else None


def replaying(case_no: str | None = None, *, run_id: str | None = None, store: Any = None) -> bool:
    """Is this flow run still replaying earlier cycles? Decided on the first call of the run: a run
    that has opened a human task before has earlier cycles to replay."""
    run_id = run_id or current_run_id()
    if run_id is None:
        return False
    if run_id not in _replaying:
        if case_no is None:
            return False  # not known yet: run the task (always safe)
        if store is None:
            store = services().store
        _replaying[run_id] = any(t.flow_run_id == run_id for t in store.tasks_of(case_no))
    return _replaying[run_id]


def reached_new_step(run_id: str | None) -> None:
    """The run has come to a step that is not of an earlier cycle: from here on, tasks run."""
    if run_id:
        _replaying[run_id] = False


def forget(run_id: str | None) -> None:
    """Before the run suspends: the next cycle (a new process, or this one in tests) decides anew."""
    if run_id:
        _replaying.pop(run_id, None)


class ReplayedTask:
    """A Prefect task that, during replay, is called as a plain function (`read`) or not at all
    (`skip`). Everything else (`.fn`, `.submit`, `.name`, …) is the task's."""

    def __init__(self, task: Task, mode: Mode) -> None:
        self.task, self.mode = task, mode
        functools.update_wrapper(self, task.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        case_no = args[0] if args and isinstance(args[0], str) else kwargs.get("case_no")
        if replaying(case_no):
            return self.task.fn(*args, **kwargs) if self.mode == "read" else None
        return self.task(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "task" not in self.__dict__:  # unpickling: not set up yet
            raise AttributeError(name)
        return getattr(self.task, name)


def replayed(mode: Mode) -> Callable[[Task], ReplayedTask]:
    def wrap(task: Task) -> ReplayedTask:
        return ReplayedTask(task, mode)

    return wrap
