"""The database a test's store runs on: the in-memory SQLite fake, or — with KEFU_TEST_POSTGRES=1 —
a new, migrated database on the throwaway PostgreSQL server (tests/pg.py)."""

from __future__ import annotations

import flows  # noqa: F401 - registers the procedures (their store extensions, hooks, …)
from tasks.platform.store import Store
from tests import pg


def fresh_store() -> Store:
    if not pg.enabled():
        return Store.in_memory()
    from sqlalchemy.pool import NullPool
    from sqlmodel import create_engine

    from models.db import _normalise, migrate

    server = pg.server()
    url = server.url(server.create_database("unit"))
    migrate(url)
    return Store(create_engine(_normalise(url), poolclass=NullPool))
