"""Kefu's runner asks Prefect only for the runs it can start: driven through Prefect's own poller and
limit manager, with a client that records what it was asked; and the wake on Prefect's events that
starts a resumed run at once (RunWaker), on the real poller with a fake API and event stream."""

import time
import uuid
from datetime import datetime, timezone
from functools import partial
from types import SimpleNamespace

import anyio
from prefect.events import Event
from prefect.runner._deployment_registry import DeploymentRegistry
from prefect.runner._limit_manager import LimitManager
from prefect.runner._scheduled_run_poller import ScheduledRunPoller

from deployments.runner import (
    WAKE_EVENTS,
    RunWaker,
    fetch_startable_runs,
    runs_to_ask_for,
    startable_run,
    wire_waker,
)


def test_runs_to_ask_for():
    assert runs_to_ask_for(None, 3) is None  # no limit: ask for everything, like Prefect
    assert runs_to_ask_for(0, 5) == 0  # every slot busy: do not ask
    assert runs_to_ask_for(2, 0) == 2
    assert runs_to_ask_for(2, 3) == 5  # runs being handed over still look scheduled to the server


class RecordingClient:
    def __init__(self) -> None:
        self.asked: list[dict] = []

    async def get_scheduled_flow_runs_for_deployments(self, **kwargs):
        self.asked.append(kwargs)
        return ["a run"]


def poller(limit: int | None, client: RecordingClient) -> tuple[ScheduledRunPoller, LimitManager]:
    registry = DeploymentRegistry()
    deployment = uuid.uuid4()
    registry.register_deployment(deployment, "complaint")
    limits = LimitManager(limit=limit)
    none = None
    p = ScheduledRunPoller(query_seconds=0.25, prefetch_seconds=10, client=client, limit_manager=limits,
                           deployment_registry=registry, resolve_starter=none, runs_task_group=none,
                           storage_objs=[], process_manager=none, state_proposer=none, hook_runner=none,
                           cancellation_manager=none, get_attempt_conclusion=none)
    return p, limits


def test_the_poll_asks_for_free_slots_only_and_not_at_all_when_full():
    async def scenario():
        client = RecordingClient()
        p, limits = poller(2, client)
        async with limits:
            assert await fetch_startable_runs(p) == ["a run"]
            assert client.asked[-1]["limit"] == 2
            assert len(client.asked[-1]["deployment_ids"]) == 1

            first = limits.acquire()
            p._submitting_flow_run_ids.add(uuid.uuid4())
            await fetch_startable_runs(p)
            assert client.asked[-1]["limit"] == 2  # one free + one being handed over

            limits.acquire()  # full
            asked = len(client.asked)
            assert await fetch_startable_runs(p) == []
            assert len(client.asked) == asked  # Prefect's server was not asked

            limits.release(first)
            await fetch_startable_runs(p)
            assert client.asked[-1]["limit"] == 2

    anyio.run(scenario)


def test_without_a_limit_the_poll_asks_like_prefect():
    async def scenario():
        client = RecordingClient()
        p, limits = poller(None, client)
        async with limits:
            await fetch_startable_runs(p)
        assert client.asked[-1]["limit"] is None

    anyio.run(scenario)


# ---- the wake on Prefect's events (RunWaker) ------------------------------------------------------------

def flow_run_event(name: str, run_id: uuid.UUID, deployment: uuid.UUID) -> Event:
    return Event(event=f"prefect.flow-run.{name}", resource={"prefect.resource.id": f"prefect.flow-run.{run_id}"},
                 related=[{"prefect.resource.id": f"prefect.deployment.{deployment}",
                           "prefect.resource.role": "deployment"}])


def test_startable_run_is_a_scheduled_or_resumed_run_of_a_served_deployment():
    served, other, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert startable_run(flow_run_event("Resuming", run, served), [served]) == run
    assert startable_run(flow_run_event("Scheduled", run, served), [served]) == run
    assert startable_run(flow_run_event("Resuming", run, other), [served]) is None  # another runner's
    assert startable_run(flow_run_event("Running", run, served), [served]) is None
    assert startable_run(flow_run_event("Suspended", run, served), [served]) is None


class FakeServer:
    """Prefect's API as the poller sees it: scheduled runs, oldest first; proposing Pending claims one.
    A claimed run 'runs' (holds its slot) until the test lets it finish."""

    def __init__(self) -> None:
        self.scheduled: dict[uuid.UUID, SimpleNamespace] = {}
        self.started: dict[uuid.UUID, float] = {}  # the last start of each run
        self.starts: list[uuid.UUID] = []
        self.finish: dict[uuid.UUID, anyio.Event] = {}
        self.fetches = 0

    def schedule(self, run_id: uuid.UUID) -> None:
        self.scheduled[run_id] = SimpleNamespace(id=run_id, next_scheduled_start_time=datetime.now(timezone.utc))

    async def get_scheduled_flow_runs_for_deployments(self, deployment_ids, scheduled_before, limit=None):
        self.fetches += 1
        runs = sorted(self.scheduled.values(), key=lambda r: r.next_scheduled_start_time)
        return runs if limit is None else runs[:limit]

    async def propose_pending(self, flow_run) -> bool:  # the run's process, from Pending to its exit
        if self.scheduled.pop(flow_run.id, None) is None:
            return False
        self.started[flow_run.id] = time.monotonic()
        self.starts.append(flow_run.id)
        finish = self.finish[flow_run.id] = anyio.Event()
        await finish.wait()
        return False  # nothing more for the poller to do: it releases the slot


