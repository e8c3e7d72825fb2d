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

Once the run has reached a new step, such a bookkeeping task is still no task run of its own (issue
23: a human step is at most three task runs, and Prefect's server spent most of its CPU recording the
small ones): in a flow run it is called in place (`run_inline`) — with the task's own retries and
backoff, and a line in the run's log naming the step (`步骤 更新案件 record state`), so the run's log
still reads as the procedure. Outside a flow run the task runs as a task."""

from __future__ import annotations

import functools
import logging
import random
from typing import Any, Callable, Literal

from prefect import Task, get_run_logger
from prefect.context import FlowRunContext
from prefect.exceptions import MissingContextError
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from tasks.platform.runtime import services

Mode = Literal["read", "skip"]

# flow-run id -> True while the run replays steps of earlier cycles (one flow run per process in
# production; in tests several, hence keyed by run)
_replaying: dict[str, bool] = {}


def current_run_id() -> str | None:
    """The flow run this code runs in (None outside one)."""

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
        return_state = kwargs.pop("return_state", False)
        case_no = args[0] if args and isinstance(args[0], str) else kwargs.get("case_no")
        if replaying(case_no):
            result = self.task.fn(*args, **kwargs) if self.mode == "read" else None
            return _completed(result) if return_state else result
        if in_flow_run():
            return run_inline(self.task, args, kwargs, return_state=return_state)
        return self.task(*args, return_state=return_state, **kwargs) if return_state else self.task(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "task" not in self.__dict__:  # unpickling: not set up yet
            raise AttributeError(name)
        return getattr(self.task, name)


def run_logger() -> logging.Logger | logging.LoggerAdapter:  # the run's logger in a run, else this module's

    try:
        return get_run_logger()
    except MissingContextError:

        return logging.getLogger(__name__)


def in_flow_run() -> bool:

    return FlowRunContext.get() is not None


def _completed(result: Any) -> Any:

    return Completed(data=result)


def retry_delays(task: Task) -> list[float]:
    """The task's waits between tries, as Prefect would make them (its retries, backoff, jitter)."""
    delays = task.retry_delay_seconds
    if not isinstance(delays, list):
        delays = [delays or 0] * task.retries
    delays = (list(delays) + [delays[-1] if delays else 0] * task.retries)[:task.retries]
    jitter = task.retry_jitter_factor or 0
    return [d * (1 + random.uniform(-jitter, jitter)) if jitter else d for d in delays]


def _wait(seconds: float) -> None:
    """The wait before the next try, on the services' clock (the tests' fake clock moves on at once)."""
    if seconds > 0:
        services().clock.sleep(seconds)


def run_inline(task: Task, args: tuple, kwargs: dict[str, Any], *, return_state: bool = False) -> Any:
    """A bookkeeping task of a flow run, called in place: tried again after the task's backoff as
    often as it would be retried, its name in the run's log. With `return_state`, the outcome as a
    Prefect state (failed after the last try) instead of raising."""
    log = run_logger()
    log.info("步骤 %s", task.name)
    for wait in [*retry_delays(task), None]:
        try:
            result = task.fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - what Prefect retries, retried here
            if wait is None:
                if return_state:

                    log.warning("步骤 %s failed: %s: %s", task.name, type(exc).__name__, exc)
                    return Failed(message=f"{type(exc).__name__}: {exc}")
                raise
            log.warning("步骤 %s: %s: %s; again in %.1f s", task.name, type(exc).__name__, exc, wait)
            _wait(wait)
        else:
            return _completed(result) if return_state else result
    raise AssertionError("unreachable")


def replayed(mode: Mode) -> Callable[[Task], ReplayedTask]:
    def wrap(task: Task) -> ReplayedTask:
        return ReplayedTask(task, mode)

    return wrap
