"""Runs and cases agree (issue 24): an open case whose flow run was deleted, cancelled, crashed or failed
in Prefect is not stranded. Each watchdog pass looks at every open case's run:

- deleted: a new run is started for the case (the flow replays from the top: every step before a
  suspension is idempotent, recorded answers are read from the database);
- cancelled, crashed or failed: a new run of the same deployment, parameters, name and tags replaces it
  (not the old run put back to SCHEDULED: Prefect would take a step it was suspended at as answered);
- after `MAX_RESTARTS` restarts the case is flagged instead (a run that fails again and again needs a
  person): one `run_flagged` event, one mail to the process owner (客服部经理), counted in `/healthz`.

Cancelling a case is a case action (`kefu case cancel`): it closes the case and then cancels its run, so
a closed case's run is never restarted; a run cancelled in Prefect never closes its case."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tasks.platform.render import render_mail
from tasks.platform.runtime import Services
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.tables import Case

log = logging.getLogger("kefu.run_audit")

LOST = ("DELETED", "CANCELLED", "CRASHED", "FAILED")
MAX_RESTARTS = 3
PROCESS_OWNER_ROLE = "cs_manager"
STATE_LABELS = {"DELETED": "已被删除", "CANCELLED": "已被取消", "CRASHED": "已崩溃", "FAILED": "已失败"}


def audit_runs(svc: Services, now: datetime, start: Callable[[Services, Any], str],
               batch: int = 200) -> dict[str, int]:
    """One look at every open case's run; `start(svc, case)` starts a case's run (tasks/platform/watchdog.py)."""
    counts = {"runs_restarted": 0, "runs_flagged": 0}
    cases = svc.store.open_cases_with_run()
    for i in range(0, len(cases), batch):
        part = cases[i:i + batch]
        states = svc.flows.run_states([c.flow_run_id for c in part])
        for case in part:
            state = states.get(case.flow_run_id, "DELETED")
            if state not in LOST:
                continue
            if svc.store.count_events(case.case_no, "run_restarted") >= MAX_RESTARTS:
                counts["runs_flagged"] += flag(svc, case, state, now)
                continue
            try:
                new_run = start(svc, case) if state == "DELETED" else svc.flows.restart(case.flow_run_id)
                svc.store.set_flow_run(case.case_no, new_run)
            except Exception as exc:  # noqa: BLE001 - Prefect unreachable: the next pass
                log.warning("restarting the run of %s failed: %r", case.case_no, exc)
                continue
            svc.store.add_event(case.case_no, "run_restarted", actor="system", now=now,
                                data={"flow_run_id": case.flow_run_id, "state": state, "new_flow_run_id": new_run})
            log.warning("the run of %s was %s; restarted", case.case_no, state.lower())
            counts["runs_restarted"] += 1
    return counts


def flag(svc: Services, case: Case, state: str, now: datetime) -> int:
    """One event and one mail to the process owner per case and run."""
    if not svc.store.add_event_once(case.case_no, "run_flagged", now=now, actor="system",
                                    step_key=case.flow_run_id, data={"flow_run_id": case.flow_run_id, "state": state}):
        return 0
    owners = [p.email for p in svc.org.people_for_role(PROCESS_OWNER_ROLE)]
    mail = render_mail("notice", owners, case_no=case.case_no, title="流程运行异常，需人工处理",
                       message=(f"案件 {case.case_no} 的流程运行{STATE_LABELS[state]}，已自动重启 {MAX_RESTARTS} 次仍未恢复。"
                                "请在 Prefect 界面查看该运行的日志，修复后重新启动，或取消该案件（kefu case cancel）。"),
                       summary={"案件": case.title, "运行": case.flow_run_id, "状态": state})
    svc.store.queue_mail(f"run-flag:{case.case_no}:{case.flow_run_id}", case.case_no, mail, now)
    return 1
