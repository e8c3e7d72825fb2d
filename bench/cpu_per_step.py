"""CPU per human step against its floor (issue 23: ≤ 1.5 × the floor, ≤ 3 task runs per step).

On one local stack (`kefu up`, the default: embedded PostgreSQL) complaints with N human steps are
answered through their emailed links the moment each run waits (bench/orchestration_overhead.py's
level-1 path), interleaved with the floor: a bare flow (bench/bare_flow.py) with the same N
suspend/resume cycles and no work, served by Kefu's warm-start runner with the same poll, on the same
Prefect server, resumed by `resume_flow_run`. Around each case the CPU time (user + system) of every
process of the stack — `kefu up` and all its descendants (Prefect's server, the web app, the runner
and its flow-run processes, the database), and the bare flow's runner with its descendants — is read
from /proc (a process's own time plus that of the children it has reaped). The bench's own process
(the client answering) is not counted. Prints CPU per human step of each, the ratio and the target.

    .venv/bin/python bench/cpu_per_step.py --short      # 2 cases of each (≈ 3 min; on a shared machine)
    .venv/bin/python bench/cpu_per_step.py --cases 10   # the figure for the docs, on a quiet machine
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from common import MACHINE
from orchestration_overhead import STEPS, one_bare, one_complaint, serve_bare
from tests.e2e.stack import Stack

TARGET = 1.5
TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system) of the processes `roots` and all their descendants, each with the
    time of the children it has reaped (utime + stime + cutime + cstime)."""
    kids, total, todo, seen = _children(), 0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile: its time is its parent's cutime once reaped
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime (fields 14–17)
        todo += kids.get(pid, [])
    return total / TICK


def measured(roots: list[int], work) -> float:  # noqa: ANN001
    before = tree_cpu(roots)
    work()
    time.sleep(1.0)  # the flow-run process exits and is reaped; the server records the last events
    return tree_cpu(roots) - before


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10)
    ap.add_argument("--short", action="store_true", help="2 cases of each (a shared machine)")
    ap.add_argument("--runner-poll", default="0.25", help="KEFU_RUNNER_POLL_SECONDS (both runners)")
    args = ap.parse_args()
    cases = 2 if args.short else args.cases
    n = len(STEPS)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        stack = Stack.start(home, extra_env={"KEFU_RUNNER_POLL_SECONDS": args.runner_poll})
        stack.client = httpx.Client(timeout=300, headers={"X-API-Key": stack.authorize()})
        os.environ["PREFECT_API_URL"] = stack.prefect_api
        bare = serve_bare(stack, home, args.runner_poll, "warm")
        roots = [stack.proc.pid, bare.pid]
        try:
            one_complaint(stack)  # warm: the first run of each imports and connects
            one_bare(stack, n, "bare-warm")
            ours, floor = [], []
            load = [os.getloadavg()[0]]
            for i in range(cases):  # interleaved: both see the same machine
                ours.append(measured(roots, lambda: one_complaint(stack)))
                floor.append(measured(roots, lambda: one_bare(stack, n, "bare-warm")))
                load.append(os.getloadavg()[0])
                print(f"case {i + 1}: complaint {ours[-1]:.2f} CPU-s, bare flow {floor[-1]:.2f} CPU-s", flush=True)
        finally:
            bare.terminate()
            try:
                bare.wait(30)
            except subprocess.TimeoutExpired:
                bare.kill()
                bare.wait(30)
            stack.stop()
    per_step, floor_step = statistics.median(ours) / n, statistics.median(floor) / n
    ratio = per_step / floor_step
    print(f"\n{cases} complaints of {n} human steps and {cases} bare flows of {n} suspend/resume cycles "
          f"(load {min(load):.1f}–{max(load):.1f}; {MACHINE})")
    print(f"{'figure':52} {'value':>10} {'target':>10} {'ratio':>7}")
    print(f"{'CPU per human step, complaint (all stack processes)':52} {per_step:>9.3f}s {'':>10} {'':>7}")
    print(f"{'CPU per cycle, floor (bare flow, same runner)':52} {floor_step:>9.3f}s {'':>10} {'':>7}")
    print(f"{'complaint / floor':52} {ratio:>10.2f} {f'≤ {TARGET:g}':>10} {ratio / TARGET:>7.2f}")


if __name__ == "__main__":
    main()
