"""Starting a case's flow run (issue 18, item 2) with fakes: the recording flow runs (its `down` and
`lose_answers`), a fixed clock, the in-memory store (or a SQLite file where threads share it).

The start request is stored with the case in one transaction; refused input stores neither; the
intake never calls Prefect; the dispatcher retries with back-off and logs the real error; a retried
start makes one run; two dispatchers never start a request twice; the watchdog delivers what the web
app did not."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from deployments import names
from models.settings import Settings
from models.tables import Case, FlowStart
from tasks.platform.clock import FixedClock
from tasks.platform.flow_runs import RecordingFlowRuns
from tasks.platform.flow_starts import FlowStartDispatcher, describe_error, dispatch_flow_starts
from tasks.platform.mail import MemoryMailer
from tasks.platform.runtime import build_services
from tasks.platform.store import Store
from tests.dbs import fresh_store
from tests.fakes import NOW, SECRET, api_client, table_counts

ORG_FILE = Path(__file__).resolve().parents[2] / "deployments" / "org.yaml"
COMPLAINT = {"complainant": {"name": "王芳", "phone": "13812345678"}, "kind": "consumer", "channel": "phone",
             "category": "维修服务", "description": "空调漏水", "event": {"time": "周一", "place": "园区店"}}
SAMPLE = {"customer": "苏州锦华服饰有限公司", "product": "32S 精梳棉纱", "spec": "32S/1 精梳", "size_class": "half",
          "quantity": 2, "reason": "客户试织"}


def services(tmp_path, *, store: Store | None = None, flows: RecordingFlowRuns | None = None, **settings):
    s = Settings(env="test", secret_key=SECRET, home=tmp_path, org_file=ORG_FILE, mail_backend="memory",
                 flow_backend="memory", base_url="http://kefu.test", **({"flow_start_in_web": False} | settings))
    return build_services(s, store=store or fresh_store(), mailer=MemoryMailer(), clock=FixedClock(NOW),
                          flows=flows or RecordingFlowRuns())


def file_store(tmp_path) -> Store:
    """A SQLite file: several threads may use it at once (the in-memory fake is one connection)."""
    from models.db import make_engine

    store = Store(make_engine(f"sqlite:///{tmp_path / 'kefu.db'}"))
    SQLModel.metadata.create_all(store.engine)
    return store


@pytest.fixture
def svc(tmp_path):
    return services(tmp_path)


def post_complaint(client, **over):
    r = client.post("/api/complaints", json=COMPLAINT | over)
    assert r.status_code == 201, r.text
    return r.json()


def starts(svc) -> list[FlowStart]:
    with svc.store.session() as s:
        return list(s.exec(select(FlowStart).order_by(FlowStart.id)).all())


# ---- intake ---------------------------------------------------------------------------------------
def test_intake_stores_the_case_with_its_start_request_and_never_calls_prefect(svc):
    client = api_client(svc)
    body = post_complaint(client)
    assert body["flow_run_id"] is None  # answered before any run exists
    assert svc.flows.calls == []  # the request did not wait on Prefect's API
    [req] = starts(svc)
    assert (req.case_no, req.deployment, req.run_name) == (body["case_no"], names.COMPLAINT,
                                                           f"complaint-{body['case_no']}")
    assert req.tags == ["procedure:complaint", "level:1", "kind:consumer", "category:维修服务"]
    assert req.parameters == {"case_no": body["case_no"]} and req.started_at is None and req.attempts == 0

    r = client.post("/api/sample-requests", json=SAMPLE)
    assert r.status_code == 201, r.text
    assert starts(svc)[1].deployment == names.SAMPLE_REQUEST
    assert starts(svc)[1].tags == ["procedure:sample-request", "size:half"]


def test_the_case_and_its_start_request_are_one_transaction(svc):
    # the next complaint will be TS-<year>-000001: a start request already stored under that number
    # makes the request's insert fail — and with it the whole intake: no case, no event, no number used
    with svc.store.session() as s:
        s.add(FlowStart(case_no=f"TS-{NOW.year}-000001", deployment="x/x", run_name="x", tags=[], parameters={}))
        s.commit()
    client = api_client(svc, raise_server_exceptions=False)
    before = table_counts(svc)
    assert client.post("/api/complaints", json=COMPLAINT).status_code == 500
    assert table_counts(svc) == before
    with pytest.raises(IntegrityError):
        from models.complaint.handling import ComplaintIn
        from tasks.complaint.intake import file_complaint

        file_complaint(svc, ComplaintIn.model_validate(COMPLAINT))
    assert table_counts(svc) == before


def test_refused_input_stores_neither_case_nor_start_request(svc):
    client = api_client(svc)
    before = table_counts(svc)
    r = client.post("/api/complaints", json=COMPLAINT | {"received_by": "wang.jianguo@huajin.example"})
    assert r.status_code == 422 and "received_by" in r.text
    r = client.post("/api/sample-requests", json=SAMPLE | {"requested_by": "han.xue@huajin.example"})
    assert r.status_code == 422
    assert table_counts(svc) == before and before["flow_starts"] == 0 and svc.flows.calls == []


def test_a_repeated_post_with_the_same_key_makes_one_case_and_one_start(svc):
    client = api_client(svc)
    first = client.post("/api/complaints", json=COMPLAINT, headers={"Idempotency-Key": "k1"})
    again = client.post("/api/complaints", json=COMPLAINT, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["case_no"] == again.json()["case_no"] and len(starts(svc)) == 1
    dispatch_flow_starts(svc)
    third = client.post("/api/complaints", json=COMPLAINT, headers={"Idempotency-Key": "k1"})
    assert third.json()["flow_run_id"] == svc.flows.started[0].run_id and len(svc.flows.started) == 1


def test_the_repeat_lookup_is_the_indexed_event_key(svc):
    client = api_client(svc)
    first = post_complaint(client)
    second = post_complaint(client)
    other = post_complaint(client, event={"time": "周二", "place": "园区店"})
    case = svc.store.get_case(second["case_no"])
    assert case.data["repeat_of"] == first["case_no"] and case.level == 2
    assert svc.store.get_case(other["case_no"]).data["repeat_of"] is None
    assert svc.store.first_complaint_with_event(case.data["event_key"]) == first["case_no"]


# ---- the dispatcher ---------------------------------------------------------------------------------
def test_dispatcher_retries_with_backoff_and_logs_the_real_error(svc, caplog):
    caplog.set_level(logging.WARNING, logger="kefu.flow_starts")
    client = api_client(svc)
    case_no = post_complaint(client)["case_no"]
    svc.flows.down = True

    assert dispatch_flow_starts(svc) == {"claimed": 1, "started": 0, "failed": 1}
    [req] = starts(svc)
    assert req.attempts == 1 and req.next_attempt_at == NOW + timedelta(seconds=1)
    assert "ConnectionRefusedError" in req.last_error and "simulated Prefect outage" in req.last_error
    assert "ConnectionRefusedError" in caplog.text and case_no in caplog.text and "(None)" not in caplog.text

    assert dispatch_flow_starts(svc)["claimed"] == 0  # not due yet: no try before its back-off
    svc.clock.advance(seconds=1)
    assert dispatch_flow_starts(svc)["failed"] == 1
    assert starts(svc)[0].next_attempt_at == NOW + timedelta(seconds=1 + 2)  # doubled
    svc.clock.advance(seconds=1)
    assert dispatch_flow_starts(svc)["claimed"] == 0
    svc.clock.advance(seconds=1)
    svc.flows.down = False
    assert dispatch_flow_starts(svc) == {"claimed": 1, "started": 1, "failed": 0}

    [run] = svc.flows.started
    assert svc.flows.calls == [case_no] * 3
    req = starts(svc)[0]
    assert req.flow_run_id == run.run_id and req.started_at == svc.clock.now() and req.last_error is None
    assert svc.store.get_case(case_no).flow_run_id == run.run_id
    assert client.get(f"/api/cases/{case_no}").json()["flow_run_id"] == run.run_id
    assert dispatch_flow_starts(svc)["claimed"] == 0  # delivered: never again


def test_backoff_is_capped(tmp_path):
    from tasks.platform.flow_starts import backoff

    s = Settings(env="test", secret_key=SECRET, home=tmp_path, flow_start_backoff_seconds=1,
                 flow_start_backoff_max_seconds=60)
    assert [backoff(s, n).total_seconds() for n in (1, 2, 3, 6, 7, 30)] == [1, 2, 4, 32, 60, 60]


def test_prefect_errors_whose_text_is_none_are_described():
    from prefect.exceptions import ObjectNotFound

    from tasks.platform.flow_runs import DeploymentNotServed

    assert str(ObjectNotFound(None)) == "None"  # what the old log printed: "failed (None)"
    text = describe_error(ObjectNotFound(None))
    assert "prefect.exceptions.ObjectNotFound" in text and text != "None"
    try:
        try:
            raise ObjectNotFound(None)
        except ObjectNotFound as exc:
            raise DeploymentNotServed(names.COMPLAINT) from exc
    except DeploymentNotServed as exc:
        text = describe_error(exc)
    assert "DeploymentNotServed" in text and "complaint/complaint not found" in text and "ObjectNotFound" in text


def test_a_retried_start_makes_one_run(svc):
    """The run was made but its answer lost (a timeout, Prefect stopped mid-answer): the retry,
    with the same idempotency key, finds that run instead of making a second one."""
    client = api_client(svc)
    case_no = post_complaint(client)["case_no"]
    svc.flows.lose_answers = 1
    assert dispatch_flow_starts(svc)["failed"] == 1
    assert len(svc.flows.started) == 1 and svc.store.get_case(case_no).flow_run_id is None
    svc.clock.advance(seconds=1)
    assert dispatch_flow_starts(svc)["started"] == 1
    assert svc.flows.calls == [case_no, case_no]
    [run] = svc.flows.started
    assert svc.store.get_case(case_no).flow_run_id == run.run_id


def test_a_crashed_dispatchers_claim_expires_and_the_start_is_made_once(svc):
    client = api_client(svc)
    case_no = post_complaint(client)["case_no"]
    lease = timedelta(seconds=svc.settings.flow_start_lease_seconds)
    assert len(svc.store.claim_flow_starts(NOW, lease=lease)) == 1  # claimed, then the process died
    assert dispatch_flow_starts(svc)["claimed"] == 0  # its lease holds
    svc.clock.advance(seconds=svc.settings.flow_start_lease_seconds)
    assert dispatch_flow_starts(svc)["started"] == 1
    assert len(svc.flows.started) == 1 and svc.store.get_case(case_no).flow_run_id


class SlowFlowRuns(RecordingFlowRuns):
    """Each start takes a while, so racing dispatchers overlap."""

    def start(self, *args, **kwargs):
        time.sleep(0.01)
        return super().start(*args, **kwargs)


def test_two_dispatchers_racing_start_each_request_once(tmp_path):
    svc = services(tmp_path, store=file_store(tmp_path), flows=SlowFlowRuns(), flow_start_batch=3)
    client = api_client(svc)
    cases = [post_complaint(client)["case_no"] for _ in range(30)]
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(3)

    def dispatcher() -> None:
        with ThreadPoolExecutor(2) as pool:
            barrier.wait()
            dispatch_flow_starts(svc, pool=pool, max_rounds=100)

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(svc.flows.calls) == sorted(cases)  # each request tried exactly once
    assert len(svc.flows.started) == 30
    with svc.store.session() as s:
        assert all(c.flow_run_id for c in s.exec(select(Case)).all())


def test_the_web_app_starts_the_run_right_after_the_intake(tmp_path):
    """The background dispatcher is woken by the intake: the run exists well before its poll."""
    svc = services(tmp_path, store=file_store(tmp_path), flow_start_in_web=True, flow_start_poll_seconds=60)
    with api_client(svc) as client:
        case_no = post_complaint(client)["case_no"]
        deadline = time.monotonic() + 5
        while not client.get(f"/api/cases/{case_no}").json()["flow_run_id"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert time.monotonic() < deadline, "the dispatcher was not woken by the intake"
    [run] = svc.flows.started
    assert svc.store.get_case(case_no).flow_run_id == run.run_id


def test_the_dispatcher_thread_survives_an_outage_and_delivers_after_it(tmp_path):
    svc = services(tmp_path, store=file_store(tmp_path), flows=RecordingFlowRuns(down=True),
                   flow_start_backoff_seconds=0.05, flow_start_poll_seconds=0.05)
    svc.clock = __import__("tasks.platform.clock", fromlist=["SystemClock"]).SystemClock()
    client = api_client(svc)
    case_no = post_complaint(client)["case_no"]
    dispatcher = FlowStartDispatcher(svc)
    dispatcher.start()
    try:
        deadline = time.monotonic() + 5
        while len(svc.flows.calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(svc.flows.calls) >= 3 and not svc.flows.started
        svc.flows.down = False
        while not svc.store.get_case(case_no).flow_run_id and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        dispatcher.stop()
    assert len(svc.flows.started) == 1 and svc.store.get_case(case_no).flow_run_id == svc.flows.started[0].run_id


# ---- the watchdog and /healthz figures ------------------------------------------------------------------
def test_the_watchdog_delivers_starts_when_the_web_app_is_down(svc):
    from tasks.platform.watchdog import sla_check

    client = api_client(svc)  # the intake only: no dispatcher thread runs
    case_no = post_complaint(client)["case_no"]
    # a case filed before start requests were stored with cases (revision 0006), still without a run
    old, _ = svc.store.create_case(procedure="sample_request", prefix="YP", year=2026, state="pending_leader",
                                   title="t", data={"size_class": "small"}, now=NOW - timedelta(minutes=5),
                                   requested_by="yang.mei@huajin.example")
    svc.flows.down = True
    counts = sla_check(svc, NOW + timedelta(days=3))  # a pass "as of" a later time: starts use the clock
    assert (counts["started"], counts["start_failed"]) == (0, 2)
    assert {r.case_no: r.next_attempt_at for r in starts(svc)} == {case_no: NOW + timedelta(seconds=1),
                                                                    old.case_no: NOW + timedelta(seconds=1)}
    svc.flows.down = False
    svc.clock.advance(seconds=1)
    assert sla_check(svc, NOW)["started"] == 2
    assert {r.case_no for r in svc.flows.started} == {case_no, old.case_no}
    assert sla_check(svc, NOW)["started"] == 0 and len(svc.flows.started) == 2  # never a second run
    assert svc.store.get_case(old.case_no).flow_run_id and svc.store.get_case(case_no).flow_run_id


def test_a_pass_that_does_not_talk_to_prefect_starts_nothing(svc):
    from tasks.platform.watchdog import sla_check

    post_complaint(api_client(svc))
    assert "started" not in sla_check(svc, NOW, resume=False) and svc.flows.calls == []


def test_pending_flow_starts_and_outbox_backlog_for_healthz(svc):
    assert svc.store.pending_flow_starts(NOW) == {"count": 0, "oldest_age_seconds": None, "failing": 0,
                                                  "oldest_last_error": None}
    assert svc.store.outbox_backlog() == (0, None)
    client = api_client(svc)
    post_complaint(client)
    svc.clock.advance(seconds=30)
    post_complaint(client)
    svc.flows.down = True
    dispatch_flow_starts(svc)
    pending = svc.store.pending_flow_starts(NOW + timedelta(seconds=90))
    assert pending["count"] == 2 and pending["oldest_age_seconds"] == 90.0 and pending["failing"] == 2
    assert "ConnectionRefusedError" in pending["oldest_last_error"]
    svc.flows.down = False
    svc.clock.advance(seconds=5)
    dispatch_flow_starts(svc)
    assert svc.store.pending_flow_starts(NOW + timedelta(seconds=90))["count"] == 0

    from tests.fakes import open_task

    open_task(svc, "YP-2026-000001", "leader-approval", "jiang.hua@huajin.example")
    count, oldest = svc.store.outbox_backlog()
    assert count == 1 and (svc.clock.now() + timedelta(seconds=12) - oldest).total_seconds() == 12.0


def test_one_run_of_a_bulk_start_fails_and_only_it_is_tried_again(svc):
    client = api_client(svc)
    cases = [post_complaint(client)["case_no"] for _ in range(3)]
    svc.flows.lose_answers = 1  # the first run of the batch: made, its answer lost
    assert dispatch_flow_starts(svc) == {"claimed": 3, "started": 2, "failed": 1}
    assert [svc.store.get_case(c).flow_run_id is None for c in cases] == [True, False, False]
    svc.clock.advance(seconds=1)
    assert dispatch_flow_starts(svc) == {"claimed": 1, "started": 1, "failed": 0}
    assert len(svc.flows.started) == 3 and svc.flows.calls == [cases[0], cases[1], cases[2], cases[0]]


class OneAtATime:
    """Flow runs that can only start one run per call (no `start_many`)."""

    def __init__(self) -> None:
        self.inner = RecordingFlowRuns()

    def start(self, *args, **kwargs):
        return self.inner.start(*args, **kwargs)


def test_flow_runs_without_bulk_starts_are_started_one_by_one(tmp_path):
    flows = OneAtATime()
    svc = services(tmp_path, flows=flows)
    client = api_client(svc)
    cases = [post_complaint(client)["case_no"] for _ in range(2)]
    flows.inner.down = True
    assert dispatch_flow_starts(svc) == {"claimed": 2, "started": 0, "failed": 2}
    flows.inner.down = False
    svc.clock.advance(seconds=1)
    assert dispatch_flow_starts(svc) == {"claimed": 2, "started": 2, "failed": 0}
    assert [r.case_no for r in flows.inner.started] == cases


# ---- the migration ------------------------------------------------------------------------------------
def test_revision_0006_adds_flow_starts_and_the_event_key_of_complaints_filed_before(tmp_path):
    """A database of the revisions before (0004 + 0005) with a complaint in it: after `migrate`, the
    complaint's event key is indexed (its repeat is found) and new cases get start requests."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from models.db import MIGRATIONS_DIR, make_engine, migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "0004_statistics")
    command.upgrade(cfg, "0005_archive")
    engine = make_engine(url)
    with engine.begin() as con:
        assert "flow_starts" not in sa.inspect(con).get_table_names()
        con.execute(sa.text("INSERT INTO cases (case_no, procedure, state, title, data, created_at, updated_at) "
                            "VALUES ('TS-2026-000001', 'complaint', 'received', 't', :d, :t, :t)"),
                    {"d": '{"form": {}, "event_key": "abc123"}', "t": "2026-11-25 02:00:00"})
        con.execute(sa.text("INSERT INTO complaint_facts (case_no, state, kind, channel, category, receiver, "
                            "received_at) VALUES ('TS-2026-000001', 'received', 'consumer', 'phone', 'x', '', :t)"),
                    {"t": "2026-11-25 02:00:00"})
        con.execute(sa.text("INSERT INTO case_counters (key, value) VALUES ('TS-2026', 1)"))
    migrate(url)
    store = Store(engine)
    assert store.first_complaint_with_event("abc123") == "TS-2026-000001"
    assert store.pending_flow_starts(NOW)["count"] == 0
    svc = services(tmp_path, store=store)
    assert post_complaint(api_client(svc), event={"time": "x", "place": "y"})["case_no"] == "TS-2026-000002"
    assert store.pending_flow_starts(NOW)["count"] == 1
