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
              parameters: dict[str, Any] | None = None, *, idempotency_key: str | None = None) -> str:
        """Create the case's flow run and return its id. One try: the caller (tasks/flow_starts.py)
        retries with back-off. With the same idempotency key (the case number) a second call
        returns the first run instead of making another."""

    def resume_when_waiting(self, store, task_id: int) -> str:  # noqa: ANN001
        """Resume the run waiting on this decided task (see tasks.resume.resume_when_waiting)."""

    def ping(self) -> None:
        """Raise when the orchestrator does not answer."""


class DeploymentNotServed(LookupError):
    """Prefect's API does not know the deployment (yet): its ObjectNotFound says only "None"."""

    def __init__(self, deployment: str) -> None:
        super().__init__(f"部署 {deployment} 不存在（尚未开始服务？）/ "
                         f"deployment {deployment} not found in Prefect (not served yet?)")
        self.deployment = deployment


class PrefectFlowRuns:
    """Prefect 3: a flow run from the deployment with an idempotency key; resume through the API."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self._deployment_ids: dict[str, Any] = {}

    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None, *, idempotency_key: str | None = None) -> str:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        with get_client(sync_client=True) as client:
            deployment_id = self._deployment_ids.get(deployment)
            try:
                if deployment_id is None:
                    deployment_id = client.read_deployment_by_name(deployment).id
                    self._deployment_ids[deployment] = deployment_id
                run = client.create_flow_run_from_deployment(
                    deployment_id, parameters=parameters or {"case_no": case_no}, name=run_name, tags=tags,
                    idempotency_key=idempotency_key)
            except ObjectNotFound as exc:
                self._deployment_ids.pop(deployment, None)  # deleted and made again: look it up anew
                raise DeploymentNotServed(deployment) from exc
        return str(run.id)

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
    """Fake: records starts and resumes. Like Prefect, one run per idempotency key (a start without
    a key always makes a new run). `down`: every call fails as if Prefect were unreachable;
    `lose_answers`: that many starts make their run and then fail, as if the answer were lost."""

    started: list[StartedRun] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # the case number of every start call
    down: bool = False
    lose_answers: int = 0
    _by_key: dict[tuple[str, str], StartedRun] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None, *, idempotency_key: str | None = None) -> str:
        with self._lock:
            self.calls.append(case_no)
        if self.down:
            raise ConnectionRefusedError("RecordingFlowRuns: simulated Prefect outage")
        with self._lock:
            run = self._by_key.get((deployment, idempotency_key)) if idempotency_key else None
            if run is None:
                run = StartedRun(str(uuid.uuid4()), deployment, case_no, list(tags), run_name,
                                 parameters or {"case_no": case_no})
                self.started.append(run)
                if idempotency_key:
                    self._by_key[(deployment, idempotency_key)] = run
            if self.lose_answers > 0:
                self.lose_answers -= 1
                raise TimeoutError("RecordingFlowRuns: the run was made, its answer was lost")
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