class FakeSubscriber:
    """`get_events_subscriber`: events the test sends; `lose()` ends the connection with an error."""

    def __init__(self) -> None:
        self.send, self.receive = anyio.create_memory_object_stream(100)
        self.connections = 0

    def __call__(self, event_filter):
        assert set(event_filter.event.name) == set(WAKE_EVENTS)
        self.connections += 1
        return self

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    def __aiter__(self):
        return self

    async def __anext__(self):
        item = await self.receive.receive()
        if isinstance(item, Exception):
            raise item
        return item


def served_poller(server: FakeServer, limit: int | None, group, query_seconds: float = 3600):
    registry = DeploymentRegistry()
    deployment = uuid.uuid4()
    registry.register_deployment(deployment, "complaint")
    limits = LimitManager(limit=limit)
    none = None
    p = ScheduledRunPoller(query_seconds=query_seconds, prefetch_seconds=10, client=server, limit_manager=limits,
                           deployment_registry=registry, resolve_starter=none, runs_task_group=group,
                           storage_objs=[], process_manager=none, state_proposer=server, hook_runner=none,
                           cancellation_manager=none, get_attempt_conclusion=none)
    p._get_scheduled_flow_runs = partial(fetch_startable_runs, p)
    return p, limits, deployment


async def started_within(server: FakeServer, run_id: uuid.UUID, seconds: float) -> float | None:
    t0 = time.monotonic()
    with anyio.move_on_after(seconds):
        while run_id not in server.started:
            await anyio.sleep(0.005)
        return server.started[run_id] - t0
    return None


def test_a_resumed_run_starts_on_prefects_event_not_at_the_next_poll():
    """The timed poll is an hour here: every start below is the wake's."""

    async def scenario():
        server, events = FakeServer(), FakeSubscriber()
        async with anyio.create_task_group() as group:
            p, limits, deployment = served_poller(server, 2, group)
            waker = RunWaker(p, subscriber_factory=events, retry_delays=(0.05, 0.15, 0.4))
            wire_waker(p, waker)
            async with limits:
                group.start_soon(p.run)
                await anyio.sleep(0.1)  # the first timed poll (at start) found nothing
                polls = server.fetches

                # an answer: Prefect sets the run Scheduled/Resuming and says so on its event stream
                resumed = uuid.uuid4()
                server.schedule(resumed)
                await events.send.send(flow_run_event("Resuming", resumed, deployment))
                assert await started_within(server, resumed, 1.0) is not None
                assert server.fetches == polls + 1  # one bounded fetch, on the event

                # the event a moment before the state is visible to the next request: fetched again shortly
                early = uuid.uuid4()
                await events.send.send(flow_run_event("Resuming", early, deployment))
                await anyio.sleep(0.02)
                server.schedule(early)
                assert await started_within(server, early, 1.0) is not None

                # every slot busy: the run waits for a slot, and starts as soon as one is freed
                queued = uuid.uuid4()
                server.schedule(queued)
                await events.send.send(flow_run_event("Resuming", queued, deployment))
                await anyio.sleep(0.3)
                assert queued not in server.started  # limit 2: `resumed` and `early` hold both slots
                assert int(limits._limiter.available_tokens) == 0
                server.finish[resumed].set()
                assert await started_within(server, queued, 1.0) is not None

                # resumed while the process that suspended it is still exiting (the poller still holds the
                # run and skips it): started again as soon as that process ends
                server.finish[early].set()
                await anyio.sleep(0.05)  # `queued` and `early` ran; `early` ended: one slot free
                again = queued
                del server.started[again]
                server.schedule(again)
                await events.send.send(flow_run_event("Resuming", again, deployment))
                await anyio.sleep(0.3)
                assert again not in server.started and again in p._submitting_flow_run_ids
                server.finish[again].set()
                assert await started_within(server, again, 1.0) is not None
                assert server.starts.count(again) == 2

                # another runner's deployment: no fetch
                fetches = server.fetches
                await events.send.send(flow_run_event("Resuming", uuid.uuid4(), uuid.uuid4()))
                await anyio.sleep(0.2)
                assert server.fetches == fetches

                p.stopping = True
                for finish in server.finish.values():
                    finish.set()
                group.cancel_scope.cancel()

    anyio.run(scenario)


def test_a_lost_event_stream_loses_no_run_the_poll_starts_it_and_the_stream_comes_back():
    async def scenario():
        server, events = FakeServer(), FakeSubscriber()
        async with anyio.create_task_group() as group:
            p, limits, deployment = served_poller(server, 4, group, query_seconds=0.3)
            waker = RunWaker(p, subscriber_factory=events, reconnect_seconds=0.5)
            wire_waker(p, waker)
            async with limits:
                group.start_soon(p.run)
                await anyio.sleep(0.05)
                assert waker.connected
                await events.send.send(ConnectionError("websocket closed"))
                await anyio.sleep(0.05)
                assert not waker.connected

                missed = uuid.uuid4()  # its event went nowhere: the timed poll starts it
                server.schedule(missed)
                assert await started_within(server, missed, 2.0) is not None

                await anyio.sleep(0.6)
                assert waker.connected and events.connections == 2  # reconnected
                woken = uuid.uuid4()
                server.schedule(woken)
                await events.send.send(flow_run_event("Scheduled", woken, deployment))
                assert await started_within(server, woken, 1.0) is not None

                p.stopping = True
                for finish in server.finish.values():
                    finish.set()
                group.cancel_scope.cancel()

    anyio.run(scenario)
