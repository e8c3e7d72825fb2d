"""Task runs per human step, as Prefect's server records them (issue 23: ≤ 3 per human-step cycle).

One scenario per procedure — the scripts of tests/flows, run in-process on the fakes exactly as there
— against a temporary Prefect server whose task-run recorder is on, with the client sending its events
as a served run does (the server records task runs from their events). For each flow run the task runs
are read back from the server's API (`/task_runs/filter`) and divided by the human steps the run
asked; the names of the task runs show where they go. With each, the CPU the run cost: this process
(the flow run, in-process) and Prefect's server (recording its task runs from their events).

    .venv/bin/python bench/task_runs.py            # prints the table (≈ 1 min)

In tests/flows a run answers every step in one go; a served run re-runs the flow from the top after
each resume, and the replay of earlier cycles makes no task runs (tasks/replay.py), so these counts
are those of a served cycle."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import record  # noqa: E402
from tests.flows.prefect_server import ServerProcess, quiet_server  # noqa: E402

TARGET = 3.0


def scenarios() -> list[tuple[str, Callable[[Any], Any]]]:
    """(procedure, office -> Run): the main path of each procedure, as its tests/flows scenario."""
    from flows.archive.correction import archive_correction
    from flows.complaint.handling import complaint
    from flows.grievance.chain import grievance
    from flows.new_customer import new_customer
    from flows.returns import allowance
    from flows.samples.request import sample_request
    from models.answers import Decision
    from models.samples_answers import GateCheck, SampleIssue
    from models.samples import gate_pass_code
    from tests.flows import test_archive_correction, test_complaint, test_grievance, test_new_customer, test_returns

    approve = Decision(decision="approve")

    def sample(office: Any) -> Any:
        case_no = office.sample_request()
        return office.run(sample_request, case_no, {
            "leader-approval": approve, "gm-approval": approve, "sample-issue": SampleIssue(taker="王师傅", quantity=6),
            "gate-check": GateCheck(decision="released", pass_code=gate_pass_code(office.svc.settings.secret_key, case_no),
                                    product_matches=True, spec_matches=True, size_class_matches=True,
                                    quantity_matches=True)})

    return [
        ("complaint (level 2, to the archive)",
         lambda o: o.run(complaint, o.complaint(category="服务行为"), test_complaint.handled(2))),
        ("archive correction", lambda o: o.run(archive_correction, o.correction(), test_archive_correction.chain())),
        ("new customer", lambda o: o.run(new_customer, o.new_customer(), test_new_customer.signed())),
        ("allowance (¥3,000)", lambda o: o.run(allowance, o.allowance_or_return("allowance", "3000.00"),
                                                test_returns.allowance_answers())),
        ("sample request", sample),
        ("grievance", lambda o: o.run(grievance, test_grievance.file(o), test_grievance.chain())),
    ]


def recorded_task_runs(flow_run_id: Any) -> list[str]:
    """The names of the flow run's task runs, once the server's recorder has caught up."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all()
    names: list[str] = []
    with get_client(sync_client=True) as client:
        for _ in range(100):  # until two reads half a second apart agree
            again: list[str] = []
            while len(again) % 200 == 0:  # pages of 200, the API's most
                page = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                             limit=200, offset=len(again))
                again += [t.name for t in page]
                if not page:
                    break
            if again and again == names:
                return names
            names = again
            time.sleep(0.5)
    return names


def latest_flow_run() -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=1)[0]


def step_name(name: str) -> str:
    """A task run's name as its task's: without Prefect's `-<key>` suffix or the step's title after ` · `."""
    return re.sub(r"-[0-9a-f]{1,3}$", "", name.split(" · ")[0])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its reaped children), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    import logging

    from tests.flows.harness import Office

    logging.getLogger("prefect").setLevel(logging.WARNING)  # as tests/flows: no INFO line per task run

    rows = []
    server = ServerProcess(record_task_runs=True).start()
    with quiet_server(server, events=True):
        for procedure, scenario in scenarios():
            with tempfile.TemporaryDirectory() as home:
                office = Office(Path(home))
                here, there = time.process_time(), cpu_seconds(server.proc.pid)
                run = scenario(office)
                flow_run = latest_flow_run()
                names = recorded_task_runs(flow_run.id)  # (the server has recorded them all)
                cpu = (time.process_time() - here, cpu_seconds(server.proc.pid) - there)
            rows.append((procedure, flow_run.name, len(run.steps), names, cpu))
    print(f"{'procedure':38} {'human steps':>11} {'task runs':>9} {'per step':>8} {'CPU run':>8} {'server':>7}"
          f"   target ≤ {TARGET:g} per step")
    total_steps = total_runs = 0
    for procedure, _name, steps, names, (cpu_run, cpu_server) in rows:
        total_steps, total_runs = total_steps + steps, total_runs + len(names)
        print(f"{procedure:38} {steps:>11} {len(names):>9} {len(names) / max(steps, 1):>8.2f}"
              f" {cpu_run:>7.2f}s {cpu_server:>6.2f}s")
    cpu_runs, cpu_servers = (sum(r[4][i] for r in rows) for i in (0, 1))
    print(f"{'all':38} {total_steps:>11} {total_runs:>9} {total_runs / max(total_steps, 1):>8.2f}"
          f" {cpu_runs:>7.2f}s {cpu_servers:>6.2f}s   (load {os.getloadavg()[0]:.1f})")
    record("task_runs", "task runs per human step", total_runs / max(total_steps, 1), "", ("<=", TARGET))
    print("\ntask runs by task (all scenarios):")
    for name, n in Counter(step_name(n) for _p, _f, _s, names, _c in rows for n in names).most_common():
        print(f"  {n:>4}  {name}")


if __name__ == "__main__":
    main()
