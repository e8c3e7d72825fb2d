"""The runner `kefu serve` uses: Prefect's Runner, asking Prefect only for the runs it can start now.

Prefect 3.9's runner asks for *every* scheduled run of its deployments on each poll (the server caps
the answer at 200) and then starts as many as its limit allows, skipping the rest. After a burst,
hundreds of answered cases wait as `Resuming` runs for a free process: each poll then made Prefect's
server load, serialize and gzip 200 flow runs (≈ 420 KB, 0.2–0.5 s) and the runner parse them, four
times a second, to start one or two — measured in bench/load_burst.py, the throughput fell by a third
as the backlog grew. Here the poll asks for no more runs than there are free slots (plus those being
handed over, which the server still reports as scheduled), and does not ask at all when every slot is
busy. The server returns the runs oldest first, so the order is Prefect's own.

The poll is also woken by Prefect's own events (`RunWaker`): the runner subscribes to Prefect's event
stream (the websocket `prefect.events.clients.get_events_subscriber`, as Prefect's runner does for
cancellations) and, when a run of a served deployment becomes Scheduled — a new case, or `Resuming`
after an answer — runs the same bounded poll at once instead of at its next tick. Limits and the
one-process-per-run rule are the poller's own, untouched; the timed poll stays, so a lost websocket
costs at most one poll interval, never a run.

The hooks are Prefect's private poller (`ScheduledRunPoller._get_scheduled_flow_runs`, `run`,
`_get_and_submit_flow_runs`, `_submit_run`); Prefect is pinned (deployments/prefect_seams.py checks the
version at start) and tests/unit/test_runner.py drives the real poller, so a change there fails loudly.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import anyio
from prefect.events import Event
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.logging import get_logger
from prefect.runner import Runner
from prefect.types._datetime import now


def runs_to_ask_for(free_slots: int | None, being_submitted: int) -> int | None:
    """How many scheduled runs one poll should fetch: None = no limit (the runner has none), 0 = skip."""
    if free_slots is None:
        return None
    if free_slots <= 0:
        return 0
    return free_slots + being_submitted


# Prefect marks a deployment READY when a runner polls for it and NOT_READY after 60 s without a poll
# (its foreman); `/healthz` counts READY deployments. So a runner whose slots are all busy still polls
# (for one run, which it leaves) at least this often.
KEEPALIVE_SECONDS = 20.0


def _fetch_lock(poller: Any) -> asyncio.Lock:
    lock = getattr(poller, "_kefu_fetch_lock", None)
    if lock is None:
        lock = poller._kefu_fetch_lock = asyncio.Lock()
    return lock


async def fetch_startable_runs(poller: Any) -> list[Any]:
    """`ScheduledRunPoller._get_scheduled_flow_runs`, bounded by the runner's free slots.

    One fetch at a time (the timed poll and an event's wake may meet): the poller takes its slots for
    what a fetch returned before it gives the loop back, so the next fetch counts them as taken."""

    async with _fetch_lock(poller):
        limiter = poller._limit_manager._limiter
        free = None if limiter is None else int(limiter.available_tokens)
        wanted = runs_to_ask_for(free, len(poller._submitting_flow_run_ids))
        last = getattr(poller, "_kefu_last_poll", 0.0)
        # more may be waiting than this fetch takes: a slot freed later is worth a fetch at once
        poller._kefu_backlog = wanted == 0
        if wanted == 0:
            if time.monotonic() - last < KEEPALIVE_SECONDS:
                return []
            wanted = 1
        poller._kefu_last_poll = time.monotonic()
        scheduled_before = now("UTC") + datetime.timedelta(seconds=int(poller._prefetch_seconds))
        runs = await poller._client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(poller._deployment_registry.get_deployment_ids()),
            scheduled_before=scheduled_before,
            limit=wanted,
        )
        if wanted is not None and len(runs) >= wanted:
            poller._kefu_backlog = True
        return runs


# The flow-run events after which a run of a served deployment may be startable: created (a new case,
# a scheduled report) and resumed after an answer (Prefect's server sets `Scheduled` named `Resuming`).
WAKE_EVENTS = ("prefect.flow-run.Scheduled", "prefect.flow-run.Resuming")


def startable_run(event: Event, deployment_ids: Iterable[uuid.UUID]) -> uuid.UUID | None:
    """The flow run this event says a runner serving `deployment_ids` may now start, or None."""
    if event.event not in WAKE_EVENTS or not event.resource.id.startswith("prefect.flow-run."):
        return None
    served = {f"prefect.deployment.{d}" for d in deployment_ids}
    if not any(r.role == "deployment" and r.id in served for r in event.related):
        return None
    try:
        return uuid.UUID(event.resource.id.removeprefix("prefect.flow-run."))
    except ValueError:
        return None


class RunWaker:
    """Runs the poller's bounded fetch as soon as Prefect's event stream says a served run is startable.

    - `notice(event)` (each event from the websocket): remember the run, wake the fetch loop.
    - `serve()`: on each wake one bounded fetch (`_get_and_submit_flow_runs`, the poller's own). The
      event can arrive a moment before the state's transaction is visible to the next request (Prefect's
      server publishes it inside the transition), so a run the fetch did not return is fetched for again
      after `retry_delays`; past those, the timed poll has it. A run that found every slot busy, or that
      was resumed while its previous process (the one that suspended) was still exiting — the poller
      skips a run it still holds — is fetched for again when a process ends (`process_ended`).
    - `listen()`: the websocket, reconnected after a pause when lost; meanwhile the timed poll alone
      starts runs, as before.
    """

    def __init__(self, poller: Any,
                 subscriber_factory: Callable[[EventFilter], Any] | None = None,
                 retry_delays: tuple[float, ...] = (0.05, 0.15, 0.4),
                 reconnect_seconds: float = 2.0) -> None:
        self.poller = poller
        self.subscriber_factory = subscriber_factory or (
            lambda f: get_events_subscriber(filter=f, reconnection_attempts=0))
        self.retry_delays = retry_delays
        self.reconnect_seconds = reconnect_seconds
        self.expected: dict[uuid.UUID, int] = {}  # run id → fetches made for it
        self.wakes = 0  # fetches made on a wake (for tests and logs)
        self.connected = False
        self._wake = asyncio.Event()
        self._logger = get_logger("runner.wake")

    @staticmethod
    def event_filter() -> EventFilter:
        # by name only: Prefect's live stream does not apply related-resource filters (the deployment is
        # checked here, `startable_run`)
        return EventFilter(event=EventNameFilter(name=list(WAKE_EVENTS)))

    def notice(self, event: Event) -> uuid.UUID | None:
        run_id = startable_run(event, self.poller._deployment_registry.get_deployment_ids())
        if run_id is not None:
            self.expected.setdefault(run_id, 0)
            self._wake.set()
        return run_id

    def submitting(self, run_id: uuid.UUID) -> None:
        """The poller hands this run to a process now: it is started."""
        self.expected.pop(run_id, None)

    def process_ended(self) -> None:
        """A run's process has ended and its slot is free: a run waiting for that slot, or one resumed
        while its previous process was still exiting (the poller skips a run it still holds), can start."""
        if self.expected or getattr(self.poller, "_kefu_backlog", False):
            self._wake.set()

    async def wake_once(self) -> None:
        """One fetch for the runs noticed so far; what it did not start is kept for a retry."""
        self._wake.clear()
        self.wakes += 1
        await self.poller._get_and_submit_flow_runs()
        held = self.poller._submitting_flow_run_ids  # being handed over now, or its previous process exiting
        full = getattr(self.poller, "_kefu_backlog", False) and self._no_free_slot()
        for run_id in list(self.expected):
            if run_id in held or full:
                continue  # the end of a process wakes the fetch again (`process_ended`)
            # a fetch with room that did not return it: its new state is not visible yet (or another
            # runner took it); fetched for again after the next delay, then left to the timed poll
            self.expected[run_id] += 1
            if self.expected[run_id] > len(self.retry_delays):
                del self.expected[run_id]

    def _no_free_slot(self) -> bool:
        limiter = self.poller._limit_manager._limiter
        return limiter is not None and limiter.available_tokens <= 0

    def _next_retry(self) -> float | None:
        tries = [n for n in self.expected.values() if n > 0]
        return self.retry_delays[min(tries) - 1] if tries else None

    async def serve(self) -> None:
        while not self.poller.stopping:
            delay = self._next_retry()
            if delay is None:
                await self._wake.wait()
            else:
                with anyio.move_on_after(delay):
                    await self._wake.wait()
            if self.poller.stopping:
                return
            try:
                await self.wake_once()
            except Exception:  # noqa: BLE001 - Prefect's API briefly unreachable: the timed poll goes on
                self._logger.warning("fetch on a wake failed", exc_info=True)
                self.expected.clear()

    async def listen(self) -> None:
        while not self.poller.stopping:
            try:
                async with self.subscriber_factory(self.event_filter()) as subscriber:
                    self.connected = True
                    self._logger.info("waking on Prefect's flow-run events (%s)", ", ".join(WAKE_EVENTS))
                    async for event in subscriber:
                        self.notice(event)
            except Exception as exc:  # noqa: BLE001 - the websocket is lost: the timed poll goes on
                self._logger.warning("Prefect's event stream lost (%s): polling only, reconnecting", exc)
            finally:
                self.connected = False
            await anyio.sleep(self.reconnect_seconds)


def wire_waker(poller: Any, waker: RunWaker) -> None:
    """The poller's loop runs the waker beside it (`run`), and a finished run's freed slot wakes it."""
    run, submit_run = poller.run, poller._submit_run

    async def run_with_wakes() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(waker.listen)
            group.start_soon(waker.serve)
            await run()

    async def submit_and_wake(flow_run: Any, *args: Any, **kwargs: Any) -> None:
        waker.submitting(flow_run.id)
        try:
            await submit_run(flow_run, *args, **kwargs)
        finally:
            waker.process_ended()

    poller.run = run_with_wakes
    poller._submit_run = submit_and_wake


class KefuRunner(Runner):
    """Prefect's Runner whose poll fetches only the runs it has room to start, woken by Prefect's events."""

    def __init__(self, *args: Any, wake_on_events: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_on_events = wake_on_events
        self.waker: RunWaker | None = None

    async def __aenter__(self) -> "KefuRunner":
        await super().__aenter__()
        poller = self._scheduled_run_poller
        poller._get_scheduled_flow_runs = partial(fetch_startable_runs, poller)
        if self._wake_on_events:
            self.waker = RunWaker(poller)
            wire_waker(poller, self.waker)
        return self

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        """A clean stop (Prefect's own handler calls the async `stop()` from a signal handler, which
        leaves its coroutine never awaited, then raises SystemExit inside the event loop): stop polling
        and leave the loop; `__aexit__` pauses the schedules. Runs waiting on a person are suspended and
        hold no process, so they stay waiting; a run caught mid-step is put back to SCHEDULED by
        `kefu recover` at the next start."""
        self._logger.info("SIGTERM received: no new runs, stopping")
        poller = getattr(self, "_scheduled_run_poller", None)
        if poller is not None:
            poller.stopping = True
        group = getattr(self, "_loops_task_group", None)
        loop = getattr(self, "_loop", None)
        if group is not None and loop is not None:
            loop.call_soon_threadsafe(group.cancel_scope.cancel)
