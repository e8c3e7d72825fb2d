"""The API-key check's share of an intake POST (issue 18 / issue 24), in-process: the real web app and
store on the embedded PostgreSQL of tests/pg.py (the production engine: `models.db.make_engine`, its
pool and pre-ping), mail and flow runs on the fakes, no Prefect, no HTTP server. `--n` sequential
`POST /api/complaints` with an API key, each timed; and, for the floor, the same POSTs as a signed-in
staff member (no key at all). Prints the medians in milliseconds.

    .venv/bin/python bench/key_check.py [--n 500]

Not a load test (bench/intake.py is, on a whole stack): one client, so the figures are the request's
own work, database round trips included.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from starlette.testclient import TestClient

    from tasks.platform.runtime import Services

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bench.common import COMPLAINT, pct  # noqa: E402

BODY = {**COMPLAINT, "received_by": "li.na@huajin.example"}


def services(home: Path) -> Services:
    from models.db import make_engine, migrate
    from models.settings import Settings
    from tasks.platform.clock import SystemClock
    from tasks.platform.runtime import build_services
    from tasks.platform.store import Store
    from tests import pg

    server = pg.server()
    url = server.url(server.create_database("bench"))
    migrate(url)
    settings = Settings(env="test", secret_key="bench-secret-key-0123456789abcdef", home=home, mail_backend="memory",
                        flow_backend="memory", base_url="http://kefu.test", flow_start_in_web=False)
    return build_services(settings, store=Store(make_engine(url)), clock=SystemClock())


def round_trips(engine: Engine, client: TestClient, headers: dict[str, str], n: int = 20) -> str:
    """Per POST: database connections taken from the pool, statements sent (pre-pings included), and
    how many of them read api_keys — counted, so independent of the machine's load."""
    from sqlalchemy import event

    seen = {"checkouts": 0, "statements": 0, "api_keys": 0}

    def checkout(*_a: object) -> None:
        seen["checkouts"] += 1

    def statement(_c: object, _cur: object, sql: str, *_a: object) -> None:
        seen["statements"] += 1
        seen["api_keys"] += "api_keys" in sql

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        timed(client, n, headers)
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "before_cursor_execute", statement)
    return ", ".join(f"{v / n:g} {k}" for k, v in seen.items())


def key_checks(svc: Services, key: str, n: int) -> dict[str, list[float]]:
    """The key check alone, the two ways interleaved (the same machine load for both): in a session
    of its own (`store.api_key_for`: a pooled connection, its pre-ping, the lookup, the transaction's
    end) and as one statement of a transaction already open (`store.check_key_in`, as the intake
    runs it; absent before access2)."""
    now = svc.clock.now()
    own, inside = [], []
    key_id = svc.store.api_key_for(key, now).id
    for _ in range(n):
        t0 = time.perf_counter()
        svc.store.api_key_for(key, now)
        own.append((time.perf_counter() - t0) * 1000)
        if hasattr(svc.store, "check_key_in"):
            with svc.store.session() as s:
                s.execute(text("SELECT 1"))  # the intake's transaction, already open
                t0 = time.perf_counter()
                svc.store.check_key_in(s, key_id, now)
                inside.append((time.perf_counter() - t0) * 1000)
    out = {"key check in its own session (before)": own}
    if inside:
        out["key check in the intake's transaction"] = inside
    return out


def timed(client: TestClient, n: int, headers: dict[str, str]) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.post("/api/complaints", json=BODY, headers=headers)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.text
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    from starlette.testclient import TestClient

    from models.access import new_api_key
    from webapp.app import create_app
    from webapp.passwords import hash_password

    with tempfile.TemporaryDirectory() as home:
        svc = services(Path(home))
        key = new_api_key()
        svc.store.add_api_key(name="bench", key=key, scopes=["complaints"], by="bench", now=svc.clock.now())
        svc.store.set_password_hash("li.na@huajin.example", hash_password("bench password 2026"), svc.clock.now())
        with TestClient(create_app(svc), raise_server_exceptions=True) as c:
            page = c.get("/login")
            from tests.forms import form_fields

            c.post("/login", data={**form_fields(page.text), "email": "li.na@huajin.example",
                                   "password": "bench password 2026"}, follow_redirects=False)
            cookies = dict(c.cookies)
            c.cookies.clear()
            timed(c, 30, {"X-API-Key": key})  # warm-up
            print(f"{'api key, per POST':38s} {round_trips(svc.store.engine, c, {'X-API-Key': key})}")
            c.cookies.update(cookies)
            print(f"{'staff session, per POST':38s} {round_trips(svc.store.engine, c, {})}")
            c.cookies.clear()
            rounds: dict[str, list[float]] = {"api key": [], "staff session": []}
            for _ in range(5):  # interleaved, so both see the same machine load
                rounds["api key"] += timed(c, args.n // 5, {"X-API-Key": key})
                c.cookies.update(cookies)
                rounds["staff session"] += timed(c, args.n // 5, {})
                c.cookies.clear()
            rounds.update(key_checks(svc, key, args.n))
        for name, xs in rounds.items():
            print(f"{name:38s} n={len(xs)} p10={pct(xs, 10):.2f} ms median={statistics.median(xs):.2f} ms p90={pct(xs, 90):.2f} ms "
                  f"min={min(xs):.2f} ms")


if __name__ == "__main__":
    main()
