"""The runner `kefu serve` uses: Prefect's Runner, asking Prefect only for the runs it can start now.

Prefect 3.9's runner asks for *every* scheduled run of its deployments on each poll (the server caps
the answer at 200) and then starts as many as its limit allows, skipping the rest. After a burst,
hundreds of answered cases wait as `Resuming` runs for a free process: each poll then made Prefect's
server load, serialize and gzip 200 flow runs (≈ 420 KB, 0.2–0.5 s) and the runner parse them, four
times a second, to start one or two — measured in bench/load_burst.py, the throughput fell by a third
as the backlog grew. Here the poll asks for no more runs than there are free slots (plus those being
handed over, which the server still reports as scheduled), and does not ask at all when every slot is
busy. The server returns the runs oldest first, so the order is Prefect's own.

The hook is Prefect's private poller (`ScheduledRunPoller._get_scheduled_flow_runs`); Prefect is
pinned (deployments/prefect_seams.py checks the version at start)
and tests/unit/test_runner.py drives the real poller, so a change there fails loudly.
"""

from __future__ import annotations

import datetime
import time
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


# Prefect marks a deployment READY when a runner polls for it and NOT_READY after 60 s without a poll
# (its foreman); `/healthz` counts READY deployments. So a runner whose slots are all busy still polls
# (for one run, which it leaves) at least this often.
KEEPALIVE_SECONDS = 20.0


async def fetch_startable_runs(poller: Any) -> list[Any]:
    """`ScheduledRunPoller._get_scheduled_flow_runs`, bounded by the runner's free slots."""

    limiter = poller._limit_manager._limiter
    wanted = runs_to_ask_for(None if limiter is None else int(limiter.available_tokens),
                             len(poller._submitting_flow_run_ids))
    last = getattr(poller, "_kefu_last_poll", 0.0)
    if wanted == 0:
        if time.monotonic() - last < KEEPALIVE_SECONDS:
            return []
        wanted = 1
    poller._kefu_last_poll = time.monotonic()
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
