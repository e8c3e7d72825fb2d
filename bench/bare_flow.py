"""The floor for bench/orchestration_overhead.py: a bare Prefect flow with N suspend/resume cycles
and no work, served like ours (a Prefect runner with the flow added in memory, the same float runner
poll, results persisted).

    python bench/bare_flow.py --name bare-spawn --start spawn --poll 0.25   # Prefect's own starter
    python bench/bare_flow.py --name bare-warm --start warm --poll 0.25     # Kefu's warm start

Each serves deployment `bare-suspend/<name>` against $PREFECT_API_URL until killed."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from prefect import flow
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput


class BareAnswer(RunInput):
    decision: str


@flow(name="bare-suspend", flow_run_name="bare-{n}")
def bare(n: int) -> int:
    for i in range(n):
        suspend_flow_run(wait_for_input=BareAnswer, key=f"step-{i}", timeout=None)
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="bare")
    ap.add_argument("--start", choices=["spawn", "warm"], default="spawn")
    ap.add_argument("--poll", type=float, default=1.0)
    args = ap.parse_args()
    if args.start == "warm":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from deployments.warm_start import WarmRunner

        runner = WarmRunner(query_seconds=args.poll, warm_preload=["prefect", "prefect.flow_engine"],
                            flow_heartbeats=False)
    else:
        from prefect.runner import Runner

        runner = Runner(query_seconds=args.poll)
    runner.add_flow(bare, name=args.name)
    print(f"serving bare-suspend/{args.name} ({args.start}, poll {args.poll} s)", flush=True)
    asyncio.run(runner.start())


if __name__ == "__main__":
    main()
