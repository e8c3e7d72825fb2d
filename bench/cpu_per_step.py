"""CPU per human step against its floor (issue 23: ≤ 1.5 × the floor, ≤ 3 task runs per step).

On one local stack (`kefu up`, the default: embedded PostgreSQL) complaints with N human steps are
answered through their emailed links the moment each run waits (bench/orchestration_overhead.py's
level-1 path), interleaved with the floor: a bare flow (bench/bare_flow.py) with the same N
suspend/resume cycles and no work, served by Kefu's warm-start runner with the same poll, on the same
Prefect server, resumed by `resume_flow_run`. Around each case the CPU time (user + system) of every
process of the stack — `kefu up` and all its descendants (Prefect's server, the web app, the runner
and its flow-run processes, the database), and the bare flow's runner with its descendants — is read
from /proc (a process's own time plus that of the children it has reaped). The bench's own process
(the client answering) is not counted. The stack burns CPU when idle too (the runners' polls, the
database, Prefect's services), in proportion to the time a case takes, which a loaded machine
stretches: the idle rate is measured first (30 s) and each figure is printed as measured and above
the idle stack. Prints CPU per human step of each, the ratio and the target.

    .venv/bin/python bench/cpu_per_step.py --short      # 2 cases of each (≈ 3 min; on a shared machine)
    .venv/bin/python bench/cpu_per_step.py --cases 10   # the figure for the docs, on a quiet machine
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from common import MACHINE, record
from orchestration_overhead import STEPS, one_bare, one_complaint, serve_bare, stop_bare
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


ROLES = (("forkserver", "flow-run processes"), ("prefect server start", "Prefect's server"),
         ("deployments.cli serve", "runner"), ("bare_flow.py", "runner"), ("deployments.cli web", "web app"),
         ("postgres", "PostgreSQL"))


def _role(cmdline: str, inherited: str) -> str:
    return next((role for mark, role in ROLES if mark in cmdline), inherited)


def tree_cpu_by_role(roots: list[int]) -> Counter[str]:
    """CPU seconds (user + system) of the processes `roots` and all their descendants, each with the
    time of the children it has reaped (utime + stime + cutime + cstime), by role: a process has the
    role its command line names (ROLES), else its parent's."""
    kids, by, todo, seen = _children(), Counter(), [(r, "other") for r in roots], set()
    while todo:
        pid, inherited = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                role = _role(f.read().replace(b"\0", b" ").decode(errors="replace"), inherited)
        except OSError:
            continue  # exited meanwhile: its time is its parent's cutime once reaped
        by[role] += sum(int(x) for x in fields[11:15]) / TICK  # utime stime cutime cstime (fields 14–17)
        todo += [(k, role) for k in kids.get(pid, [])]
    return by


def tree_cpu(roots: list[int]) -> float:
    return sum(tree_cpu_by_role(roots).values())


ROLE_CPU: dict[str, list[Counter[str]]] = {"complaint": [], "bare": []}


def measured(roots: list[int], work: Callable[[], Any], idle_rate: float = 0.0, kind: str = "") -> tuple[float, float]:
    """(CPU seconds of the stack during `work`, the same less what the idle stack burns in that time);
    the CPU by role is kept in ROLE_CPU[kind]."""
    before, t0 = tree_cpu_by_role(roots), time.monotonic()
    work()
    time.sleep(1.0)  # the flow-run process exits and is reaped; the server records the last events
    after = tree_cpu_by_role(roots)
    if kind:
        ROLE_CPU[kind].append(Counter({k: after[k] - before[k] for k in after}))
    cpu = sum(after.values()) - sum(before.values())
    return cpu, cpu - idle_rate * (time.monotonic() - t0)


def idle_rate(roots: list[int], seconds: float = 30.0) -> float:
    """CPU seconds per second the stack burns with nothing to do (its polls, its database, its services)."""
    before = tree_cpu(roots)
    time.sleep(seconds)
    return (tree_cpu(roots) - before) / seconds


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
            idle = idle_rate(roots)
            print(f"the idle stack: {idle:.3f} CPU-s per second", flush=True)
            ours, floor = [], []
            load = [os.getloadavg()[0]]
            for i in range(cases):  # interleaved: both see the same machine
                ours.append(measured(roots, lambda: one_complaint(stack), idle, "complaint"))
                floor.append(measured(roots, lambda: one_bare(stack, n, "bare-warm"), idle, "bare"))
                load.append(os.getloadavg()[0])
                print(f"case {i + 1}: complaint {ours[-1][0]:.2f} CPU-s ({ours[-1][1]:.2f} above idle), "
                      f"bare flow {floor[-1][0]:.2f} CPU-s ({floor[-1][1]:.2f} above idle)", flush=True)
        finally:
            stop_bare(bare)
            stack.stop()
    print(f"\n{cases} complaints of {n} human steps and {cases} bare flows of {n} suspend/resume cycles "
          f"(load {min(load):.1f}–{max(load):.1f}; the idle stack {idle:.3f} CPU-s/s; {MACHINE})")
    print(f"{'figure':62} {'value':>9} {'target':>8} {'ratio':>6}")
    for i, what in ((0, "all stack processes"), (1, "above the idle stack")):
        per_step = statistics.median(c[i] for c in ours) / n
        floor_step = statistics.median(c[i] for c in floor) / n
        ratio = per_step / floor_step
        print(f"{f'CPU per human step, complaint ({what})':62} {per_step:>8.3f}s")
        print(f"{f'CPU per cycle, floor: bare flow, same runner ({what})':62} {floor_step:>8.3f}s")
        print(f"{f'complaint / floor ({what})':62} {ratio:>9.2f} {f'≤ {TARGET:g}':>8} {ratio / TARGET:>6.2f}")
        if i == 1:
            record("cpu_per_step", "CPU per human step (above the idle stack)", per_step, "CPU-s",
                   ("<=", TARGET * floor_step), floor_step)

    print(f"\nCPU per human step / cycle by process role (median over the cases; {n} steps each):")
    roles = sorted({r for c in ROLE_CPU["complaint"] + ROLE_CPU["bare"] for r in c})
    print(f"{'role':24} {'complaint':>10} {'floor':>10}")
    for role in roles:
        c, b = (statistics.median(x[role] for x in ROLE_CPU[k]) / n for k in ("complaint", "bare"))
        print(f"{role:24} {c:>9.3f}s {b:>9.3f}s")


if __name__ == "__main__":
    main()
