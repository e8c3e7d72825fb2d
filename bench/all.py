"""`make bench`: the short version of every benchmark, one after the other, then one table — each
figure, its target, whether it is met and its ratio to its floor (the same work without Kefu,
measured in the same run) where it has one. The long versions and what each measures: docs/benchmarks.md.

    .venv/bin/python bench/all.py [--only intake,task_runs] [--budget 900]

Each bench runs in its own process with KEFU_BENCH_SUMMARY set; it appends its figures there
(`common.record`). A bench that fails or runs out of its time is a row of the table too. Exits 1
when a target is missed or a bench did not finish.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable

# (name, arguments of the short version, the most seconds it may take), in this order; the budget
# (15 minutes) stops the run and the benches it leaves out are rows of the table too
SHORT: list[tuple[str, list[str], float]] = [
    ("task_runs", [], 150),
    ("report_monthly", ["--cases", "20000", "--small", "5000", "--runs", "3"], 90),
    ("intake", ["--seconds", "20", "--deadline", "60"], 200),
    ("decision_latency", ["--passes", "fast-poll", "--requests", "5", "--read", "1"], 260),
    ("cpu_per_step", ["--short"], 300),
    ("load_burst", ["--cases", "12", "--concurrency", "8"], 300),
    ("capacity", ["--cases", "100", "--sample", "50"], 200),
    ("orchestration_overhead", ["--rounds", "1"], 240),
]


def stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the bench's process group (a stack stops cleanly on it), SIGKILL after 60 s."""
    for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            time.sleep(2)  # the group's other processes (the stack) finish their stop
            return
        except subprocess.TimeoutExpired:
            continue


def met(row: dict) -> bool | None:
    if not row.get("target"):
        return None
    op, bound = row["target"]
    return row["value"] <= bound if op == "<=" else row["value"] >= bound


def fmt(value: float, unit: str) -> str:
    if value == float("inf"):
        return "never"
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def table(rows: list[dict], failures: list[tuple[str, str]]) -> str:
    head = f"{'bench':22} {'figure':58} {'value':>12} {'target':>14} {'met':>4} {'floor':>12} {'ratio':>6}"
    out = [head, "-" * len(head)]
    for r in rows:
        op, bound = r["target"] or ("", None)
        target = f"{op} {fmt(bound, r['unit'])}" if bound is not None else ""
        ok = met(r)
        floor = fmt(r["floor"], r["unit"]) if r.get("floor") else ""
        ratio = f"{r['value'] / r['floor']:.2f}" if r.get("floor") else ""
        out.append(f"{r['bench']:22} {r['figure'][:58]:58} {fmt(r['value'], r['unit']):>12} {target:>14} "
                   f"{'yes' if ok else 'NO' if ok is False else '':>4} {floor:>12} {ratio:>6}")
    out += [f"{name:22} {'did not finish: ' + why:58}" for name, why in failures]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated bench names (default: all)")
    ap.add_argument("--budget", type=float, default=900, help="seconds for the whole run (the issue's 15 minutes)")
    args = ap.parse_args()
    chosen = [b for b in SHORT if not args.only or b[0] in args.only.split(",")]
    summary = Path(tempfile.mkstemp(prefix="kefu-bench-", suffix=".jsonl")[1])
    failures: list[tuple[str, str]] = []
    t0 = time.monotonic()
    load = [os.getloadavg()[0]]
    for name, extra, limit in chosen:
        left = args.budget - (time.monotonic() - t0)
        if left <= 10:
            failures.append((name, "the budget was spent before it"))
            continue
        print(f"--- {name} {' '.join(extra)}", flush=True)
        started = time.monotonic()
        # its own process group: a bench out of time is stopped with the stack it started (`kefu up`
        # and its servers are in the group), never left running
        proc = subprocess.Popen([PY, str(HERE / f"{name}.py"), *extra], cwd=HERE.parent, start_new_session=True,
                                env={**os.environ, "KEFU_BENCH_SUMMARY": str(summary)})
        try:
            rc = proc.wait(timeout=min(limit, left))
        except subprocess.TimeoutExpired:
            stop_group(proc)
            failures.append((name, f"out of time after {min(limit, left):.0f} s"))
            continue
        load.append(os.getloadavg()[0])
        print(f"--- {name}: {time.monotonic() - started:.0f} s, exit {rc}", flush=True)
        if not any(json.loads(line)["bench"] == name for line in summary.read_text().splitlines()):
            failures.append((name, f"no figures (exit {rc})"))
    rows = [json.loads(line) for line in summary.read_text().splitlines()]
    summary.unlink()
    took = time.monotonic() - t0
    print(f"\n=== make bench: {len(chosen)} benchmarks in {took / 60:.1f} min (budget {args.budget / 60:g} min); "
          f"load average {min(load):.1f}–{max(load):.1f}; 2-core machine")
    print(table(rows, failures))
    sys.exit(1 if failures or any(met(r) is False for r in rows) else 0)


if __name__ == "__main__":
    main()
