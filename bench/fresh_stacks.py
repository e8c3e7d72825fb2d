"""Fresh stacks (issue 18, item 4): does the embedded default stall or lose runs under a burst?

Starts N fresh `kefu up` stacks one after another — a new KEFU_HOME and free ports each
(tests/e2e/stack.py), no database URL set, so the embedded default of `kefu up` — and, the moment a
stack is ready, POSTs a burst of 100 sample requests (the body of tests/e2e/test_sample_request.py)
from 16 clients. While the burst runs and until every case's first email (to the marketing leader,
"{case} 部门负责人审批") is at the SMTP sink, a prober GETs Prefect's /api/health every 0.5 s.
Per stack it counts:

- stalls > 5 s: POSTs and Prefect API calls (the health probes) that took longer than 5 s;
- lost runs: cases with no flow run (none in the POST's answer nor later in /api/cases/{no}), or no
  first email within `--bound` seconds after the burst;
- the time from the first POST until every first email had arrived;
- "database is locked" lines in the stack's logs; the peak of the summed RSS of the stack's processes
  (shared memory counted in every process that maps it) and of their summed PSS (counted once), of
  which the embedded PostgreSQL's processes; the time `kefu up` took to stop.

Then prints a table and the medians.

    .venv/bin/python bench/fresh_stacks.py --stacks 5 [--database postgres|sqlite] [--burst 100]

`--database` sets KEFU_EMBEDDED_DATABASE for the stacks (the setting is ignored by versions without it).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MACHINE, record  # noqa: E402
from load_burst import MemorySampler, descendants  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

STALL = 5.0
SAMPLE = {"customer": "苏州锦华服饰有限公司", "product": "32S 精梳棉纱", "spec": "32S/1 精梳",
          "size_class": "half", "quantity": 2, "reason": "客户试织，联系人电话 13812345678"}
FIRST_SUBJECT = "部门负责人审批"


@dataclass
class Result:
    n: int
    ready_s: float = 0.0
    post_s: list[float] = field(default_factory=list)
    post_errors: list[str] = field(default_factory=list)
    probe_s: list[float] = field(default_factory=list)
    probe_errors: int = 0
    cases: dict[str, str | None] = field(default_factory=dict)  # case_no → flow_run_id
    first_mail_at: dict[str, float] = field(default_factory=dict)  # case_no → s after the first POST
    all_mail_s: float | None = None
    no_run: list[str] = field(default_factory=list)
    no_mail: list[str] = field(default_factory=list)
    locked_lines: int = 0
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    peak_pg_pss_mb: float = 0.0
    stop_s: float = 0.0
    stop_rc: int | None = None
    failure: str = ""

    @property
    def post_stalls(self) -> int:
        return sum(1 for t in self.post_s if t > STALL)

    @property
    def probe_stalls(self) -> int:
        return sum(1 for t in self.probe_s if t > STALL)

    @property
    def stalls(self) -> int:
        return self.post_stalls + self.probe_stalls

    @property
    def lost(self) -> int:
        return len(set(self.no_run) | set(self.no_mail)) + len(self.post_errors)


class PssSampler(threading.Thread):
    """Every second: the proportional set size (shared pages divided among their sharers, so PostgreSQL's
    shared memory counts once) of the stack's processes, and of its PostgreSQL processes alone."""

    def __init__(self, root: int, result: Result) -> None:
        super().__init__(daemon=True)
        self.root, self.result, self.stop = root, result, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            total = pg = 0
            for pid in descendants(self.root):
                try:
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                kb = next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
                total += kb
                if b"/pginstall/bin/postgres" in cmd or cmd.startswith(b"postgres:"):
                    pg += kb
            self.result.peak_pss_mb = max(self.result.peak_pss_mb, total / 1024)
            self.result.peak_pg_pss_mb = max(self.result.peak_pg_pss_mb, pg / 1024)
            self.stop.wait(1.0)


