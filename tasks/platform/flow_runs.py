"""The flow-run interface: start a case's flow run, resume a run with a recorded answer, check the
orchestrator answers. The real one talks to Prefect's API; the recording fake (unit tests, the
fuzzing of the web app) keeps what it was asked. Chosen by settings (`KEFU_FLOW_BACKEND`)."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from models.settings import Settings
from tasks.platform.resume import resume_when_waiting

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.client.orchestration import SyncPrefectClient

    from tasks.platform.store import Store


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
        """Create the case's flow run and return its id. One try: the caller (tasks/platform/flow_starts.py)
        retries with back-off. With the same idempotency key (the case number) a second call
        returns the first run instead of making another."""

    def start_many(self, deployment: str, requests: list[StartRequest]) -> list[str | Exception]:
        """Create several runs of one deployment at once (one call, one transaction in Prefect):
        for each request, its run id or what went wrong. Same idempotency as `start`."""

    def resume_when_waiting(self, store: Store, task_id: int) -> str:
        """Resume the run waiting on this decided task (see tasks.platform.resume.resume_when_waiting)."""

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

    def __init__(self, api_url: str, auth_string: str | None = None) -> None:
        self.api_url = api_url
        # the raw calls below carry Prefect's API auth as its own client does (PREFECT_API_AUTH_STRING)
        self.headers = {"Authorization": "Basic " + base64.b64encode(auth_string.encode()).decode()} if auth_string else {}
        self._deployment_ids: dict[str, Any] = {}
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @property
    def http(self) -> httpx.Client:
        """One HTTP client for this process's direct calls to Prefect's API (health, filters, state):
        a new client per call builds a TLS context each time (loads the CA bundle, ≈ 20–60 ms of CPU)
        — that was /healthz's main cost. It carries Prefect's API auth (KEFU_PREFECT_API_AUTH_STRING)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = httpx.Client(base_url=self.api_url.rstrip("/") + "/",
                                                headers=self.headers)
        return self._client

    def start(self, deployment: str, case_no: str, tags: list[str], run_name: str,
              parameters: dict[str, Any] | None = None, *, idempotency_key: str | None = None) -> str:

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

    def _deployment_id(self, client: SyncPrefectClient, deployment: str) -> UUID:
        deployment_id = self._deployment_ids.get(deployment)
        if deployment_id is None:
            deployment_id = client.read_deployment_by_name(deployment).id
            self._deployment_ids[deployment] = deployment_id
        return deployment_id

    def _start_many(self, deployment: str, requests: list[StartRequest]) -> list[str | Exception]:
        """Prefect's bulk endpoint (`POST /deployments/{id}/create_flow_run/bulk`, ≤ 100 runs):
        one request and one database transaction for the lot, instead of one each — on SQLite
        the server's run creation is the intake's bottleneck."""

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
        answers: list[str | Exception] = self._start_many(deployment, requests)
        for delay in (0.2, 0.5, 1.0):
            locked = [i for i, a in enumerate(answers) if isinstance(a, RunNotCreated) and "database is locked" in str(a)]
            if not locked:
                break
            time.sleep(delay)
            for i, a in zip(locked, self._start_many(deployment, [requests[i] for i in locked]), strict=True):
                answers[i] = a
        return answers

    def resume_when_waiting(self, store: Store, task_id: int) -> str:
        return resume_when_waiting(store, task_id)

    def ping(self) -> None:
        self.http.get("health", timeout=3).raise_for_status()

    def served_deployments(self, names: tuple[str, ...]) -> set[str]:
        r = self.http.post("deployments/filter", timeout=5, json={
            "deployments": {"name": {"any_": sorted({n.split("/", 1)[1] for n in names})}}, "limit": 200})
        r.raise_for_status()
        ready = {d["name"] for d in r.json() if d.get("status") == "READY" and not d.get("paused")}
        return {n for n in names if n.split("/", 1)[1] in ready}

    def last_completed(self, deployment: str) -> datetime | None:
        r = self.http.post("flow_runs/filter", timeout=5, json={
            "deployments": {"name": {"any_": [deployment.split("/", 1)[1]]}},
            "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "sort": "END_TIME_DESC", "limit": 1})
        r.raise_for_status()
        runs = r.json()
        return datetime.fromisoformat(runs[0]["end_time"]) if runs and runs[0].get("end_time") else None

    def run_states(self, run_ids: list[str]) -> dict[str, str]:
        if not run_ids:
            return {}
        r = self.http.post("flow_runs/filter", timeout=10, json={
            "flow_runs": {"id": {"any_": run_ids}}, "limit": len(run_ids)})
        r.raise_for_status()
        return {run["id"]: run["state"]["type"] for run in r.json() if run.get("state")}

    def _set_state(self, run_id: str, state: str, message: str) -> None:
        r = self.http.post(f"flow_runs/{run_id}/set_state", timeout=10, json={
            "state": {"type": state, "message": message}, "force": True})
        r.raise_for_status()

    def restart(self, run_id: str) -> str:
        old = self.http.get(f"flow_runs/{run_id}", timeout=10)
        old.raise_for_status()
        run = old.json()
        r = self.http.post(f"deployments/{run['deployment_id']}/create_flow_run", timeout=10, json={
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
    """Fake: records starts and resumes. Like Prefect, one run per idempotency key (a start without
    a key always makes a new run). `down`: every call fails as if Prefect were unreachable;
    `lose_answers`: that many starts make their run and then fail, as if the answer were lost."""

    started: list[StartedRun] = field(default_factory=list)
    resumed: list[int] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # the case number of every start call
    down: bool = False
    not_served: set[str] = field(default_factory=set)  # deployments no runner serves (a stack starting)
    completed: dict[str, datetime] = field(default_factory=dict)  # deployment -> its last Completed run's end
    states: dict[str, str] = field(default_factory=dict)  # run id -> state type (default PAUSED)
    deleted: set[str] = field(default_factory=set)  # runs deleted in Prefect (their key is free again)
    restarted: list[str] = field(default_factory=list)  # old run ids given a new run
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
            if run is not None and run.run_id in self.deleted:
                run = None
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

    def resume_when_waiting(self, store: Store, task_id: int) -> str:
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
    auth = settings.prefect_api_auth_string
    return PrefectFlowRuns(settings.effective_prefect_api_url, auth.get_secret_value() if auth else None)
