"""Intake: a burst of `POST /api/complaints` for `--seconds` (default 60) from `--clients` concurrent
clients on the default local stack (`kefu up`: the embedded PostgreSQL for the app and for Prefect's
server; with KEFU_TEST_SQLITE=1, SQLite for both; with `--postgres`, both on the shared PostgreSQL of
tests/pg.py). Prints the accepted rate, the POST latency
(median, p95) and how long after the burst the last case's flow run was created — checked in
Prefect's API (one run per case, by name) and in the app (every case has its run id).

The intake answers without waiting on Prefect: the run is started by the web app's dispatcher in
the background (tasks/platform/flow_starts.py). The runner is kept from taking the runs (a far poll; limit 0
is not allowed) and Prefect's late-runs service is off (with the runner parked it would rewrite
every run), so the figures are the intake's and the starts', not the flows'.

    .venv/bin/python bench/intake.py [--seconds 60] [--clients 4] [--rate 60] [--postgres] [--deadline 60]

Targets (issue 18): ≥ 50 accepted complaints/s, POST median ≤ 20 ms, every run created within
60 s after the burst. Exits 1 when a target is missed or a case has no run or two.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from common import COMPLAINT, MACHINE, pct, record
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.stack import Stack


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60, help="length of the burst")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients")
    ap.add_argument("--rate", type=float, default=60,
                    help="complaints offered per second, spread over the clients (0: each client posts as fast "
                         "as it is answered — the most the stack accepts, with queueing in the latency)")
    ap.add_argument("--postgres", action="store_true", help="app and Prefect databases on PostgreSQL")
    ap.add_argument("--deadline", type=float, default=60, help="seconds after the burst for every run to exist")
    args = ap.parse_args()
    if args.postgres:
        os.environ["KEFU_TEST_POSTGRES"] = "1"
    from tests.e2e.stack import Stack

    with tempfile.TemporaryDirectory() as tmp:
        # The runner is parked, so Prefect's late-runs service would mark every run Late after
        # 15 s — a write per run that a served stack never makes (its runner takes the run within
        # a poll): off here, so the figures are the intake's and the starts'.
        stack = Stack.start(Path(tmp), extra_env={"KEFU_RUNNER_POLL_SECONDS": "3600", "KEFU_RUNNER_WAKE_ON_EVENTS": "false",
                                                  "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"})
        try:
            ok = run(stack, args)
        finally:
            stack.stop(timeout=120)
    sys.exit(0 if ok else 1)


def run(stack: Stack, args: argparse.Namespace) -> bool:
    results: list[tuple[int, float, float, str]] = []  # (status, latency ms, answered at, case_no)
    lock = threading.Lock()
    go = threading.Event()

    def client_loop(n: int) -> None:
        with httpx.Client(timeout=60, headers={"X-API-Key": stack.authorize()}) as http:
            http.get(f"{stack.web}/healthz")  # connect before the burst
            go.wait()
            i = 0
            interval = args.clients / args.rate if args.rate else 0.0
            next_at = t0 + n * interval / args.clients
            while time.monotonic() < stop_at:
                if interval:  # paced: each client's next complaint is due every `interval` seconds
                    if (wait := next_at - time.monotonic()) > 0:
                        time.sleep(wait)
                    next_at += interval
                i += 1
                t = time.perf_counter()
                r = http.post(f"{stack.web}/api/complaints", json=COMPLAINT,
                              headers={"Idempotency-Key": f"intake-bench-{n}-{i}"})
                dt = (time.perf_counter() - t) * 1000
                case_no = r.json().get("case_no", "") if r.status_code == 201 else ""
                with lock:
                    results.append((r.status_code, dt, time.monotonic(), case_no))

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(args.clients)]
    for th in threads:
        th.start()
    time.sleep(1)
    t0 = time.monotonic()
    stop_at = t0 + args.seconds
    go.set()  # (t0 and stop_at are read by the clients after this)
    for th in threads:
        th.join()
    burst_end = max(r[2] for r in results)
    elapsed = burst_end - t0

    accepted = [r for r in results if r[0] == 201]
    statuses: dict[int, int] = {}
    for code, *_ in results:
        statuses[code] = statuses.get(code, 0) + 1
    latencies = [r[1] for r in accepted]

    # every case's run: Prefect's count of complaint runs, polled until it reaches the cases
    want = len(accepted)
    last_run_at = None
    runs = 0
    while time.monotonic() < burst_end + args.deadline + 120:
        runs = stack.prefect("POST", "/flow_runs/count",
                             json={"flow_runs": {"name": {"like_": "complaint-TS-"}}}).json()
        if runs >= want:
            last_run_at = time.monotonic()
            break
        time.sleep(0.2)
    # then the app: every case has its run id, and Prefect has exactly one run of that name per case
    store = stack.store()
    from sqlmodel import func, select

    from models.tables import Case

    with store.session() as s:
        cases = s.exec(select(func.count()).select_from(Case).where(Case.procedure == "complaint")).one()
        without = s.exec(select(func.count()).select_from(Case).where(
            Case.procedure == "complaint", Case.flow_run_id.is_(None))).one()
    distinct = len({r["name"] for r in _all_runs(stack)})
    after = (last_run_at - burst_end) if last_run_at else None

    rate = want / elapsed
    med, p95 = statistics.median(latencies), pct(latencies, 95)
    backend = ("PostgreSQL (tests/pg.py)" if args.postgres
               else "SQLite (KEFU_TEST_SQLITE)" if os.environ.get("KEFU_TEST_SQLITE", "") not in ("", "0")
               else "embedded PostgreSQL (default stack)")
    offered = f"{args.rate:.0f}/s offered" if args.rate else "as fast as answered"
    print(f"=== intake, {args.clients} clients, {offered}, for {elapsed:.1f} s ({backend}; {MACHINE})")
    print(f"accepted {want} ({rate:.1f}/s); answers {statuses}")
    print(f"POST /api/complaints latency: median {med:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms")
    print(f"flow runs in Prefect: {runs} ({distinct} distinct names); cases {cases}, without a run id {without}")
    print("last run created " + (f"{after:.1f} s after the burst" if after is not None else "NEVER (timed out)"))
    record("intake", "accepted complaints per second", rate, "/s", (">=", 50))
    record("intake", "POST /api/complaints median", med, "ms", ("<=", 20))
    record("intake", "last run created after the burst", after if after is not None else float("inf"), "s",
           ("<=", args.deadline))
    record("intake", "cases without exactly one run", abs(cases - want) + abs(runs - want) + abs(distinct - want)
           + without, "", ("<=", 0))
    ok = (rate >= 50 and med <= 20 and after is not None and after <= args.deadline
          and cases == want == runs == distinct and without == 0)
    print("targets (≥ 50/s, median ≤ 20 ms, every run ≤ %.0f s after, one run per case): %s"
          % (args.deadline, "met" if ok else "MISSED"))
    return ok


def _all_runs(stack: Stack) -> list[dict]:
    """Every complaint run in Prefect (paged by name order)."""
    out: list[dict] = []
    while True:
        page = stack.prefect("POST", "/flow_runs/filter", json={
            "flow_runs": {"name": {"like_": "complaint-TS-"}}, "sort": "NAME_ASC", "limit": 200,
            "offset": len(out)}).json()
        out += page
        if len(page) < 200:
            return out


if __name__ == "__main__":
    main()
