"""Decision latency: from the POST of an answer to the next approver's email at the SMTP sink.

Runs the real local stack once per pass in one run — Prefect's defaults (runner poll 10 s, a new
interpreter per run), poll 1 s with spawn and with the warm start (deployments/warm_start.py), and
Kefu's settings (poll 0.25 s, warm start) — and answers N sample requests × 2 approvals each, one at a
time. Prints median and p95; the time of arrival is the sink's own `received_at`.
An approver opens the page and reads it for `--read` seconds before submitting (not timed); a third
pass answers at once, when the run may still be finishing its suspension (worst case).

    .venv/bin/python bench/decision_latency.py [--requests 10] [--passes default,tuned,fast-poll,worst]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import record  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

SAMPLE = {"customer": "基准客户", "product": "32S", "spec": "32S/1", "size_class": "half", "quantity": 1,
          "reason": "bench"}


def answer_and_wait(stack: Stack, mail: dict, next_subject: str, read: float) -> float:
    link = stack.link(mail, "approve")
    page = stack.client.get(link)  # the approver opens the page first (not timed)
    time.sleep(read)  # and reads it before deciding (not timed)
    import re

    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    t0 = time.time()
    r = stack.client.post(link.split("?")[0], data={**form, "choice": "approve", "comment": ""})
    assert r.status_code == 200, r.text
    mail = stack.wait_mail(subject=next_subject, timeout=120)[0]
    # the sink's own arrival time (same machine clock), not when this script's polling saw it
    return datetime.fromisoformat(mail["received_at"]).timestamp() - t0


def run(poll: str, start: str, requests: int, read: float) -> list[float]:
    with tempfile.TemporaryDirectory() as home:
        stack = Stack.start(Path(home), extra_env={"KEFU_RUNNER_POLL_SECONDS": poll, "KEFU_RUNNER_START": start})
        try:
            times = []
            for _ in range(requests):
                r = stack.client.post(f"{stack.web}/api/sample-requests", json=SAMPLE).json()
                no = r["case_no"]
                ask = stack.wait_mail(subject=f"{no} 部门负责人审批", timeout=120)[0]
                times.append(answer_and_wait(stack, ask, f"{no} 总经理审批", read))
                gm = stack.wait_mail(subject=f"{no} 总经理审批")[0]
                times.append(answer_and_wait(stack, gm, f"{no} 样品发放登记", read))
            return times
        finally:
            stack.stop()


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


PASSES = {  # name: (label, KEFU_RUNNER_POLL_SECONDS, KEFU_RUNNER_START, answer after reading?)
    "default": ("Prefect defaults (runner poll 10 s, spawn), answer after {read:g} s", "10", "spawn", True),
    "spawn": ("runner poll 1 s, spawn (a new interpreter per run), answer after {read:g} s", "1", "spawn", True),
    "tuned": ("runner poll 1 s, warm start (fork), answer after {read:g} s", "1", "warm", True),
    "fast-poll": ("Kefu settings (runner poll 0.25 s, warm start), answer after {read:g} s", "0.25", "warm", True),
    "worst": ("Kefu settings (runner poll 0.25 s, warm start), answer at once (worst case)", "0.25", "warm", False),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10)
    ap.add_argument("--read", type=float, default=2.0, help="seconds an approver spends on the page")
    ap.add_argument("--passes", default=",".join(PASSES), help="which of " + ", ".join(PASSES))
    args = ap.parse_args()
    results = {}
    for name in args.passes.split(","):
        label, poll, start, reads = PASSES[name]
        label = label.format(read=args.read)
        times = run(poll, start, args.requests, args.read if reads else 0.0)
        results[name] = times
        print(f"{label}: n={len(times)} median={statistics.median(times):.2f}s p95={p95(times):.2f}s "
              f"min={min(times):.2f}s max={max(times):.2f}s", flush=True)
        if name == "fast-poll":  # Kefu's settings, an idle stack (issue 23: median ≤ 0.5 s)
            record("decision_latency", "answer → next email, median (idle)", statistics.median(times), "s", ("<=", 0.5))
    medians = {k: statistics.median(v) for k, v in results.items()}
    for a, b in (("default", "fast-poll"), ("spawn", "tuned"), ("tuned", "fast-poll")):
        if a in medians and b in medians:
            print(f"ratio {a}/{b} median: {medians[a] / medians[b]:.2f}")


if __name__ == "__main__":
    main()
