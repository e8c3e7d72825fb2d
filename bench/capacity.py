"""Capacity: N cases (default 10,000) open and waiting on a person at once, on the local stack on
PostgreSQL (tests/pg.py: a throwaway server; both the application's and Prefect's databases).

The waiting cases are made in bulk through the same code paths as a real one, without running a
flow process per case: the intake (`file_sample_request`), the human task with its email in the
outbox (`open_human_task`), and a flow run of the sample-request deployment in the state a real run
leaves when it suspends on its first step (Suspended, pause key `leader-approval`, the answer's
schema saved as its run input). Then:

- the serving processes (`kefu up` and its children: Prefect server, serve, web, SMTP sink):
  resident memory, threads and processes before and after — flat means no process or thread per
  waiting case;
- `GET /api/cases/{no}` on a random sample (p95 target ≤ 100 ms), the case list, the dev mailbox
  page and Prefect's API (the UI's own calls) for paused runs;
- one of the bulk cases is answered through its emailed link: the run resumes from the top and the
  next approver's email arrives (the waiting runs are real).

    .venv/bin/python bench/capacity.py [--cases 10000] [--sample 500] [--sqlite]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from common import MACHINE, describe, pct, record
from typing import TYPE_CHECKING
from deployments.names import SAMPLE_REQUEST

if TYPE_CHECKING:
    from uuid import UUID
    from prefect.client.orchestration import SyncPrefectClient
    from tasks.platform.runtime import Services
    from tests.e2e.stack import Stack

SAMPLE = {"customer": "容量测试客户", "product": "32S 精梳棉纱", "spec": "32S/1", "size_class": "half",
          "quantity": 1, "reason": "capacity"}


# ---- the serving processes ---------------------------------------------------------------
def tree(root: int) -> list[int]:
    from tests.e2e.test_local_stack import descendants

    return [root, *descendants(root)]


def footprint(root: int) -> dict:
    procs = []
    for pid in tree(root):
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                          if ":" in line)
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:90]
        except OSError:
            continue
        procs.append({"pid": pid, "rss_mb": int(status["VmRSS"].split()[0]) / 1024,
                      "threads": int(status["Threads"]), "cmd": cmd})
    return {"processes": len(procs), "threads": sum(p["threads"] for p in procs),
            "rss_mb": sum(p["rss_mb"] for p in procs), "procs": procs}


def show(label: str, fp: dict) -> None:
    print(f"{label}: {fp['processes']} processes, {fp['threads']} threads, RSS {fp['rss_mb']:.0f} MB")
    for p in sorted(fp["procs"], key=lambda p: -p["rss_mb"]):
        print(f"    {p['rss_mb']:7.1f} MB {p['threads']:4d} thr  {p['cmd']}")


PARTS = {"intake": 0.0, "prefect": 0.0, "task": 0.0}
TAKEN_BY_WATCHDOG: list[str] = []  # cases whose start request the watchdog's dispatcher took first


# ---- making waiting cases -----------------------------------------------------------------
def make_waiting(svc: Services, client: SyncPrefectClient, deployment_id: UUID, n: int, workers: int) -> list[str]:
    from prefect.client.schemas.objects import StateType
    from prefect.input.run_input import keyset_from_paused_state
    from prefect.states import Suspended

    from flows.samples.request import sample_summary
    from models.answers import ANSWER_MODELS
    from models.samples import SampleRequestIn
    from tasks.cases import load_case
    from tasks.human import StepRequest, open_human_task
    from tasks.samples.intake import file_sample_request

    body = SampleRequestIn(**SAMPLE)
    model = ANSWER_MODELS["Decision"]

    def one(_i: int) -> str:
        t = time.perf_counter()
        case, _ = file_sample_request(svc, body)
        PARTS["intake"] += time.perf_counter() - t
        t = time.perf_counter()
        # the case's start request is this bench's to deliver (the stack's dispatcher is off; the
        # watchdog's, once a minute, may still take one first — then its run, with the same
        # idempotency key, is the case's, started and suspended by the runner like any new case's)
        mine = svc.store.claim_flow_starts(svc.clock.now(), lease=timedelta(hours=2), case_no=case.case_no)
        state = Suspended(timeout_seconds=None, pause_key="leader-approval")
        keyset = keyset_from_paused_state(state)
        state.state_details.run_input_keyset = keyset
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"case_no": case.case_no}, name=f"sample-request-{case.case_no}",
            tags=["procedure:sample-request", "size:half"], state=state if mine else None,
            idempotency_key=case.case_no)  # the dispatcher's key: one run per case whoever starts it
        if mine:
            assert run.state.type == StateType.PAUSED, run.state
            model.save(keyset, flow_run_id=run.id)
            svc.store.flows_started([(mine[0].id, case.case_no, str(run.id))], svc.clock.now())
        PARTS["prefect"] += time.perf_counter() - t
        if not mine:  # the real run opens its human task itself
            TAKEN_BY_WATCHDOG.append(case.case_no)
            return case.case_no
        t = time.perf_counter()
        open_human_task.fn(StepRequest(case_no=case.case_no, step_key="leader-approval",
                                       title="部门负责人审批《取样出门审批单》", role="marketing_leader",
                                       requested_by=case.requested_by, flow_run_id=str(run.id),
                                       summary=sample_summary(load_case.fn(case.case_no))))
        PARTS["task"] += time.perf_counter() - t
        return case.case_no

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(n)))


def timed_gets(http: httpx.Client, urls: list[str]) -> list[float]:
    out = []
    for url in urls:
        t0 = time.perf_counter()
        r = http.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:200])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--sample", type=int, default=500)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = ap.parse_args()
    if not args.sqlite:
        os.environ["KEFU_TEST_POSTGRES"] = "1"
    from tests.e2e.stack import Stack

    with tempfile.TemporaryDirectory() as tmp:
        # the web app's start dispatcher off: the bench delivers its cases' start requests itself
        stack = Stack.start(Path(tmp), extra_env={"KEFU_FLOW_START_IN_WEB": "false"})
        stack.client = httpx.Client(timeout=60, headers={"X-API-Key": stack.authorize()})
        try:
            run(stack, args)
        finally:
            stack.stop(timeout=120)


def run(stack: Stack, args: argparse.Namespace) -> None:
    for k, v in stack.env.items():  # this process files the cases like the web app would
        if k.startswith("KEFU_"):
            os.environ[k] = v
    os.environ["PREFECT_API_URL"] = stack.prefect_api
    from prefect.client.orchestration import get_client

    import flows  # noqa: F401 - registers every procedure with the platform (as the web app does)
    from tasks.platform.runtime import services

    svc = services()
    http = httpx.Client(timeout=60, headers={"X-API-Key": stack.authorize()})  # the API key (issue 24)
    web = stack.web
    # warm up, then the footprint with nothing waiting
    timed_gets(http, [f"{web}/api/cases?limit=1", f"{web}/dev/mail"] * 5)
    time.sleep(3)
    before = footprint(stack.proc.pid)
    show("before", before)

    t0 = time.perf_counter()
    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(SAMPLE_REQUEST)
        cases = make_waiting(svc, client, dep.id, args.cases, args.workers)
    made = time.perf_counter() - t0
    print(f"made {len(cases)} waiting cases in {made:.0f}s ({len(cases) / made:.0f}/s); time in "
          + ", ".join(f"{k} {v:.0f}s" for k, v in PARTS.items())
          + f"; {len(TAKEN_BY_WATCHDOG)} started by the watchdog's dispatcher instead (real runs)", flush=True)

    time.sleep(10)  # let the server's services and the runner's polls settle
    after = footprint(stack.proc.pid)
    show(f"after {len(cases)} waiting", after)

    paused = stack.prefect("POST", "/flow_runs/count",
                           json={"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}}).json()
    print(f"Prefect: {paused} paused flow runs (of {len(cases)} cases)")
    rng = random.Random(7)
    sample = rng.sample(cases, min(args.sample, len(cases)))
    one = timed_gets(http, [f"{web}/api/cases/{no}" for no in sample])
    lists = timed_gets(http, [f"{web}/api/cases?state=pending_leader&limit=50&offset={rng.randrange(0, len(cases) - 50)}"
                              for _ in range(50)])
    prefect_ui = []
    for _ in range(50):
        t = time.perf_counter()
        r = stack.prefect("POST", "/flow_runs/paginate",
                          json={"page": 1, "limit": 10, "sort": "START_TIME_DESC",
                                "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}})
        prefect_ui.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text[:200]

    # a real one: answer a bulk case by its link; its run resumes and the GM's email arrives
    no = rng.choice([c for c in cases if c not in TAKEN_BY_WATCHDOG])
    task = svc.store.find_task(no, "leader-approval")
    from tasks.human import decision_links

    link = decision_links(svc, task, task.assignee, svc.clock.now())["approve"]
    page = http.get(link)
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    t = time.perf_counter()
    r = http.post(link.split("?")[0], data={**form, "choice": "approve", "comment": "容量测试"})
    assert r.status_code == 200 and "已提交" in r.text, r.text[-300:]
    stack.wait_mail(subject=f"{no} 总经理审批", timeout=300)
    resumed = time.perf_counter() - t
    final = footprint(stack.proc.pid)

    print()
    print(f"=== capacity, {len(cases)} cases waiting on a person ({'SQLite' if args.sqlite else 'PostgreSQL'}; {MACHINE})")
    print(f"serving processes: {before['processes']} → {after['processes']} processes, "
          f"{before['threads']} → {after['threads']} threads, RSS {before['rss_mb']:.0f} → {after['rss_mb']:.0f} MB "
          f"({(after['rss_mb'] - before['rss_mb']) * 1024 / len(cases):.1f} KB per waiting case)")
    print(f"GET /api/cases/{{no}} (ms): {describe(one, 'ms')}  p95 target <= 100 ms")
    record("capacity", f"GET /api/cases/{{no}} p95, {len(cases):,} cases waiting", pct(one, 95), "ms", ("<=", 100))
    print(f"GET /api/cases?state=&limit=50 (ms): {describe(lists, 'ms')}")
    print(f"Prefect UI query, paused runs page (ms): {describe(prefect_ui, 'ms')}")
    print(f"one bulk case answered by its link → next email: {resumed:.2f}s; "
          f"after it: {final['processes']} processes, RSS {final['rss_mb']:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
