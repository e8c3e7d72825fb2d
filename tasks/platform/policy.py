"""How every I/O task runs: retried with exponential backoff, never cached.

Idempotency comes from the database (one human task per case + step, one outbox row per message
key), not from Prefect's result cache: a cached "send mail" would skip a message that a later step
queued under the same inputs, and a cached read would return a stale case after resume."""

from __future__ import annotations

from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

IO_TASK = dict(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=1),
    retry_jitter_factor=0.2,
    cache_policy=NO_CACHE,
    persist_result=False,
)
MAIL_TASK = {**IO_TASK, "retries": 4}
