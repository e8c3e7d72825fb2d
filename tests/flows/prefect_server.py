"""The Prefect server the in-process flow tests talk to: Prefect's test harness, made quicker to start
— a temporary SQLite database copied from a migrated template (made by the first session, kept in the
temp directory per Prefect version) and then not migrated again on start (Alembic's check of every
revision was most of the start), a server subprocess with the services the tests never read switched
off, started without importing Prefect so that it boots while pytest is still importing and collecting
(`ServerProcess`, begun by tests/flows/conftest.py when it is loaded).

    python -m tests.flows.prefect_server     # prints the API URL, serves until interrupted"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deployments.cli import LOCAL_API_CA

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
    return Path(tempfile.gettempdir()) / f"kefu-prefect-test-{importlib.metadata.version('prefect')}.db"


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


class ServerProcess:
    """A temporary Prefect server (uvicorn on Prefect's app factory, as Prefect's own
    `SubprocessASGIServer` runs it) on a free port and its own database; `start()` returns at once,
    `wait()` until it answers."""

    def __init__(self, record_task_runs: bool = False) -> None:
        # record_task_runs: the task-run recorder on (bench/task_runs.py counts what the server records)
        self.record_task_runs = record_task_runs
        self.home = Path(tempfile.mkdtemp(prefix="kefu-prefect-test-"))
        self.db, self.template = self.home / "prefect.db", _template()
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.proc: subprocess.Popen | None = None
        self.migrated = False

    def start(self) -> ServerProcess:
        self.migrated = self.template.exists()
        if self.migrated:
            shutil.copy(self.template, self.db)
        quiet = QUIET_SERVER | ({"PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": True}
                                if self.record_task_runs else {})
        env = {**os.environ, **{k: str(v) for k, v in quiet.items()},
               "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{self.db}",
               "PREFECT_API_DATABASE_MIGRATE_ON_START": str(not self.migrated),
               "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        env.pop("PREFECT_API_URL", None)
        prefect_dir = Path(importlib.util.find_spec("prefect").origin).parent
        self.log = (self.home / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect_dir.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout: float = 180) -> str:
        """Until /api/health answers 200; then (first session of this Prefect version) keep the
        migrated database as the template. Returns the API URL."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the test Prefect server exited ({self.proc.returncode}):\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test Prefect server did not answer in {timeout} s:\n{self.output()}")
            time.sleep(0.1)
        if not self.migrated and not self.template.exists():
            _keep_as_template(self.db, self.template)
        return self.api_url

    def output(self) -> str:
        return (self.home / "server.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


@contextmanager
def client_settings(api_url: str, events: bool = False) -> Iterator[None]:
    """This process's flow runs against `api_url`, quietly: no run logs shipped to the API, no
    Prefect events (nothing here reads them; sending them cost the client and the server a
    websocket message per task-run state), no heartbeat thread (it sleeps in whole seconds and the
    engine joins it as the run ends: up to 1 s more per flow run), no CSRF token or server-version
    handshake for each client the engine opens (four of a flow run's requests). `events=True` sends
    the events as a served run does (bench/task_runs.py: the server records task runs from them).

    As `kefu up` does for its plain-http API (deployments/cli.py `prefect_env`), the clients verify
    against a one-certificate CA bundle, not certifi's: Prefect builds a verifying SSL context for
    every client it opens, and loading certifi's bundle was a sixth of a flow run here (≈ 0.17 s
    each under load). The default result storage is a block named in the settings, so the engine
    no longer asks the server for its default three times per flow run (`GET /admin/storage`, a
    third of a flow run's requests): it is resolved once and cached by Prefect."""
    import prefect.settings as ps
    from prefect.events.clients import NullEventsClient
    from prefect.events.worker import EventsWorker

    if not events:
        EventsWorker.set_client_override(NullEventsClient)
    results = Path(tempfile.mkdtemp(prefix="kefu-prefect-results-"))
    try:
        with ps.temporary_settings(updates={ps.PREFECT_API_URL: api_url,
                                            ps.PREFECT_API_SSL_CERT_FILE: str(LOCAL_API_CA),
                                            ps.PREFECT_LOGGING_TO_API_ENABLED: False,
                                            ps.PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                                            ps.PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: False,
                                            ps.PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED: False}):
            with ps.temporary_settings(updates={ps.PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK:
                                                _result_storage_block(results)}):
                yield
    finally:
        EventsWorker.set_client_override(None)
        shutil.rmtree(results, ignore_errors=True)


def _result_storage_block(basepath: Path) -> str:
    """A local-file-system block on the server for this session's results; its slug."""
    from prefect.filesystems import LocalFileSystem

    LocalFileSystem(basepath=str(basepath)).save("kefu-test-results", overwrite=True)
    return "local-file-system/kefu-test-results"


@contextmanager
def quiet_server(server: ServerProcess | None = None, events: bool = False) -> Iterator[str]:
    """A temporary Prefect server (the one given, already starting, or a new one) for this process's
    flow runs; yields the API URL."""
    server = server or ServerProcess().start()
    try:
        url = server.wait()
        with client_settings(url, events=events):
            yield url
    finally:
        server.stop()


if __name__ == "__main__":
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill PID` stops the server subprocess too
    with quiet_server() as url:
        print(url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
