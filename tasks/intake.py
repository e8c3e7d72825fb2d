"""Start a case's flow run from its deployment (used by the web API, the CLI and the watchdog)."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("kefu.intake")


def start_flow_run(deployment: str, case_no: str, tags: list[str], run_name: str,
                   parameters: dict | None = None, attempts: int = 4) -> str:
    """Create the flow run (name and tags carry the case) and return its id. Retries with backoff."""
    from prefect.deployments import run_deployment

    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            run = run_deployment(name=deployment, parameters=parameters or {"case_no": case_no},
                                 flow_run_name=run_name, timeout=0, tags=tags, as_subflow=False,
                                 idempotency_key=f"{deployment}:{case_no}")
            return str(run.id)
        except Exception as exc:  # noqa: BLE001 - Prefect API unreachable: back off and retry
            if attempt == attempts:
                raise
            log.warning("starting %s for %s failed (%s); retrying", deployment, case_no, exc)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")
