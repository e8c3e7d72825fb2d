"""Persist: the case record and its audit trail, as Prefect tasks (retried on database hiccups)."""

from __future__ import annotations

from typing import Any

from prefect import task

from models.privacy import mask_data
from tasks.platform.runtime import services
from tasks.platform.policy import IO_TASK
from tasks.replay import replayed


@replayed("read")
@task(name="读取案件 load case", **IO_TASK)
def load_case(case_no: str) -> dict[str, Any]:
    case = services().store.get_case(case_no)
    return {"case_no": case.case_no, "state": case.state, "level": case.level, "title": case.title,
            "requested_by": case.requested_by, "data": case.data, "parent": case.parent_case_no}


@replayed("skip")
@task(name="更新案件 record state", **IO_TASK)
def record_state(case_no: str, state: str, kind: str, actor: str | None = None,
                 data: dict[str, Any] | None = None, level: int | None = None, closed: bool = False,
                 event_data: dict[str, Any] | None = None) -> None:
    """Record a step of the procedure once: a re-run of the flow from the top (after a resume)
    neither sets the case back to an earlier state nor repeats the event."""
    svc = services()
    svc.store.update_case_once(case_no, actor=actor, kind=kind, now=svc.clock.now(), state=state, level=level,
                               data=data, closed=closed, event_data=event_data)


@task(name="更新处理单 publish form", **IO_TASK)
def publish_form(case_no: str, markdown: str, key: str) -> None:
    """Keep the case's form current as a Prefect markdown artifact (personal data masked)."""
    services().artifacts.markdown(key, mask_data(markdown), f"{case_no} (personal data masked)")
