"""How fast Prefect's server creates flow runs — the rate at which the intake's start requests can be
delivered (tasks/platform/flow_starts.py). On a fresh local stack (runner parked, late-runs service off):
`--single` runs one at a time (`PrefectFlowRuns.start`, 1 and 4 in parallel), then `--bulks` calls of
`--size` runs with `PrefectFlowRuns.start_many` (Prefect's bulk endpoint), each call's time printed,
so a stall of the server shows as one long call.

    .venv/bin/python bench/start_rate.py [--single 150] [--bulks 40] [--size 50] [--postgres]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import MACHINE, REPO
from typing import TYPE_CHECKING
from deployments.names import COMPLAINT

if TYPE_CHECKING:
    from tests.e2e.stack import Stack


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--single", type=int, default=150, help="runs created one at a time (per parallelism)")
    ap.add_argument("--bulks", type=int, default=40, help="bulk calls")
    ap.add_argument("--size", type=int, default=50, help="runs per bulk call")
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    if args.postgres:
        os.environ["KEFU_TEST_POSTGRES"] = "1"
    from tests.e2e.stack import Stack

    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack.start(Path(tmp), extra_env={"KEFU_RUNNER_POLL_SECONDS": "3600", "KEFU_RUNNER_WAKE_ON_EVENTS": "false",
                                                  "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"})
        try:
            os.environ["PREFECT_API_URL"] = stack.prefect_api
            os.environ["PREFECT_API_SSL_CERT_FILE"] = str(REPO / "deployments" / "local-api-ca.pem")
            run(stack, args)
        finally:
            stack.stop(timeout=120)


def run(stack: Stack, args: argparse.Namespace) -> None:
    from tasks.platform.flow_runs import PrefectFlowRuns, StartRequest

    flows = PrefectFlowRuns(stack.prefect_api)
    print(f"=== Prefect run creation ({'PostgreSQL' if args.postgres else 'SQLite'}; {MACHINE})")

    def one(key: str) -> str:
        return flows.start(COMPLAINT, key, ["procedure:complaint"], f"complaint-{key}",
                           {"case_no": key}, idempotency_key=key)

    one("warm-up")
    for parallel in (1, 4):
        if not args.single:
            break
        t0 = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(lambda i, p=parallel: one(f"S{p}-{i}"), range(args.single)))
        print(f"one at a time, {parallel} in parallel: {args.single / (time.perf_counter() - t0):.1f} runs/s")
    total, t_all, durations = 0, time.perf_counter(), []
    for b in range(args.bulks):
        reqs = [StartRequest(f"B{b}-{i}", ["procedure:complaint"], f"complaint-B{b}-{i}", {"case_no": f"B{b}-{i}"},
                             f"B{b}-{i}") for i in range(args.size)]
        t0 = time.perf_counter()
        out = flows.start_many(COMPLAINT, reqs)
        durations.append(time.perf_counter() - t0)
        ok = sum(not isinstance(o, Exception) for o in out)
        total += ok
        errors = {str(o).splitlines()[0][:80] for o in out if isinstance(o, Exception)}
        print(f"bulk {b}: {durations[-1]:.2f} s, {ok} created {sorted(errors) if errors else ''}", flush=True)
    if args.bulks:
        elapsed = time.perf_counter() - t_all
        stalls = [d for d in durations if d > 30]
        print(f"bulk: {total} runs in {elapsed:.1f} s ({total / elapsed:.1f} runs/s); calls over 30 s: "
              f"{len(stalls)} ({', '.join(f'{d:.0f} s' for d in stalls)}); without them "
              f"{total / max(0.001, elapsed - sum(stalls)):.1f} runs/s")


if __name__ == "__main__":
    main()
