"""The flow-run interface: start a case's flow run, resume a run with a recorded answer, check the
orchestrator answers. The real one talks to Prefect's API; the recording fake (unit tests, the
fuzzing of the web app) keeps what it was asked. Chosen by settings (`KEFU_FLOW_BACKEND`)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None) -> str:
        if self.down:
            raise ConnectionRefusedError("RecordingFlowRuns: simulated Prefect outage")
        with self._lock:
            for run in self.started:
                if run.deployment == deployment and run.case_no == case_no:
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


def build_flow_runs(settings: Settings) -> FlowRuns:
    if settings.flow_backend == "memory":
        return RecordingFlowRuns()
    return PrefectFlowRuns(settings.effective_prefect_api_url)
