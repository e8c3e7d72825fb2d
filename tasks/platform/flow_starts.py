"""Starting a case's flow run: the start request is stored with the case, in the intake's own
transaction (`start_request`, passed to `Store.create_case`), and delivered by a dispatcher
(`dispatch_flow_starts`) — so the intake never waits on Prefect's API and no case is left without
its run, whatever Prefect is doing.

- Each request is started with Prefect's idempotency key = the case number: a start retried after
  a lost answer, or by a second dispatcher whose lease expired, finds the run already made.
- Dispatchers claim rows (`Store.claim_flow_starts`): two of them never take the same row at once.
- A failed start is retried with an exponential back-off per row; its real error (type and repr)
  is logged and kept on the row (`last_error`).
- Who dispatches: the web app, in a background thread woken right after each intake commit
  (`FlowStartDispatcher`), and every watchdog pass (tasks/platform/watchdog.py), so a start is delivered
  even when the web app is down. The CLI and the flows that open a linked case deliver their own
  case's start at once (and leave it to the others if that fails)."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from models.tables import Case, FlowStart
from tasks.platform import procedures
from tasks.platform.flow_runs import StartRequest
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.settings import Settings
    from tasks.platform.runtime import Services

log = logging.getLogger("kefu.flow_starts")


# ---- what to start: each procedure's start adapter (tasks/platform/procedures.py) -----------------
def start_request(case: Case) -> FlowStart:
    """The request to start this case's flow run (deployment, run name, tags, parameters)."""
    request = procedures.start_adapter(case.procedure)(case)
    request.case_no = case.case_no
    request.parameters = {"case_no": case.case_no}
    return request


# ---- delivery -----------------------------------------------------------------------------------
def describe_error(exc: BaseException) -> str:
    """The real error: type and repr, with what it was raised from (never a bare "None")."""
    parts, seen = [], set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen and len(parts) < 3:
        seen.add(id(e))
        text = f"{type(e).__module__}.{type(e).__qualname__}: {e!r}"
        inner = getattr(e, "http_exc", None)  # prefect.exceptions.ObjectNotFound keeps the HTTP error here
        if inner is not None:
            text += f" ({type(inner).__name__}: {inner!r})"
        parts.append(text)
        e = e.__cause__ or (e.__context__ if not e.__suppress_context__ else None)
    return " <- ".join(parts)


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 1 s, 2 s, 4 s, … up to the maximum."""
    seconds = settings.flow_start_backoff_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.flow_start_backoff_max_seconds))


def deliver(svc: Services, request: FlowStart) -> bool:
    """Start one claimed request's run. Returns True when the run exists (and is on the case)."""
    try:
        run_id = svc.flows.start(request.deployment, request.case_no, list(request.tags), request.run_name,
                                 dict(request.parameters), idempotency_key=request.case_no)
    except Exception as exc:  # noqa: BLE001 - Prefect down, stalled, deployment not served: retried later
        _failed(svc, request, exc)
        return False
    svc.store.flows_started([(request.id, request.case_no, run_id)], svc.clock.now())
    if request.attempts > 1:
        log.info("started %s for %s on try %d: %s", request.deployment, request.case_no, request.attempts, run_id)
    return True


def deliver_many(svc: Services, deployment: str, requests: list[FlowStart]) -> list[bool]:
    """Start claimed requests of one deployment in one call (`FlowRuns.start_many`)."""
    try:
        answers = svc.flows.start_many(deployment, [
            StartRequest(r.case_no, list(r.tags), r.run_name, dict(r.parameters), idempotency_key=r.case_no)
            for r in requests])
    except Exception as exc:  # noqa: BLE001 - the whole call failed: each request is retried
        answers = [exc] * len(requests)
    done = []
    started: list[tuple[int, str, str]] = []
    failed: dict[str, list[FlowStart]] = {}
    for request, answer in zip(requests, answers, strict=True):
        if isinstance(answer, Exception):
            error = describe_error(answer)
            # one log line per kind of failure (a database error's text holds each run's parameters)
            failed.setdefault(f"{type(answer).__name__}: {(str(answer).splitlines() or [''])[0][:300]}"
                              if str(answer) else error, []).append(request)
            _failed(svc, request, error, log_it=False)
            done.append(False)
        else:
            started.append((request.id, request.case_no, answer))
            done.append(True)
    svc.store.flows_started(started, svc.clock.now())  # one transaction for the lot
    for error, rows in failed.items():  # one line per distinct error, not one per run
        cases = rows[0].case_no if len(rows) == 1 else f"{len(rows)} cases {rows[0].case_no} … {rows[-1].case_no}"
        log.warning("starting %s for %s failed (try %d): %s; next try in %.0f s", deployment, cases,
                    rows[0].attempts, error, backoff(svc.settings, rows[0].attempts).total_seconds())
    return done


