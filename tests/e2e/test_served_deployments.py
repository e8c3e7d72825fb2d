"""Issue 18: every served deployment works as served. A stack of its own (`kefu up`) with the watchdog
every few seconds; each scheduled deployment is run once through Prefect's API exactly as its schedule
runs it (a flow run of the deployment, no parameters, picked up by the served runner, forked from the
warm process) and must end Completed; the watchdog's own interval runs must complete with none Failed.
A flow whose parameters cannot be validated in a forked run fails here (it did: `sla-watchdog`)."""

import time

import pytest

from deployments import names
from deployments.names import DEPLOYMENTS, SCHEDULED
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

WATCHDOG_EVERY = 4


def runs_of(stack: Stack, deployment_id: str) -> list[dict]:
    r = stack.prefect("POST", "/flow_runs/filter", json={
        "deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": 200})
    assert r.status_code == 200, r.text
    return r.json()


def wait_final(stack: Stack, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    run: dict = {}
    while time.monotonic() < deadline:
        run = stack.prefect_run(run_id)
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} ({run.get('name')}) still {run.get('state', {}).get('type')}")


def test_every_scheduled_deployment_completes_as_served(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    own = Stack.start(home, {"KEFU_WATCHDOG_INTERVAL_SECONDS": str(WATCHDOG_EVERY)})
    try:
        health = own.client.get(f"{own.web}/healthz").json()
        assert health["deployments"] == {"served": len(DEPLOYMENTS), "expected": len(DEPLOYMENTS), "missing": []}

        ids = {}
        for name in SCHEDULED:
            r = own.prefect("GET", f"/deployments/name/{name}")
            assert r.status_code == 200, r.text
            ids[name] = r.json()["id"]
            assert r.json()["schedules"], f"{name} is served without its schedule"
        started = {}
        for name in SCHEDULED:  # as the schedule does: a run of the deployment with its default parameters
            r = own.prefect("POST", f"/deployments/{ids[name]}/create_flow_run", json={})
            assert r.status_code == 201, r.text
            started[name] = r.json()["id"]
        for name, run_id in started.items():
            run = wait_final(own, run_id)
            assert run["state"]["type"] == "COMPLETED", (name, run["state"])
            assert not run["name"].endswith("-None"), (name, run["name"])  # a periodic run names its period

        # the watchdog's own schedule: several interval runs, every one Completed, none Failed
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            runs = [r for r in runs_of(own, ids[names.SLA_WATCHDOG]) if r["id"] != started[names.SLA_WATCHDOG]]
            done = [r for r in runs if r["state"]["type"] == "COMPLETED"]
            bad = [r for r in runs if r["state"]["type"] in ("FAILED", "CRASHED")]
            assert not bad, [(r["name"], r["state"]["message"]) for r in bad]
            if len(done) >= 2:
                break
            time.sleep(1)
        else:
            raise AssertionError(f"the watchdog's schedule did not complete two runs: {[r['state']['type'] for r in runs]}")
        health = own.client.get(f"{own.web}/healthz").json()
        assert health["watchdog"]["status"] == "ok", health
        assert health["watchdog"]["last_completed_age_seconds"] < 3 * WATCHDOG_EVERY + 30, health
    finally:
        own.stop()
