"""Orchestration overhead: one complaint with N human steps, end to end on the local stack, against
the floor — a bare Prefect flow (bench/bare_flow.py) with the same N suspend/resume cycles and no
work, served by Prefect's runner on the same Prefect server with the same runner poll — in the same
run. A third column serves the bare flow on Kefu's warm-start runner too (deployments/warm_start.py),
which isolates the work the complaint flow itself adds.

Both are answered by a script the moment the run waits on the step (polled on Prefect's API every
50 ms): the complaint through its emailed links (the web app records the answer and resumes the run),
the bare flow by `resume_flow_run`. Timed from filing (POST /api/complaints; creating the bare run)
to the run's COMPLETED state. Prints both medians and the ratio. Target ≤ 1.3 × the floor.

    .venv/bin/python bench/orchestration_overhead.py [--rounds 3] [--runner-poll 0.25]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from common import COMPLAINT, MACHINE, REPO, describe, record, wait_final, wait_paused
from tests.e2e.stack import Stack

# The level-1 path (no customer email: the handler records satisfaction): step key, fields.
STEPS: list[tuple[str, str, dict[str, str]]] = [
    ("intake", "stands", {"level": "1"}),
    ("first-contact", "contacted", {"contact_note": "已联系"}),
    ("responsible-department", "named", {"department": "生产部"}),
    ("plan-1", "submitted", {"responsibility_department": "维修服务部", "responsibility": "安装疏忽",
                             "plan": "上门维修", "first_agreement": "true"}),
    ("solution-quality-lead-1", "approve", {}),
    ("solution-l2-handler-1", "approve", {}),
    ("gm-instruction", "instructed", {"instruction": "同意"}),
    ("outcome", "submitted", {"handling": "repair", "responsibility_department": "维修服务部"}),
    ("satisfaction", "answered", {"score": "2"}),
    ("return-visit", "visited", {"result": "已修好"}),
    ("review-l2-handler", "approve", {}),
    ("archive", "done", {}),
]


def link_for(stack: Stack, case_no: str, step_key: str, choice: str) -> str:
    """The step's emailed link (the newest mail of the case that carries this task's links)."""
    task = next(t for t in stack.case(case_no)["tasks"] if t["step_key"] == step_key)
    for mail in reversed(stack.mails(task["assignee"])):
        if case_no in mail["subject"] and task["title"][:6] in mail["subject"]:
            return stack.link(mail, choice)
    raise AssertionError(f"no mail for {case_no}/{step_key}")


def one_complaint(stack: Stack) -> float:
    t0 = time.perf_counter()
    r = stack.client.post(f"{stack.web}/api/complaints", json=COMPLAINT)
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    run_id = stack.flow_run_of(case_no)
    for key, choice, fields in STEPS:
        wait_paused(stack, run_id, key)
        url = link_for(stack, case_no, key, choice)
        page = stack.client.get(url)
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        done = stack.client.post(url.split("?")[0], data={**form, "choice": choice, "comment": "", **fields})
        assert done.status_code == 200 and "已提交" in done.text, done.text[-500:]
    assert wait_final(stack, run_id) == "COMPLETED"
    assert stack.case(case_no)["state"] == "closed"
    return time.perf_counter() - t0


def one_bare(stack: Stack, n: int, name: str) -> float:
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run

    t0 = time.perf_counter()
    run = run_deployment(f"bare-suspend/{name}", parameters={"n": n}, timeout=0)
    run_id = str(run.id)
    for i in range(n):
        wait_paused(stack, run_id, f"step-{i}")
        resume_flow_run(run.id, run_input={"decision": "ok"})
    assert wait_final(stack, run_id) == "COMPLETED"
    if os.environ.get("BENCH_DEBUG"):
        for st in stack.prefect("GET", f"/flow_run_states/?flow_run_id={run_id}").json():
            print(st["timestamp"], st["type"], st["name"])
    return time.perf_counter() - t0


def serve_bare(stack: Stack, home: Path, poll: str, start: str) -> subprocess.Popen:
    name = f"bare-{start}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))},
           "PREFECT_API_URL": stack.prefect_api, "PREFECT_HOME": str(home / "bare-prefect"),
           "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true", "PREFECT_LOCAL_STORAGE_PATH": str(home / "bare-storage")}
    out = home / f"{name}.out"
    proc = subprocess.Popen([str(REPO / ".venv/bin/python"), "bench/bare_flow.py", "--name", name, "--start", start,
                             "--poll", poll], cwd=str(REPO), env=env, stdout=open(out, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = stack.prefect("POST", "/deployments/filter", json={"deployments": {"name": {"any_": [name]}}})
        if r.status_code == 200 and r.json() and b"serving" in out.read_bytes():
            return proc
        time.sleep(0.5)
    raise RuntimeError(out.read_text()[-2000:])


def stop_bare(proc: subprocess.Popen) -> None:
    """Stop a runner of `serve_bare`: SIGTERM, then SIGKILL after 30 s (a runner may sit on SIGTERM while
    its runs exit)."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runner-poll", default="0.25", help="KEFU_RUNNER_POLL_SECONDS (every side)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        stack = Stack.start(home, extra_env={"KEFU_RUNNER_POLL_SECONDS": args.runner_poll})
        # no response log (the tests' privacy scan); the same API key
        stack.client = httpx.Client(timeout=300, headers={"X-API-Key": stack.authorize()})
        os.environ["PREFECT_API_URL"] = stack.prefect_api
        bare_procs = [serve_bare(stack, home, args.runner_poll, start) for start in ("spawn", "warm")]
        try:
            n = len(STEPS)
            ours, floor, warm_floor = [], [], []
            for i in range(args.rounds):  # interleaved, so all see the same machine load
                ours.append(one_complaint(stack))
                floor.append(one_bare(stack, n, "bare-spawn"))
                warm_floor.append(one_bare(stack, n, "bare-warm"))
                print(f"round {i + 1}: complaint {ours[-1]:.2f}s, bare flow {floor[-1]:.2f}s, "
                      f"bare flow warm-started {warm_floor[-1]:.2f}s", flush=True)
        finally:
            for proc in bare_procs:
                stop_bare(proc)
            stack.stop()
    print(f"complaint with {n} human steps (end to end): {describe(ours)}")
    print(f"floor: bare flow, {n} suspend/resume cycles, Prefect's runner:  {describe(floor)}")
    print(f"bare flow on Kefu's warm-start runner (same starter as the complaint): {describe(warm_floor)}")
    m_ours, m_floor, m_warm = (statistics.median(x) for x in (ours, floor, warm_floor))
    print(f"per cycle: complaint {m_ours / n:.2f}s, floor {m_floor / n:.2f}s, warm bare {m_warm / n:.2f}s")
    print(f"ratio complaint/floor (medians): {m_ours / m_floor:.2f}  (target <= 1.30; {MACHINE})")
    record("orchestration_overhead", f"complaint, {n} human steps, end to end (median)", m_ours, "s",
           ("<=", 1.3 * m_floor), m_floor)
    print(f"ratio complaint/warm bare flow (medians): {m_ours / m_warm:.2f}  (the work Kefu adds per case)")


if __name__ == "__main__":
    main()