def _failed(svc: Services, request: FlowStart, error: BaseException | str, *, log_it: bool = True) -> None:
    error = error if isinstance(error, str) else describe_error(error)
    wait = backoff(svc.settings, request.attempts)
    if log_it:
        log.warning("starting %s for %s failed (try %d): %s; next try in %.0f s",
                    request.deployment, request.case_no, request.attempts, error, wait.total_seconds())
    svc.store.flow_start_failed(request.id, error, svc.clock.now() + wait)


def _deliver_all(svc: Services, rows: list[FlowStart], pool: ThreadPoolExecutor | None) -> list[bool]:
    """One call per deployment when the flow runs take several at once, else one per request;
    in parallel with a pool (not on the in-memory fake store, which is one connection)."""
    parallel = pool is not None and not getattr(svc.store, "single_connection", False)
    if hasattr(svc.flows, "start_many"):
        groups: dict[str, list[FlowStart]] = {}
        for r in rows:
            groups.setdefault(r.deployment, []).append(r)
        work = [lambda d=d, g=g: deliver_many(svc, d, g) for d, g in groups.items()]
    else:
        work = [lambda r=r: [deliver(svc, r)] for r in rows]
    if parallel and len(work) > 1:
        return [ok for done in pool.map(lambda w: w(), work) for ok in done]
    return [ok for w in work for ok in w()]


def dispatch_flow_starts(svc: Services, *, case_no: str | None = None, limit: int | None = None,
                         pool: ThreadPoolExecutor | None = None, max_rounds: int = 1) -> dict[str, int]:
    """Claim due requests and start their runs (several at once with a pool), for up to
    `max_rounds` batches. Times come from `svc.clock` (never a watchdog's simulated "now": a
    request's next try is a real time). Returns {claimed, started, failed}."""
    settings = svc.settings
    limit = limit or settings.flow_start_batch
    counts = {"claimed": 0, "started": 0, "failed": 0}
    for _ in range(max_rounds):
        rows = svc.store.claim_flow_starts(svc.clock.now(), lease=timedelta(seconds=settings.flow_start_lease_seconds),
                                           limit=limit, case_no=case_no)
        if not rows:
            break
        results = _deliver_all(svc, rows, pool)
        counts["claimed"] += len(rows)
        counts["started"] += sum(results)
        counts["failed"] += len(results) - sum(results)
        if len(rows) < limit:
            break
    return counts


def ensure_start_request(svc: Services, case: Case) -> bool:
    """A case that has neither a run nor a start request (filed before revision 0006) gets one."""
    if case.flow_run_id or case.procedure not in procedures.starts():
        return False
    return svc.store.add_flow_start(start_request(case), svc.clock.now())


def start_now(svc: Services, case_no: str, wait: float = 0.0) -> str | None:
    """Deliver this case's start here and now (the CLI, a flow opening a linked case); if it fails,
    or another dispatcher has it, the request stays for the web app's dispatcher and the watchdog.
    Returns the run id once known (waiting up to `wait` seconds for another dispatcher)."""
    try:
        dispatch_flow_starts(svc, case_no=case_no)
    except Exception as exc:  # noqa: BLE001 - e.g. the database busy: the request is stored, others deliver it
        log.warning("could not deliver the start of %s here: %s", case_no, describe_error(exc))
    deadline = time.monotonic() + wait
    while True:
        run_id = svc.store.get_case(case_no).flow_run_id
        if run_id or time.monotonic() >= deadline:
            return run_id
        time.sleep(0.2)


class FlowStartDispatcher:
    """The web app's dispatcher: a background thread, woken after each intake commit and every
    `flow_start_poll_seconds`, that starts due runs `flow_start_concurrency` at a time."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(max_workers=self.svc.settings.flow_start_concurrency,
                                        thread_name_prefix="kefu-flow-start")
        self._thread = threading.Thread(target=self._run, name="kefu-flow-start-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _run(self) -> None:
        poll = self.svc.settings.flow_start_poll_seconds
        failures = 0
        while not self._stopping.is_set():
            self._wake.wait(poll if not failures else min(60.0, poll * 2 ** failures))
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.drain()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - the database itself failed: back off, keep going
                failures = min(failures + 1, 6)
                log.warning("flow-start dispatcher: %s", describe_error(exc))

    def drain(self) -> dict[str, int]:
        """Every due request, batch after batch, until none is left (or the app stops)."""
        total = {"claimed": 0, "started": 0, "failed": 0}
        while not self._stopping.is_set():
            counts = dispatch_flow_starts(self.svc, pool=self._pool)
            for k, v in counts.items():
                total[k] += v
            if counts["claimed"] < self.svc.settings.flow_start_batch:
                break
        return total