class Prober(threading.Thread):
    """GET Prefect's /api/health every 0.5 s; each call's duration (a call that never answers counts
    as the time it waited)."""

    def __init__(self, api: str, result: Result) -> None:
        super().__init__(daemon=True)
        self.api, self.result, self.stop = api, result, threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=120) as client:
            while not self.stop.is_set():
                t = time.monotonic()
                try:
                    ok = client.get(f"{self.api}/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.result.probe_s.append(time.monotonic() - t)
                self.result.probe_errors += 0 if ok else 1
                self.stop.wait(max(0.0, 0.5 - (time.monotonic() - t)))


def one_stack(n: int, database: str, burst: int, clients: int, bound: float, keep: bool) -> Result:
    res = Result(n=n)
    home = Path(tempfile.mkdtemp(prefix=f"kefu-fresh-{n}-"))
    t0 = time.monotonic()
    try:
        stack = Stack.start(home, extra_env={"KEFU_EMBEDDED_DATABASE": database}, timeout=300)
    except RuntimeError as exc:
        res.failure = f"start failed: {str(exc)[-300:]}"
        return res
    res.ready_s = time.monotonic() - t0
    # not the e2e client, which keeps every response; the same API key
    stack.client = httpx.Client(timeout=120, headers={"X-API-Key": stack.authorize()})
    sampler = MemorySampler(stack.proc.pid)
    threading.Thread(target=sampler.run, daemon=True).start()
    pss = PssSampler(stack.proc.pid, res)
    pss.start()
    prober = Prober(stack.prefect_api, res)
    prober.start()
    client = httpx.Client(timeout=120, limits=httpx.Limits(max_connections=clients * 2),
                          headers={"X-API-Key": stack.authorize()})  # the intake's API key (issue 24)
    start = time.monotonic()

    def post(i: int) -> None:
        t = time.monotonic()
        try:
            r = client.post(f"{stack.web}/api/sample-requests", json={**SAMPLE, "quantity": 1 + i % 5},
                            headers={"Idempotency-Key": f"fresh-{n}-{i}"})
        except httpx.HTTPError as exc:
            res.post_s.append(time.monotonic() - t)
            res.post_errors.append(f"#{i}: {type(exc).__name__}")
            return
        res.post_s.append(time.monotonic() - t)
        if r.status_code != 201:
            res.post_errors.append(f"#{i}: {r.status_code} {r.text[:120]}")
            return
        body = r.json()
        res.cases[body["case_no"]] = body.get("flow_run_id")

    try:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(post, range(burst)))
        burst_end = time.monotonic()
        since = 0
        while time.monotonic() < burst_end + bound:
            try:
                new = stack.client.get(f"{stack.web}/dev/mail.json", params={"since_id": since}).json()
            except httpx.HTTPError:
                new = []
            for m in new:
                since = max(since, m["id"])
                for case_no in res.cases:
                    if f"{case_no} {FIRST_SUBJECT}" in m["subject"] and case_no not in res.first_mail_at:
                        res.first_mail_at[case_no] = time.monotonic() - start
            if res.cases and len(res.first_mail_at) == len(res.cases):
                res.all_mail_s = max(res.first_mail_at.values())
                break
            time.sleep(0.5)
        prober.stop.set()
        prober.join(timeout=130)
        for case_no, run_id in res.cases.items():
            if not run_id:
                try:
                    run_id = stack.client.get(f"{stack.web}/api/cases/{case_no}").json().get("flow_run_id")
                except httpx.HTTPError:
                    run_id = None
                res.cases[case_no] = run_id
            if not run_id:
                res.no_run.append(case_no)
            if case_no not in res.first_mail_at:
                res.no_mail.append(case_no)
    finally:
        prober.stop.set()
        sampler.stop.set()
        pss.stop.set()
        res.peak_rss_mb = sampler.peak_total_kb / 1024
        t = time.monotonic()
        try:
            res.stop_rc = stack.stop(timeout=60)
        except Exception as exc:  # noqa: BLE001 - reported
            res.failure = f"stop: {exc}"
        res.stop_s = time.monotonic() - t
        for log in (home / "logs").glob("*.log"):
            res.locked_lines += log.read_text(errors="replace").count("database is locked")
        if not keep and not res.failure and not res.lost and not res.stalls:
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"  stack {n}: home kept at {home}", flush=True)
    return res


