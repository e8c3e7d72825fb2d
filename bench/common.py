"""Shared by the benchmarks: percentiles, waiting on a run's state, the sample complaint."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.stack import Stack

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MACHINE = "2-core machine shared with other engineers' test runs"

COMPLAINT = {"complainant": {"name": "基准客户", "phone": "13800000000"}, "kind": "consumer",
             "channel": "phone", "category": "维修服务", "description": "基准测试：空调漏水",
             "stores": ["苏州园区店"], "products": [{"name": "挂机", "code": "KF-35"}], "demand": "上门维修"}


def record(bench: str, figure: str, value: float, unit: str, target: tuple[str, float] | None = None,
           floor: float | None = None) -> None:
    """One figure for the table of `make bench` (bench/all.py sets KEFU_BENCH_SUMMARY to a file and
    each bench appends its figures there): the value, its target (("<=", 20.0) or (">=", 50.0)) and
    its ratio to its floor (the same work without Kefu, measured in the same run), when it has one."""
    path = os.environ.get("KEFU_BENCH_SUMMARY")
    if not path:
        return
    row = {"bench": bench, "figure": figure, "value": value, "unit": unit, "target": target, "floor": floor}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def describe(xs: list[float], unit: str = "s") -> str:
    return (f"n={len(xs)} median={statistics.median(xs):.3f}{unit} p95={pct(xs, 95):.3f}{unit} "
            f"min={min(xs):.3f}{unit} max={max(xs):.3f}{unit}")


def wait_paused(stack: Stack, run_id: str, key: str, timeout: float = 120, every: float = 0.05) -> None:
    """Until the run is suspended on `key` (Prefect's API, polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = stack.prefect_run(run_id)["state"]
        if state["type"] == "PAUSED" and state["state_details"].get("pause_key") == key:
            return
        time.sleep(every)
    raise TimeoutError(f"run {run_id} never waited on {key}")


def wait_final(stack: Stack, run_id: str, timeout: float = 300, every: float = 0.05) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = stack.prefect_run(run_id)["state"]["type"]
        if t in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return t
        time.sleep(every)
    raise TimeoutError(f"run {run_id} did not finish")
