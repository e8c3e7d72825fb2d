"""Intake: sustained `POST /api/complaints` for `--seconds` (default 60) from `--clients` concurrent
clients on the local stack; accepted per second, latency, cases created and flow runs started (the
cases' flow runs as Prefect counts them). Runs on PostgreSQL (tests/pg.py) unless `--sqlite`:
Prefect's server on SQLite loses runs under bursts.

    .venv/bin/python bench/intake.py [--seconds 60] [--clients 4] [--sqlite]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx

from common import COMPLAINT, MACHINE, describe


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--sqlite", action="store_true")
    args = ap.parse_args()
    if not args.sqlite:
        os.environ["KEFU_TEST_POSTGRES"] = "1"
    from tests.e2e.stack import Stack

    with tempfile.TemporaryDirectory() as tmp:
        # the runner is stopped from taking the runs (limit 0 is not allowed; a far poll does it) so
        # the figure is the intake's; each started run is a Scheduled flow run of its deployment
        stack = Stack.start(Path(tmp), extra_env={"KEFU_RUNNER_POLL_SECONDS": "3600"})
        try:
            run(stack, args)
        finally:
            stack.stop(timeout=120)


def run(stack, args) -> None:  # noqa: ANN001
    results: list[tuple[int, float, str]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds

    def client_loop(n: int) -> None:
        with httpx.Client(timeout=60) as http:
            i = 0
            while time.monotonic() < stop_at:
                i += 1
                t = time.perf_counter()
                r = http.post(f"{stack.web}/api/complaints", json=COMPLAINT,
                              headers={"Idempotency-Key": f"intake-bench-{n}-{i}"})
                dt = (time.perf_counter() - t) * 1000
                run_id = r.json().get("flow_run_id") if r.status_code == 201 else None
                with lock:
                    results.append((r.status_code, dt, run_id or ""))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0

    accepted = [r for r in results if r[0] == 201]
    with_run = [r for r in accepted if r[2]]
    cases = stack.client.get(f"{stack.web}/api/cases", params={"procedure": "complaint", "limit": 1}).json()["total"]
    runs = stack.prefect("POST", "/flow_runs/count",
                         json={"flow_runs": {"name": {"like_": "complaint-TS-"}}}).json()
    statuses: dict[int, int] = {}
    for code, _, _ in results:
        statuses[code] = statuses.get(code, 0) + 1
    print(f"=== intake, {args.clients} clients for {elapsed:.0f}s ({'SQLite' if args.sqlite else 'PostgreSQL'}; {MACHINE})")
    print(f"accepted {len(accepted)} ({len(accepted) / elapsed:.1f}/s); answers {statuses}")
    print(f"latency of POST /api/complaints (ms): {describe([r[1] for r in accepted], 'ms')}")
    print(f"cases created: {cases}; flow runs started (API answered a run id): {len(with_run)}; "
          f"complaint flow runs in Prefect: {runs}")
    assert cases == len(accepted) == len(with_run) == runs, "a case without its flow run"


if __name__ == "__main__":
    main()
