"""Resume a suspended flow run with a recorded answer, through Prefect's API."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound

from models.answers import ANSWER_MODELS
from models.tables import HumanTask

if TYPE_CHECKING:
    import httpx

    from tasks.platform.store import Store

log = logging.getLogger("kefu.resume")


# The run input of a resume after a link's answer: the answer is in the database already (the flow
# takes it from there); the answer-code field Prefect's schema requires carries this marker, which is
# never a code (tasks/platform/human_codes.py: 8 characters of its alphabet).
LINK_ANSWER = "link"


def run_input_for(task: HumanTask) -> dict:
    model = ANSWER_MODELS[task.answer_model]
    data = {**task.answer, "decision": task.decision, "comment": task.comment or "", "code": LINK_ANSWER}
    # `decided_by` is not in the schema Prefect checks the input against (models/answers.py)
    return {k: v for k, v in data.items() if k in model.model_fields and k != "decided_by"}


def waits_on(pause_key: str | None, step_key: str) -> bool:
    """Is a run paused under this key waiting on this step? After refused Prefect UI answers the
    step waits under `{step_key}--retry{n}` (tasks/human.py `pause_key`)."""
    return bool(pause_key) and (pause_key == step_key or pause_key.startswith(f"{step_key}--retry"))


class PrefectBusy(Exception):
    """Prefect's API answered 503 (its SQLite database was busy)."""


def _fail_fast_on_503(response: httpx.Response) -> None:
    # Prefect's client sleeps 2 s, 4 s … after a 503 — even after its last attempt. Its server on
    # SQLite answers 503 at once when a resume meets the last writes of the run that is just
    # finishing its suspension (measured: most answers of a complaint, +2 s each). Fail fast here
    # instead; the caller tries again within milliseconds.
    if response.status_code == 503:
        raise PrefectBusy(str(response.request.url))


def resume_task_run(task: HumanTask) -> str:
    """Returns 'resumed', 'not-waiting' (the run is not suspended on this step: it will read the
    answer from the database when it gets there), 'busy' (Prefect's API answered 503: try again
    shortly) or 'no-run'. Other refusals (an answer the run's input schema rejects) raise."""

    if not task.flow_run_id:
        return "no-run"
    run_id = UUID(task.flow_run_id)
    hooks = {"event_hooks": {"response": [_fail_fast_on_503]}}
    try:
        with get_client(sync_client=True, httpx_settings=hooks) as client:
            try:
                run = client.read_flow_run(run_id)
            except ObjectNotFound:
                return "no-run"
            state = run.state
            if not state or not state.is_paused() or not waits_on(state.state_details.pause_key, task.step_key):
                return "not-waiting"
            result = client.resume_flow_run(run_id, run_input=run_input_for(task))
    except PrefectBusy:
        return "busy"
    if result.status == SetStateStatus.ACCEPT:
        return "resumed"
    if result.status == SetStateStatus.ABORT:  # not paused any more: resumed meanwhile by someone else
        return "not-waiting"
    raise RuntimeError(f"Prefect refused to resume {task.case_no}/{task.step_key}: "
                       f"{result.status.value} {getattr(result.details, 'reason', '')}")


def resume_when_waiting(store: Store, task_id: int, timeout: float = 90.0, interval: float = 0.25,
                        busy_interval: float = 0.05, resume: Callable[[HumanTask], str] | None = None) -> str:
    """An answer can arrive before its run has finished suspending (the email goes out just before
    the suspension). Keep trying until the run waits on this step, or the run has read the answer
    itself (it marks the task resumed), or `timeout` passes (the watchdog takes over then)."""
    deadline = time.monotonic() + timeout
    busy_wait = busy_interval
    while time.monotonic() < deadline:
        task = store.get_task(task_id)
        if task is None or task.resumed_at is not None:
            return "done"
        try:
            outcome = (resume or resume_task_run)(task)
        except Exception as exc:  # noqa: BLE001 - Prefect briefly unreachable
            log.warning("resume of task %s failed: %s", task_id, exc)
            outcome = "error"
        if outcome == "resumed":
            store.mark_resumed(task_id, datetime.now(timezone.utc))
            return "resumed"
        if outcome == "no-run":
            return outcome
        if outcome == "busy":  # 50 ms, doubling up to the interval: a locked database is not hammered
            time.sleep(busy_wait)
            busy_wait = min(busy_wait * 2, interval)
        else:
            time.sleep(interval)
    return "timeout"