def fmt(x: float | None, spec: str = ".1f") -> str:
    return "—" if x is None else format(x, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stacks", type=int, default=5)
    ap.add_argument("--database", choices=("postgres", "sqlite"), default="postgres",
                    help="KEFU_EMBEDDED_DATABASE of the stacks")
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--clients", type=int, default=16, help="parallel HTTP clients of the burst")
    ap.add_argument("--bound", type=float, default=300, help="s after the burst a first email may take")
    ap.add_argument("--keep", action="store_true", help="keep every stack's KEFU_HOME")
    args = ap.parse_args()
    print(f"=== fresh stacks, {args.stacks} × burst of {args.burst} sample requests, embedded "
          f"{args.database}; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {MACHINE}", flush=True)
    results = []
    for n in range(1, args.stacks + 1):
        load = Path("/proc/loadavg").read_text().split()[:3]
        r = one_stack(n, args.database, args.burst, args.clients, args.bound, args.keep)
        results.append(r)
        print(f"stack {n}: load before {' '.join(load)}; ready {r.ready_s:.1f} s; cases {len(r.cases)}; "
              f"stalls {r.post_stalls} POST + {r.probe_stalls} health; lost {r.lost}; all first emails "
              f"{fmt(r.all_mail_s)} s; {r.failure}", flush=True)
        for e in r.post_errors[:5]:
            print("   POST error", e, flush=True)
    print()
    head = ("| stack | ready s | POST median s | POST max s | POSTs > 5 s | health max s | health > 5 s "
            "| no run | no 1st email | lost | all 1st emails s | 'database is locked' | peak RSS MB | peak PSS MB "
            "(of it PostgreSQL) | stop s |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in results:
        if r.failure and not r.cases:
            print(f"| {r.n} | {r.failure} |")
            continue
        print(f"| {r.n} | {r.ready_s:.1f} | {statistics.median(r.post_s):.2f} | {max(r.post_s):.2f} "
              f"| {r.post_stalls} | {max(r.probe_s, default=0):.2f} | {r.probe_stalls} | {len(r.no_run)} "
              f"| {len(r.no_mail)} | {r.lost} | {fmt(r.all_mail_s)} | {r.locked_lines} | {r.peak_rss_mb:.0f} "
              f"| {r.peak_pss_mb:.0f} ({r.peak_pg_pss_mb:.0f}) | {r.stop_s:.1f} |")
    ok = [r for r in results if r.post_s]
    if ok:
        med = statistics.median
        print(f"| median | {med(r.ready_s for r in ok):.1f} | {med(med(r.post_s) for r in ok):.2f} "
              f"| {med(max(r.post_s) for r in ok):.2f} | {med(r.post_stalls for r in ok):g} "
              f"| {med(max(r.probe_s, default=0) for r in ok):.2f} | {med(r.probe_stalls for r in ok):g} "
              f"| {med(len(r.no_run) for r in ok):g} | {med(len(r.no_mail) for r in ok):g} "
              f"| {med(r.lost for r in ok):g} "
              f"| {fmt(med(r.all_mail_s for r in ok) if all(r.all_mail_s for r in ok) else None)} "
              f"| {med(r.locked_lines for r in ok):g} | {med(r.peak_rss_mb for r in ok):.0f} "
              f"| {med(r.peak_pss_mb for r in ok):.0f} ({med(r.peak_pg_pss_mb for r in ok):.0f}) "
              f"| {med(r.stop_s for r in ok):.1f} |")
    bad = [r for r in results if r.stalls or r.lost or r.failure]
    record("fresh_stacks", f"stacks with a stall > 5 s or a lost run ({len(results)} × burst of {args.burst})",
           len(bad), "", ("<=", 0))
    print(f"\nstacks with a stall > 5 s: {sum(1 for r in results if r.stalls)} of {len(results)}; "
          f"with a lost run: {sum(1 for r in results if r.lost)} of {len(results)}; "
          f"load average now {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
