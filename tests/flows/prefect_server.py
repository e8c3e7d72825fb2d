"""The Prefect server the in-process flow tests talk to: Prefect's test harness (a temporary SQLite
database, a server subprocess) with the services the tests never read switched off.

    python -m tests.flows.prefect_server     # prints the API URL, serves until interrupted"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

QUIET_SERVER = {
    "PREFECT_LOGGING_TO_API_ENABLED": False,
    "PREFECT_SERVER_ANALYTICS_ENABLED": False,
    "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED": False,
    **{f"PREFECT_SERVER_SERVICES_{name}_ENABLED": False for name in (
        "CANCELLATION_CLEANUP", "CLEANUP_RECONCILER", "EVENT_LOGGER", "EVENT_PERSISTER", "FOREMAN",
        "LATE_RUNS", "PAUSE_EXPIRATIONS", "REPOSSESSOR", "SCHEDULER", "TASK_RUN_RECORDER", "TRIGGERS")},
}


@contextmanager
def quiet_server() -> Iterator[str]:
    """Prefect's test harness, quiet; yields the API URL."""
    import prefect.settings
    from prefect.testing.utilities import prefect_test_harness

    updates = {getattr(prefect.settings, name): value for name, value in QUIET_SERVER.items()}
    with prefect.settings.temporary_settings(updates=updates), prefect_test_harness(server_startup_timeout=180):
        yield prefect.settings.PREFECT_API_URL.value()


if __name__ == "__main__":
    import time

    with quiet_server() as url:
        print(url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
