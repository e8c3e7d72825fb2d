"""The flow-run interface: start a case's flow run, resume a run with a recorded answer, check the
orchestrator answers. The real one talks to Prefect's API; the recording fake (unit tests, the
fuzzing of the web app) keeps what it was asked. Chosen by settings (`KEFU_FLOW_BACKEND`)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from models.settings import Settings


@dataclass
class StartRequest:
    """One run to create: what `FlowRuns.start` takes, for `start_many`."""
    case_no: str
    tags: list[str]
    run_name: str
    parameters: dict[str, Any]
    idempotency_key: str | None = None


class FlowRuns(Protocol):
    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None, *, idempotency_key: str | None = None) -> str:
        """Create the case's flow run and return its id. One try: the caller (tasks/flow_starts.py)
        retries with back-off. With the same idempotency key (the case number) a second call
        returns the first run instead of making another."""

    def start_many(self, deployment: str, requests: list[StartRequest]) -> list[str | Exception]:
        """Create several runs of one deployment at once (one call, one transaction in Prefect):
        for each request, its run id or what went wrong. Same idempotency as `start`."""

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


class RunNotCreated(RuntimeError):
    """Prefect's bulk create refused this one run (its error as Prefect gave it)."""


# prefect.server.api.deployments.BULK_CREATE_LIMIT is 100; 50 keeps each of Prefect's write
# transactions short (on SQLite it holds the one write lock for the whole batch)
BULK_LIMIT = 50


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
            try:
                deployment_id = self._deployment_id(client, deployment)
                run = client.create_flow_run_from_deployment(
                    deployment_id, parameters=parameters or {"case_no": case_no}, name=run_name, tags=tags,
                    idempotency_key=idempotency_key)
            except ObjectNotFound as exc:
                self._deployment_ids.pop(deployment, None)  # deleted and made again: look it up anew
                raise DeploymentNotServed(deployment) from exc
        return str(run.id)

    def _deployment_id(self, client, deployment: str):  # noqa: ANN001, ANN202
        deployment_id = self._deployment_ids.get(deployment)
        if deployment_id is None:
            deployment_id = client.read_deployment_by_name(deployment).id
            self._deployment_ids[deployment] = deployment_id
        return deployment_id

    def _start_many(self, deployment: str, requests: list[StartRequest]) -> list[str | Exception]:
        """Prefect's bulk endpoint (`POST /deployments/{id}/create_flow_run/bulk`, ≤ 100 runs):
        one request and one database transaction for the lot, instead of one each — on SQLite
        the server's run creation is the intake's bottleneck."""
        import httpx
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        out: list[str | Exception] = []
        with get_client(sync_client=True) as client:
            for chunk in (requests[i:i + BULK_LIMIT] for i in range(0, len(requests), BULK_LIMIT)):
                body = [{"name": r.run_name, "tags": list(r.tags), "parameters": r.parameters or {"case_no": r.case_no},
                         "idempotency_key": r.idempotency_key} for r in chunk]
                try:
                    deployment_id = self._deployment_id(client, deployment)
                    response = client.request("POST", "/deployments/{id}/create_flow_run/bulk",  # type: ignore[arg-type]
                                              path_params={"id": deployment_id}, json=body)
                except ObjectNotFound as exc:
                    self._deployment_ids.pop(deployment, None)
                    raise DeploymentNotServed(deployment) from exc
                except httpx.HTTPStatusError as exc:
                    if exc.response.status_code != 404:
                        raise
                    self._deployment_ids.pop(deployment, None)
                    raise DeploymentNotServed(deployment) from exc
                results = response.json()["results"]
                if len(results) != len(chunk):
                    raise RuntimeError(f"bulk create answered {len(results)} results for {len(chunk)} runs")
                out += [str(r["flow_run_id"]) if r["status"] == "CREATED" and r.get("flow_run_id")
                        else RunNotCreated(r.get("error") or repr(r)) for r in results]
        return out

    def start_many(self, deployment: str, requests: list[StartRequest]) -> list[str | Exception]:
        """`_start_many`, with the runs that Prefect's SQLite refused as "database is locked" (its
        bulk transaction lost a race with another writer: transient) tried again at once, 3 times
        with a short back-off; other failures are left to the dispatcher's back-off."""
        import time

        answers: list[str | Exception] = self._start_many(deployment, requests)
        for delay in (0.2, 0.5, 1.0):
            locked = [i for i, a in enumerate(answers) if isinstance(a, RunNotCreated) and "database is locked" in str(a)]
            if not locked:
                break
            time.sleep(delay)
            for i, a in zip(locked, self._start_many(deployment, [requests[i] for i in locked])):
                answers[i] = a
        return answers

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

    def start_many(self, deployment: str, requests: list[StartRequest]) -> list[str | Exception]:
        if self.down:
            with self._lock:
                self.calls += [r.case_no for r in requests]
            raise ConnectionRefusedError("RecordingFlowRuns: simulated Prefect outage")
        out: list[str | Exception] = []
        for r in requests:
            try:
                out.append(self.start(deployment, r.case_no, r.tags, r.run_name, r.parameters,
                                      idempotency_key=r.idempotency_key))
            except Exception as exc:  # noqa: BLE001 - per run, like Prefect's bulk answer
                out.append(exc)
        return out

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
