"""What `/healthz` reports, part by part: the database, Prefect's API, the deployments served (n of n),
the mail outbox's backlog, and the age of the watchdog's last completed run.

- `unavailable` (503): the database or Prefect's API does not answer;
- `starting` (503): a deployment is not served yet (no runner or worker polls for it) — `kefu up`
  says `ready` only once every deployment is served and the runner is polling;
- `degraded` (200): working, but the watchdog has not completed a run for 3 of its intervals, or
  mail has waited in the outbox longer than that or was dead-lettered, or a case's run is lost for
  good (`flagged_cases`), or a case has waited more than 60 s for its run (`starts`);
- `ok` (200)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from deployments.names import DEPLOYMENTS, SLA_WATCHDOG
from tasks.platform.runtime import Services

Status = Literal["ok", "degraded", "starting", "unavailable"]


class DeploymentsHealth(BaseModel):
    served: int
    expected: int
    missing: list[str]


class OutboxHealth(BaseModel):
    status: Literal["ok", "degraded"]
    unsent: int
    oldest_age_seconds: float | None
    dead_letters: int = 0  # given up on after KEFU_MAIL_MAX_ATTEMPTS (event `mail_dead_lettered` on the case)


class StartsHealth(BaseModel):
    """Flow-run start requests not yet delivered (tasks/platform/flow_starts.py)."""

    status: Literal["ok", "degraded"]
    pending: int
    oldest_age_seconds: float | None
    failing: int
    oldest_last_error: str | None = None


class WatchdogHealth(BaseModel):
    status: Literal["ok", "degraded", "pending"]
    interval_seconds: int
    last_completed_age_seconds: float | None


class Health(BaseModel):
    status: Status
    web: str = "ok"
    database: str
    prefect: str
    deployments: DeploymentsHealth | None = None
    outbox: OutboxHealth | None = None
    starts: StartsHealth | None = None
    watchdog: WatchdogHealth | None = None
    flagged_cases: list[str] = []  # open cases whose run the watchdog gave up restarting (tasks/platform/run_audit.py)
    # roles of procedures §7 nobody holds (an org file written before them): the steps needing them refuse
    roles_not_held: list[str] = []


def _error(exc: Exception) -> str:
    return f"error: {type(exc).__name__}: {exc}"[:300]


def check_health(svc: Services, now: datetime, started_at: datetime) -> Health:
    """One look at every part. `started_at`: when this web app started (a watchdog that never ran
    is `pending` for its first 3 intervals, then `degraded`)."""
    late = timedelta(seconds=3 * svc.settings.watchdog_interval_seconds)
    parts: dict[str, Any] = {"database": "ok", "prefect": "ok", "roles_not_held": svc.org.roles_not_held()}
    try:
        count, oldest = svc.store.outbox_backlog()
        age = (now - oldest).total_seconds() if oldest else None
        dead = svc.store.dead_letter_count()
        old = age is not None and age > late.total_seconds()
        parts["outbox"] = OutboxHealth(status="degraded" if old or dead else "ok", unsent=count,
                                       oldest_age_seconds=age, dead_letters=dead)
        parts["flagged_cases"] = svc.store.flagged_open_cases()
        p = svc.store.pending_flow_starts(now)
        age = p["oldest_age_seconds"]
        parts["starts"] = StartsHealth(status="degraded" if age is not None and age > 60 else "ok", pending=p["count"],
                                       oldest_age_seconds=age, failing=p["failing"],
                                       oldest_last_error=p["oldest_last_error"])
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        parts["database"] = _error(exc)
    try:
        served = svc.flows.served_deployments(DEPLOYMENTS)
        parts["deployments"] = DeploymentsHealth(served=len(served), expected=len(DEPLOYMENTS),
                                                 missing=[d for d in DEPLOYMENTS if d not in served])
        last = svc.flows.last_completed(SLA_WATCHDOG)
        age = (now - last).total_seconds() if last else None
        if last is not None:
            status = "degraded" if now - last > late else "ok"
        else:
            status = "degraded" if now - started_at > late else "pending"
        parts["watchdog"] = WatchdogHealth(status=status, interval_seconds=svc.settings.watchdog_interval_seconds,
                                           last_completed_age_seconds=age)
    except Exception as exc:  # noqa: BLE001
        parts["prefect"] = _error(exc)
    if parts["database"] != "ok" or parts["prefect"] != "ok":
        status: Status = "unavailable"
    elif parts["deployments"].missing:
        status = "starting"
    elif parts["watchdog"].status == "degraded" or parts["outbox"].status == "degraded" or parts["flagged_cases"] \
            or parts["starts"].status == "degraded":
        status = "degraded"
    else:
        status = "ok"
    return Health(status=status, **parts)


def http_status(health: Health) -> int:
    return 200 if health.status in ("ok", "degraded") else 503
