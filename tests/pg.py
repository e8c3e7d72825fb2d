"""A throwaway PostgreSQL server for the test suite (Debian's postgresql package).

`KEFU_TEST_POSTGRES=1` makes the whole suite run on it: every end-to-end stack gets its own
application database and its own Prefect database on this server, and the store tests run on it
too. The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port, and is
stopped when the test process exits."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from functools import lru_cache
from pathlib import Path

USER, PASSWORD = "kefu", "kefu-test"


def enabled() -> bool:
    return os.environ.get("KEFU_TEST_POSTGRES", "") not in ("", "0")


def installed() -> bool:
    try:
        _bindir()
    except RuntimeError:
        return False
    return True


def only_in_make_test():  # noqa: ANN201
    """For tests that always run on PostgreSQL (scale-out, bursts): once, in `make test`; skipped where
    the server is not installed (`.ci/run` installs it)."""
    import pytest

    return [pytest.mark.skipif(enabled(), reason="runs on PostgreSQL in `make test` already"),
            pytest.mark.skipif(not installed(), reason="needs PostgreSQL (Debian: apt-get install postgresql)")]


def _bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")


def _as_owner(owner: str | None, cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the package's `postgres` user
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


class PostgresServer:
    def __init__(self) -> None:
        bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        owner = "postgres" if os.geteuid() == 0 else None
        if owner:
            shutil.chown(self.dir, owner)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.data = self.dir / "data"
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD)
        if owner:
            shutil.chown(pwfile, owner)
        run = lambda cmd: subprocess.run(_as_owner(owner, cmd), check=True, capture_output=True)  # noqa: E731
        run([str(bindir / "initdb"), "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile),
             "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8"])
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        run([str(bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"),
             "-w", "-t", "60", "start"])
        self._stop = lambda: subprocess.run(
            _as_owner(owner, [str(bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]),
            capture_output=True)
        atexit.register(self.close)

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "kefu") -> str:
        """A new empty database; returns its name."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def close(self) -> None:
        if self._stop:
            self._stop()
            self._stop = None
            shutil.rmtree(self.dir, ignore_errors=True)


@lru_cache(maxsize=1)
def server() -> PostgresServer:
    """The test process's server, started on first use."""
    return PostgresServer()


def stack_env() -> dict[str, str]:
    """Environment for one end-to-end stack on PostgreSQL: its own app and Prefect databases."""
    pg = server()
    return {"KEFU_DATABASE_URL": pg.url(pg.create_database("kefu")),
            "KEFU_PREFECT_DATABASE_URL": pg.url(pg.create_database("prefect"), "postgresql+asyncpg")}
