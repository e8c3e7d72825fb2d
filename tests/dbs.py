"""The database a test's store runs on: the in-memory SQLite fake, or — with KEFU_TEST_POSTGRES=1 —
a new, migrated database on the throwaway PostgreSQL server (tests/pg.py).

The in-memory fake is the schema created once per process (`SQLModel.metadata.create_all`, again
only if a test registers more tables) and copied into each new database with SQLite's backup. A
test that is done with its store may `release` it (tests/flows/conftest.py does for every `office`):
the next `fresh_store` gets the same engine back with the pristine copy restored over its data — an
empty database as before, but SQLAlchemy's compiled statements, cached per engine, are kept: compiling
the same few hundred statements again for every scenario was an eighth of a flow test's time."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

import flows  # noqa: F401 - registers the procedures (their store extensions, hooks, …)
from tasks.platform.store import Store
from tests import pg

_pristine: dict[frozenset[str], sqlite3.Connection] = {}  # the empty schema, per set of tables
_spare: list[tuple[frozenset[str], Engine]] = []  # released engines, to be wiped and used again


def fresh_store() -> Store:
    if not pg.enabled():
        return Store(_empty_engine(), single_connection=True)
    from sqlalchemy.pool import NullPool

    from models.db import _normalise, migrate

    server = pg.server()
    url = server.url(server.create_database("unit"))
    migrate(url)
    return Store(create_engine(_normalise(url), poolclass=NullPool))


def release(store: Store) -> None:
    """The test is done with `store`: its engine may serve the next `fresh_store` (wiped first)."""
    if not pg.enabled() and store.single_connection:
        _spare.append((getattr(store.engine, "_kefu_tables", frozenset()), store.engine))


def _empty_engine() -> Engine:
    """An in-memory SQLite engine holding the empty schema (as `Store.in_memory` makes it)."""
    tables = frozenset(SQLModel.metadata.tables)
    if tables not in _pristine:
        schema = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
        SQLModel.metadata.create_all(schema)
        _pristine[tables] = schema.raw_connection().driver_connection
    while _spare:
        used_for, engine = _spare.pop()
        if used_for == tables:
            break
    else:
        engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
        engine._kefu_tables = tables
    raw = engine.raw_connection()
    try:
        raw.driver_connection.rollback()
        _pristine[tables].backup(raw.driver_connection)  # replaces every page: schema and no rows
    finally:
        raw.close()
    return engine
