"""Kefu's runner asks Prefect only for the runs it can start: driven through Prefect's own poller and
limit manager, with a client that records what it was asked."""

import uuid

import anyio
from prefect.runner._deployment_registry import DeploymentRegistry
from prefect.runner._limit_manager import LimitManager
from prefect.runner._scheduled_run_poller import ScheduledRunPoller

from deployments.runner import fetch_startable_runs, runs_to_ask_for


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
