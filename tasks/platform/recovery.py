"""Recovery after a crash of the local system (`kefu up` killed, the machine lost power).

A flow run that was executing when its process died stays RUNNING (or PENDING) in Prefect for
ever: nobody will finish it. On the next start, before the flows are served again, those runs are
put back to SCHEDULED, so the serving process starts them again from the top — safe, because every
step before a suspension is idempotent (one human task and one outbox row per key, decisions read
from the database). Then one watchdog pass delivers what the outbox still holds, resumes runs whose
answer was recorded but not passed on, and starts runs for cases that have none.

Only for the local single-runner system: with several workers (production), a run RUNNING on
another machine is alive; there Prefect's own heartbeat/zombie handling applies."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.states import Scheduled

from tasks.platform.watchdog import sla_check

log = logging.getLogger("kefu.recovery")

INTERRUPTED = ("RUNNING", "PENDING", "CANCELLING")


def reschedule_interrupted_runs() -> list[str]:
    """Every flow run left executing by a crash, back to SCHEDULED. Returns the run names."""

    names: list[str] = []
    with get_client(sync_client=True) as client:
        interrupted = FlowRunFilter(state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType(t) for t in INTERRUPTED])))
        for _page in range(500):  # 200 a page (the API's limit); a rescheduled run leaves the filter
            runs = client.read_flow_runs(flow_run_filter=interrupted, limit=200)
            if not runs:
                break
            for run in runs:
                client.set_flow_run_state(run.id, Scheduled(message="重新启动后恢复 / recovered after a restart"),
                                          force=True)
                names.append(run.name)
    for name in names:
        log.warning("flow run %s was interrupted; rescheduled", name)
    return names


def recover(svc: Any, now: datetime) -> dict[str, Any]:
    rescheduled = reschedule_interrupted_runs()
    counts = sla_check(svc, now, resume_after=timedelta(0))
    return {"rescheduled": rescheduled, **counts}
