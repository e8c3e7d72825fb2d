"""The floor for bench/orchestration_overhead.py: a bare Prefect flow with N suspend/resume cycles
and no work, served like ours (`prefect.serve`, the same runner poll, results persisted).

    python bench/bare_flow.py        # serves it against $PREFECT_API_URL until killed"""

from __future__ import annotations

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


if __name__ == "__main__":
    bare.serve(name="bare", print_starting_message=True)
