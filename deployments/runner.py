"""The runner `kefu serve` uses: Prefect's Runner, asking Prefect only for the runs it can start now.

Prefect 3.8.8's runner asks for *every* scheduled run of its deployments on each poll (the server caps
the answer at 200) and then starts as many as its limit allows, skipping the rest. After a burst,
hundreds of answered cases wait as `Resuming` runs for a free process: each poll then made Prefect's
server load, serialize and gzip 200 flow runs (≈ 420 KB, 0.2–0.5 s) and the runner parse them, four
times a second, to start one or two — measured in bench/load_burst.py, the throughput fell by a third
as the backlog grew. Here the poll asks for no more runs than there are free slots (plus those being
handed over, which the server still reports as scheduled), and does not ask at all when every slot is
busy. The server returns the runs oldest first, so the order is Prefect's own.

The hook is Prefect's private poller (`ScheduledRunPoller._get_scheduled_flow_runs`); Prefect is
pinned to 3.8.8 and tests/unit/test_runner.py drives the real poller, so a change there fails loudly.
"""

from __future__ import annotations

import datetime
from functools import partial
from typing import Any

from prefect.runner import Runner
from prefect.types._datetime import now


def runs_to_ask_for(free_slots: int | None, being_submitted: int) -> int | None:
    """How many scheduled runs one poll should fetch: None = no limit (the runner has none), 0 = skip."""
    if free_slots is None:
        return None
    if free_slots <= 0:
        return 0
    return free_slots + being_submitted


async def fetch_startable_runs(poller: Any) -> list[Any]:
    """`ScheduledRunPoller._get_scheduled_flow_runs`, bounded by the runner's free slots."""
    limiter = poller._limit_manager._limiter
    wanted = runs_to_ask_for(None if limiter is None else int(limiter.available_tokens),
                             len(poller._submitting_flow_run_ids))
    if wanted == 0:
        return []
    scheduled_before = now("UTC") + datetime.timedelta(seconds=int(poller._prefetch_seconds))
    return await poller._client.get_scheduled_flow_runs_for_deployments(
        deployment_ids=list(poller._deployment_registry.get_deployment_ids()),
        scheduled_before=scheduled_before,
        limit=wanted,
    )


class KefuRunner(Runner):
    """Prefect's Runner whose poll fetches only the runs it has room to start."""

    async def __aenter__(self) -> "KefuRunner":
        await super().__aenter__()
        poller = self._scheduled_run_poller
        poller._get_scheduled_flow_runs = partial(fetch_startable_runs, poller)
        return self
