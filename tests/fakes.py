"""The web app in-process on fake services — the store (in-memory SQLite, or PostgreSQL with
KEFU_TEST_POSTGRES=1), the recording mailer, the recording flow runs, a fixed clock — and ways to
see that a request changed nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import SQLModel

from models.settings import Settings
from models.tables import HumanTask
from models.tokens import make_token
from tasks.platform.clock import FixedClock
from tasks.platform.runtime import Services, build_services
from tests.dbs import fresh_store

SECRET = "fake-secret-key-0123456789abcdef"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # Wednesday 10:00 in Shanghai


def fake_services(home: Path, now: datetime = NOW) -> Services:
    # the dev mailbox and the API docs on, as in dev (tests/unit/test_fuzz_api.py fuzzes them)
    settings = Settings(env="test", secret_key=SECRET, home=home, mail_backend="memory",
                        flow_backend="memory", base_url="http://kefu.test", dev_mail_enabled=True,
                        api_docs_enabled=True,
                        flow_start_in_web=False)  # starts are dispatched by the test, in its own thread
    return build_services(settings, store=fresh_store(), clock=FixedClock(now))


def table_counts(svc: Services) -> dict[str, int]:
    """Rows of every application table."""
    with svc.store.session() as s:
        return {t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def snapshot(svc: Services) -> dict[str, list[tuple]]:
    """Every row of every application table, for before/after comparisons."""
    with svc.store.session() as s:
        return {t.name: sorted((tuple(str(v) for v in row) for row in s.execute(select(t)).all()))
                for t in SQLModel.metadata.sorted_tables}


def open_task(svc: Services, case_no: str, step_key: str, assignee: str, *, role: str = "marketing_leader",
              answer_model: str = "Decision", choices: list[str] | None = None, requested_by: str | None = None,
              recused: list[str] | None = None, escalated_to: str | None = None,
              summary: dict | None = None) -> HumanTask:
    """A human task with its request email in the outbox, as `open_human_task` makes it."""
    from models.answers import ANSWER_MODELS, choices_of
    from tasks.human import render_request_mail

    now = svc.clock.now()
    row = HumanTask(case_no=case_no, step_key=step_key, title="审批", role=role, assignee=assignee,
                    requested_by=requested_by, recused=recused or [], answer_model=answer_model,
                    choices=choices or choices_of(ANSWER_MODELS[answer_model]), summary=summary or {},
                    created_at=now, remind_at=now + timedelta(hours=4), due_at=now + timedelta(hours=8))
    task, _ = svc.store.ensure_task(row, lambda t: [render_request_mail(svc, t, t.assignee, now)], now)
    if escalated_to:
        with svc.store.session() as s:
            db = s.get(HumanTask, task.id)
            db.state, db.escalated_to, db.escalated_at = "escalated", escalated_to, now
            s.add(db)
            s.commit()
            s.refresh(db)
            task = db
    return task


def token_for(svc: Services, task: HumanTask, person: str, *, issued: datetime | None = None) -> str:
    return make_token(SECRET, task.id, person, issued or svc.clock.now(), svc.settings.token_max_age_days)


def add_api_key(svc: Services, scopes: str = "all", name: str | None = None) -> str:
    """A key made as `kefu apikey create` makes it (stored as its hash); the key itself is returned."""
    from models.access import new_api_key, parse_scopes

    key = new_api_key()
    svc.store.add_api_key(name=name or f"test-{key[5:13]}", key=key, scopes=parse_scopes(scopes), by="tests",
                          now=svc.clock.now())
    return key


def api_client(svc: Services, scopes: str = "all", **kw):  # a TestClient
    """The web app on `svc` called by a system holding an API key with `scopes` (issue 24): the intake
    and the case reads answer it as they answer any authenticated client."""
    from starlette.testclient import TestClient

    from webapp.app import create_app

    return TestClient(create_app(svc), headers={"X-API-Key": add_api_key(svc, scopes)}, **kw)
