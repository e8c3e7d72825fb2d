"""The Prefect server the in-process flow tests talk to: Prefect's test harness, made quicker to start
— a temporary SQLite database copied from a migrated template (made by the first session, kept in the
temp directory per Prefect version; migrating a new database was half of the start), a server
subprocess with the services the tests never read switched off.

    python -m tests.flows.prefect_server     # prints the API URL, serves until interrupted"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

QUIET_SERVER = {
    "PREFECT_LOGGING_TO_API_ENABLED": False,
    "PREFECT_API_BLOCKS_REGISTER_ON_START": False,
    "PREFECT_SERVER_ANALYTICS_ENABLED": False,
    "PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED": False,
    **{f"PREFECT_SERVER_SERVICES_{name}_ENABLED": False for name in (
        "CANCELLATION_CLEANUP", "CLEANUP_RECONCILER", "EVENT_LOGGER", "EVENT_PERSISTER", "FOREMAN",
        "LATE_RUNS", "PAUSE_EXPIRATIONS", "REPOSSESSOR", "SCHEDULER", "TASK_RUN_RECORDER", "TRIGGERS")},
}


def _template() -> Path:
    import prefect

    return Path(tempfile.gettempdir()) / f"kefu-prefect-test-{prefect.__version__}.db"


def _keep_as_template(db: Path, template: Path) -> None:
    """A consistent copy of the migrated database (SQLite's backup, whatever the journal), renamed
    into place at once so a parallel session never reads half a file."""
    part = template.with_name(f"{template.name}.{os.getpid()}.part")
    with sqlite3.connect(db) as src, sqlite3.connect(part) as dst:
        src.backup(dst)
    os.replace(part, template)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def quiet_server() -> Iterator[str]:
    """A temporary Prefect server for this process's flow runs; yields the API URL."""
    import prefect.settings as ps
    from prefect.events.worker import EventsWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.utilities.asyncutils import run_coro_as_sync

    home = Path(tempfile.mkdtemp(prefix="kefu-prefect-test-"))
    db, template = home / "prefect.db", _template()
    if template.exists():
        shutil.copy(template, db)
    settings = {getattr(ps, name): value for name, value in QUIET_SERVER.items()}
    settings[ps.PREFECT_SERVER_DATABASE_CONNECTION_URL] = f"sqlite+aiosqlite:///{db}"
    server = SubprocessASGIServer(port=_free_port())
    try:
        with ps.temporary_settings(updates=settings):
            server.start(timeout=180)
            if not template.exists():
                _keep_as_template(db, template)
            with ps.temporary_settings(updates={ps.PREFECT_API_URL: server.api_url}):
                yield server.api_url

                async def drain() -> None:
                    result = EventsWorker.drain_all()
                    if result is not None and hasattr(result, "__await__"):
                        await result

                run_coro_as_sync(drain())
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    import signal
    import time

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill PID` stops the server subprocess too
    with quiet_server() as url:
        print(url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
