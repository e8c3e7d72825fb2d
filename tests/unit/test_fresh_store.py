"""The test store (tests/dbs.py): a released store's engine serves the next test, and that test still
starts on an empty database — no rows, no numbers used — or every flow scenario would see the last one's."""

from sqlalchemy import func, select
from sqlmodel import SQLModel

from tests import pg
from tests.dbs import fresh_store, release


def rows(store) -> dict[str, int]:
    """The tables that hold any row, with their counts."""
    with store.engine.connect() as c:
        counts = {t.name: c.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in SQLModel.metadata.sorted_tables}
    return {name: n for name, n in counts.items() if n}


def file_one(store) -> str:
    case, created = store.create_case(procedure="complaint", prefix="TS", year=2026, state="open", title="t",
                                      data={"x": 1}, idempotency_key="k-1")
    assert created
    return case.case_no


def test_a_released_store_comes_back_empty_with_its_numbers_unused():
    first = fresh_store()
    assert rows(first) == {}
    assert file_one(first) == "TS-2026-000001"
    assert rows(first)  # the case, its event, its counter
    release(first)

    second = fresh_store()
    if not pg.enabled():
        assert second.engine is first.engine  # the same engine (its compiled statements kept) …
    assert rows(second) == {}  # … wiped: nothing of the first test is left
    assert file_one(second) == "TS-2026-000001"  # the idempotency key is free, the numbers start again
    release(second)


def test_stores_in_use_at_once_are_separate():
    a, b = fresh_store(), fresh_store()
    assert a.engine is not b.engine
    file_one(a)
    assert rows(b) == {}
