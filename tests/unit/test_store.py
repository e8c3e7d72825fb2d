"""The store with the in-memory fake database: idempotent tasks, outbox, first answer wins."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from models.tables import HumanTask
from tasks.platform.store import Store
from tests import pg
from tests.dbs import fresh_store
from tasks.platform.mail import MemoryMailer, OutgoingMail
from tasks.notify import deliver_outbox

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def mail(to="a@x.example", subject="s"):
    return OutgoingMail(to=[to], subject=subject, text="t", html="<p>t</p>")


@pytest.fixture
def store():
    return fresh_store()


def new_case(store, **kw):
    case, _ = store.create_case(procedure="sample_request", prefix="YP", year=2026, state="new", title="t",
                                data={}, now=NOW, **kw)
    return case


def task_row(case_no, step="leader-approval", **kw):
    return HumanTask(case_no=case_no, step_key=step, title="审批", role="marketing_leader",
                     assignee="boss@x.example", choices=["approve", "reject"], created_at=NOW,
                     remind_at=NOW + timedelta(hours=4), due_at=NOW + timedelta(hours=8), **kw)


def test_case_numbers_are_sequential_per_prefix_and_year(store):
    assert new_case(store).case_no == "YP-2026-000001"
    assert new_case(store).case_no == "YP-2026-000002"
    other, _ = store.create_case(procedure="complaint", prefix="TS", year=2026, state="new", title="",
                                 data={}, now=NOW)
    assert other.case_no == "TS-2026-000001"


def test_idempotency_key_makes_one_case(store):
    a = new_case(store, idempotency_key="k1")
    b, created = store.create_case(procedure="sample_request", prefix="YP", year=2026, state="new",
                                   title="t", data={}, now=NOW, idempotency_key="k1")
    assert not created and b.case_no == a.case_no
    assert store.list_cases()[0] == 1


def test_ensure_task_is_idempotent_and_queues_mail_once(store):
    case = new_case(store)
    t1, created1 = store.ensure_task(task_row(case.case_no), lambda t: [mail()], NOW)
    t2, created2 = store.ensure_task(task_row(case.case_no), lambda t: [mail()], NOW)
    assert created1 and not created2 and t1.id == t2.id
    assert store.unsent_count(case.case_no) == 1
    kinds = [e.kind for e in store.events(case.case_no)]
    assert kinds.count("task_created") == 1


def test_a_task_and_its_answer_code_stored_without_a_time_get_their_columns_default(store):
    """The step's rows are written as Core inserts: a column left unset falls to its default (as the ORM's
    insert did), never NULL, and the row read back is the row written."""
    from models.tables import AnswerCode
    from tasks.platform.human_codes import CodedMail

    case = new_case(store)
    row = task_row(case.case_no, summary={"编号": case.case_no}, recused=["x@x.example"])
    row.created_at = None

    def coded(t):
        m = CodedMail(**dict(mail()))
        m._answer_code = AnswerCode(task_id=t.id, person="boss@x.example", code_hash="h" * 64)
        return [m]

    task, created = store.ensure_task(row, coded, NOW)
    stored = store.get_task(task.id)
    assert created and stored.created_at is not None and abs(stored.created_at - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert (stored.summary, stored.recused, stored.state, stored.due_at) == ({"编号": case.case_no}, ["x@x.example"], "open", row.due_at)
    (code,) = store.answer_codes(task.id)
    assert code.person == "boss@x.example" and code.purpose == "ask" and code.issued_at is not None and code.used_at is None


def test_outbox_survives_smtp_outage_and_sends_once(store):
    case = new_case(store)
    store.ensure_task(task_row(case.case_no), lambda t: [mail()], NOW)
    mailer = MemoryMailer()
    mailer.fail_next = 2
    assert deliver_outbox(store, mailer, NOW) == (0, 1)
    assert deliver_outbox(store, mailer, NOW) == (0, 1)
    assert store.unsent_count() == 1 and mailer.sent == []
    assert deliver_outbox(store, mailer, NOW) == (1, 0)
    assert deliver_outbox(store, mailer, NOW) == (0, 0)
    assert len(mailer.sent) == 1


def test_a_claimed_message_is_not_sent_by_a_second_sender(store):
    store.queue_mail("k", None, mail(), NOW)
    first = store.claim_unsent(NOW)
    assert len(first) == 1
    assert store.claim_unsent(NOW + timedelta(seconds=30)) == []
    # the first sender crashed: after the lease the message is taken up again
    assert len(store.claim_unsent(NOW + timedelta(minutes=3))) == 1


def test_queue_mail_dedupes_by_key(store):
    assert store.queue_mail("notice:X:1", None, mail(), NOW)
    assert not store.queue_mail("notice:X:1", None, mail(), NOW)
    assert store.unsent_count() == 1


def test_first_answer_wins(store):
    case = new_case(store)
    t, _ = store.ensure_task(task_row(case.case_no), lambda t: [], NOW)
    won, _ = store.decide(t.id, decision="approve", comment="ok", answer={}, by="boss@x.example",
                          via="email", now=NOW)
    won2, after = store.decide(t.id, decision="reject", comment="no", answer={}, by="gm@x.example",
                               via="ui", now=NOW)
    assert won and not won2
    assert after.decision == "approve" and after.decided_by == "boss@x.example" and after.decided_via == "email"
    assert [e.kind for e in store.events(case.case_no)].count("task_decided") == 1


def test_reminder_and_escalation_happen_once(store):
    case = new_case(store)
    t, _ = store.ensure_task(task_row(case.case_no), lambda t: [], NOW)
    assert store.tasks_to_remind(NOW + timedelta(hours=3)) == []
    due = store.tasks_to_remind(NOW + timedelta(hours=5))
    assert [x.id for x in due] == [t.id]
    assert store.remind(due[0], [mail()], NOW)
    assert not store.remind(due[0], [mail()], NOW)
    assert store.tasks_to_remind(NOW + timedelta(hours=5)) == []
    over = store.tasks_to_escalate(NOW + timedelta(hours=9))
    assert store.escalate(over[0], "gm@x.example", [mail("gm@x.example")], NOW)
    assert not store.escalate(over[0], "gm@x.example", [mail("gm@x.example")], NOW)
    assert store.get_task(t.id).state == "escalated"
    assert store.unsent_count() == 2
    # the escalated task can still be decided (first valid answer wins)
    won, _ = store.decide(t.id, decision="approve", comment="", answer={}, by="gm@x.example",
                          via="email", now=NOW)
    assert won


def test_a_step_recorded_once_does_not_set_the_case_back_on_a_rerun(store):
    case = new_case(store)
    assert store.update_case_once(case.case_no, kind="sample_approved", state="approved", actor="gm", now=NOW)
    store.update_case_once(case.case_no, kind="sample_issued", state="issued", actor="p", now=NOW)
    # the flow re-runs from the top after a resume: the earlier step again
    assert not store.update_case_once(case.case_no, kind="sample_approved", state="approved", actor="gm", now=NOW)
    assert store.get_case(case.case_no).state == "issued"
    kinds = [e.kind for e in store.events(case.case_no)]
    assert kinds.count("sample_approved") == 1


def shared_store(kind: str, tmp_path) -> Store:
    """A store several threads use at once, each on its own connection: a file SQLite, or a database on
    the embedded PostgreSQL server (tests/pg.py)."""
    from models.db import _normalise, make_engine, migrate

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'kefu.db'}"
    else:
        server = pg.server()
        url = server.url(server.create_database("claims"))
    migrate(url)
    return Store(make_engine(_normalise(url)))


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pg.only_in_make_test())])
def test_senders_claiming_at_once_never_claim_one_message_twice(kind, tmp_path):
    store = shared_store(kind, tmp_path)
    for i in range(120):
        store.queue_mail(f"k{i}", f"TS-2026-{i % 3:06d}", mail(subject=f"s{i}"), NOW)
    start, claims = threading.Barrier(4), []

    def sender(n: int) -> list[int]:
        start.wait()
        got = []
        while batch := store.claim_unsent(NOW, case_no=None if n % 2 else "TS-2026-000001", limit=7):
            assert all(m.claimed_at is not None and m.attempts == 1 for m in batch)
            got += [m.id for m in batch]
        return got

    with ThreadPoolExecutor(4) as pool:
        claims = [ids for ids in pool.map(sender, range(4))]
    every = [i for ids in claims for i in ids]
    assert len(every) == len(set(every)) == 120  # each message claimed by exactly one sender
    assert all(ids == sorted(ids) for ids in claims)  # oldest first
    assert store.claim_unsent(NOW) == []


def test_a_fresh_process_whose_first_read_is_a_case_or_task_reads_them(tmp_path):
    """The hot reads build the model objects without a session (Store `_loaded`): in a process whose first
    database use is such a read (a served flow run loading its case), the ORM's mappers are not configured yet.
    Run in a new interpreter, the rows written with SQLAlchemy Core."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent(f"""
        from datetime import datetime, timezone
        from sqlalchemy import create_engine
        from sqlmodel import SQLModel
        from models.tables import Case, HumanTask
        from tasks.platform.store import Store
        engine = create_engine("sqlite:///{tmp_path / 'kefu.db'}")
        SQLModel.metadata.create_all(engine)
        now = datetime.now(timezone.utc)
        with engine.begin() as c:
            c.execute(Case.__table__.insert().values(case_no="KS-2026-000001", procedure="grievance", state="open",
                                                     title="t", data={{"a": 1}}, created_at=now, updated_at=now))
            c.execute(HumanTask.__table__.insert().values(case_no="KS-2026-000001", step_key="s", role="r",
                                                          assignee="a@b", recused=[], choices=[], summary={{}},
                                                          answer={{}}, created_at=now))
        store = Store(engine)
        print(store.get_case("KS-2026-000001").data, store.find_task("KS-2026-000001", "s").state)
    """)
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["{'a':", "1}", "open"]
