"""The flow-run interface: start a case's flow run, resume a run with a recorded answer, check the
orchestrator answers. The real one talks to Prefect's API; the recording fake (unit tests, the
fuzzing of the web app) keeps what it was asked. Chosen by settings (`KEFU_FLOW_BACKEND`)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from models.settings import Settings


class FlowRuns(Protocol):
    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None) -> str:
        """Create the case's flow run (idempotent per deployment and case) and return its id."""

    def resume_when_waiting(self, store, task_id: int) -> str:  # noqa: ANN001
        """Resume the run waiting on this decided task (see tasks.resume.resume_when_waiting)."""

    def ping(self) -> None:
        """Raise when the orchestrator does not answer."""

    def served_deployments(self, names: tuple[str, ...]) -> set[str]:
        """Which of these deployments (`flow/deployment`) a runner or worker serves now: not paused,
        and polled for work recently (Prefect's deployment status READY)."""

    def last_completed(self, deployment: str) -> datetime | None:
        """When the deployment's latest Completed run ended (None: never)."""

    def run_states(self, run_ids: list[str]) -> dict[str, str]:
        """Each existing run's state type (PAUSED, COMPLETED, CANCELLED …); a deleted run is absent."""

    def restart(self, run_id: str) -> str:
        """A new run in place of a cancelled, crashed or failed one (same deployment, parameters, name and
        tags; idempotent per old run); returns its id. A run that was suspended cannot simply be put back
        to SCHEDULED: Prefect would take its step as answered with no input."""

    def cancel(self, run_id: str, message: str) -> None:
        """Cancel a run (only for a case cancelled in the app)."""


class PrefectFlowRuns:
    """Prefect 3: run_deployment with an idempotency key; resume through the API."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None) -> str:
        from tasks.intake import start_flow_run

        return start_flow_run(deployment, case_no, tags, run_name, parameters)

    def resume_when_waiting(self, store, task_id: int) -> str:  # noqa: ANN001
        from tasks.resume import resume_when_waiting

        return resume_when_waiting(store, task_id)

    def ping(self) -> None:
        import httpx

        httpx.get(f"{self.api_url}/health", timeout=3).raise_for_status()

    def served_deployments(self, names: tuple[str, ...]) -> set[str]:
        import httpx

        r = httpx.post(f"{self.api_url}/deployments/filter", timeout=5, json={
            "deployments": {"name": {"any_": sorted({n.split("/", 1)[1] for n in names})}}, "limit": 200})
        r.raise_for_status()
        ready = {d["name"] for d in r.json() if d.get("status") == "READY" and not d.get("paused")}
        return {n for n in names if n.split("/", 1)[1] in ready}

    def last_completed(self, deployment: str) -> datetime | None:
        import httpx

        r = httpx.post(f"{self.api_url}/flow_runs/filter", timeout=5, json={
            "deployments": {"name": {"any_": [deployment.split("/", 1)[1]]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "sort": "END_TIME_DESC", "limit": 1})
        r.raise_for_status()
        runs = r.json()
        return datetime.fromisoformat(runs[0]["end_time"]) if runs and runs[0].get("end_time") else None

    def run_states(self, run_ids: list[str]) -> dict[str, str]:
        import httpx

        if not run_ids:
            return {}
        r = httpx.post(f"{self.api_url}/flow_runs/filter", timeout=10, json={
            "flow_runs": {"id": {"any_": run_ids}}, "limit": len(run_ids)})
        r.raise_for_status()
        return {run["id"]: run["state"]["type"] for run in r.json() if run.get("state")}

    def _set_state(self, run_id: str, state: str, message: str) -> None:
        import httpx

        r = httpx.post(f"{self.api_url}/flow_runs/{run_id}/set_state", timeout=10, json={
            "state": {"type": state, "message": message}, "force": True})
        r.raise_for_status()

    def restart(self, run_id: str) -> str:
        import httpx

        old = httpx.get(f"{self.api_url}/flow_runs/{run_id}", timeout=10)
        old.raise_for_status()
        run = old.json()
        r = httpx.post(f"{self.api_url}/deployments/{run['deployment_id']}/create_flow_run", timeout=10, json={
            "name": run["name"], "parameters": run["parameters"], "tags": run["tags"],
            "idempotency_key": f"{run.get('idempotency_key') or run['name']}:restart:{run_id}"})
        r.raise_for_status()
        return r.json()["id"]

    def cancel(self, run_id: str, message: str) -> None:
        self._set_state(run_id, "CANCELLING", message)


@dataclass
class StartedRun:
    run_id: str
    deployment: str
    case_no: str
    tags: list[str]
    run_name: str
    parameters: dict[str, Any]


@dataclass
class RecordingFlowRuns:
    """Fake: records starts (one run per deployment and case, like the idempotency key) and resumes."""

    started: list[StartedRun] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    down: bool = False
    not_served: set[str] = field(default_factory=set)  # deployments no runner serves (a stack starting)
    completed: dict[str, datetime] = field(default_factory=dict)  # deployment -> its last Completed run's end
    states: dict[str, str] = field(default_factory=dict)  # run id -> state type (default PAUSED)
    deleted: set[str] = field(default_factory=set)  # runs deleted in Prefect
    restarted: list[str] = field(default_factory=list)  # old run ids given a new run
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None) -> str:
        if self.down:
            raise ConnectionRefusedError("RecordingFlowRuns: simulated Prefect outage")
        with self._lock:
            for run in self.started:
                if run.deployment == deployment and run.case_no == case_no and run.run_id not in self.deleted:
                    return run.run_id
            run = StartedRun(str(uuid.uuid4()), deployment, case_no, list(tags), run_name,
                             parameters or {"case_no": case_no})
            self.started.append(run)
            return run.run_id

    def resume_when_waiting(self, store, task_id: int) -> str:  # noqa: ANN001
        with self._lock:
            self.resumed.append(task_id)
        return "resumed"

    def ping(self) -> None:
        if self.down:
            raise ConnectionRefusedError("RecordingFlowRuns: simulated Prefect outage")

    def served_deployments(self, names: tuple[str, ...]) -> set[str]:
        self.ping()
        return {n for n in names if n not in self.not_served}

    def last_completed(self, deployment: str) -> datetime | None:
        self.ping()
        return self.completed.get(deployment)

    def run_states(self, run_ids: list[str]) -> dict[str, str]:
        self.ping()
        return {i: self.states.get(i, "PAUSED") for i in run_ids if i not in self.deleted}

    def restart(self, run_id: str) -> str:
        self.ping()
        with self._lock:
            old = next(r for r in self.started if r.run_id == run_id)
            new = StartedRun(str(uuid.uuid4()), old.deployment, old.case_no, old.tags, old.run_name, old.parameters)
            self.started.append(new)
            self.restarted.append(run_id)
            return new.run_id

    def cancel(self, run_id: str, message: str) -> None:
        self.ping()
        self.states[run_id] = "CANCELLED"


def build_flow_runs(settings: Settings) -> FlowRuns:
    if settings.flow_backend == "memory":
        return RecordingFlowRuns()
    return PrefectFlowRuns(settings.effective_prefect_api_url)
