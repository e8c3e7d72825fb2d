"""Resume a suspended flow run with a recorded answer, through Prefect's API."""

from __future__ import annotations

import logging
from uuid import UUID

from models.answers import ANSWER_MODELS
from models.tables import HumanTask

log = logging.getLogger("kefu.resume")


def run_input_for(task: HumanTask) -> dict:
    model = ANSWER_MODELS[task.answer_model]
    data = {**task.answer, "decision": task.decision, "comment": task.comment or "",
            "decided_by": task.decided_by or ""}
    return {k: v for k, v in data.items() if k in model.model_fields}


def resume_task_run(task: HumanTask) -> str:
    """Returns 'resumed', 'not-waiting' (the run is not suspended on this step: it will read the
    answer from the database when it gets there) or 'no-run'."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.flow_runs import resume_flow_run

    if not task.flow_run_id:
        return "no-run"
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(task.flow_run_id))
        except ObjectNotFound:
            return "no-run"
    state = run.state
    if not state or not state.is_paused() or state.state_details.pause_key != task.step_key:
        return "not-waiting"
    try:
        resume_flow_run(UUID(task.flow_run_id), run_input=run_input_for(task))
    except Exception as exc:  # noqa: BLE001 - NotPausedError: resumed meanwhile by someone else
        if type(exc).__name__ == "NotPausedError":
            return "not-waiting"
        raise
    return "resumed"


def resume_when_waiting(store, task_id: int, timeout: float = 90.0, interval: float = 0.25) -> str:  # noqa: ANN001
    """An answer can arrive before its run has finished suspending (the email goes out just before
    the suspension). Keep trying until the run waits on this step, or the run has read the answer
    itself (it marks the task resumed), or `timeout` passes (the watchdog takes over then)."""
    import time
    from datetime import datetime, timezone

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = store.get_task(task_id)
        if task is None or task.resumed_at is not None:
            return "done"
        try:
            outcome = resume_task_run(task)
        except Exception as exc:  # noqa: BLE001 - Prefect briefly unreachable
            log.warning("resume of task %s failed: %s", task_id, exc)
            outcome = "error"
        if outcome == "resumed":
            store.mark_resumed(task_id, datetime.now(timezone.utc))
            return "resumed"
        if outcome == "no-run":
            return outcome
        time.sleep(interval)
    return "timeout"
