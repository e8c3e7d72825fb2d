"""The holes of issue 24 that a hostile probe found in the web app, items 4 and 6–10, each refused:
in-process, the real web app and store on the fakes (tests/fakes.py)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from models.tokens import csrf_for
from tests.fakes import SECRET, api_client, fake_services, open_task, table_counts, token_for
from webapp.app import create_app

LEADER = "zhou.min@huajin.example"
SAMPLE = {"customer": "苏州锦华", "product": "涤纶", "spec": "150D", "size_class": "half", "quantity": 2,
          "reason": "客户试样"}
COMPLAINT = {"complainant": {"name": "王先生", "phone": "13800138000"}, "kind": "consumer", "channel": "phone",
             "category": "服务行为", "description": "态度差"}


@pytest.fixture
def web(tmp_path):
    svc = fake_services(tmp_path)
    return svc, api_client(svc, raise_server_exceptions=False)


def fields_of(r) -> dict[str, str]:
    return {d["field"]: d["message"] for d in r.json()["detail"]}


# ---- 6: one-line fields refuse control characters; multi-line fields keep line breaks only ----------
@pytest.mark.parametrize("field,value", [
    ("customer", "苏州锦华\r\nBcc: x@evil.example"), ("product", "涤\n纶"), ("spec", "150\tD"),
    ("customer", "a\x1bb"), ("product", "a\x85b"), ("customer", "a\u2028b")])
def test_one_line_fields_refuse_control_characters(web, field, value):
    svc, client = web
    before = table_counts(svc)
    r = client.post("/api/sample-requests", json={**SAMPLE, field: value})
    assert r.status_code == 422, r.text
    msg = fields_of(r)[field]
    assert "只能填一行" in msg and "must be one line" in msg
    assert table_counts(svc) == before


def test_nested_and_listed_one_line_fields_are_checked_too(web):
    svc, client = web
    r = client.post("/api/complaints", json={**COMPLAINT, "complainant": {"name": "王\n先生", "phone": "13800138000"},
                                            "stores": ["ok", "南京\r路店"]})
    assert r.status_code == 422
    assert set(fields_of(r)) == {"complainant.name", "stores"}


def test_multi_line_fields_keep_line_breaks_and_refuse_other_control_characters(web):
    svc, client = web
    r = client.post("/api/sample-requests", json={**SAMPLE, "reason": "第一行\r\n第二行\tA"})
    assert r.status_code == 201, r.text
    assert svc.store.get_case(r.json()["case_no"]).data["reason"] == "第一行\n第二行\tA"
    r = client.post("/api/sample-requests", json={**SAMPLE, "reason": "响铃\x07"})
    assert r.status_code == 422
    assert "除换行和制表符外" in fields_of(r)["reason"]


def test_answers_refuse_control_characters_in_one_line_fields(web):
    svc, client = web
    task = open_task(svc, "YP-2026-000001", "issue", LEADER, role="workshop", answer_model="SampleIssue")
    token = token_for(svc, task, LEADER)
    r = client.post(f"/t/{token}", data={"csrf": csrf_for(SECRET, token), "choice": "issued",
                                         "taker": "张三\r\nX-Header: 1", "quantity": "1"})
    assert r.status_code == 422 and "只能填一行" in r.text
    assert svc.store.get_task(task.id).state == "open"


# ---- 4: the dev mailbox and the API docs only in dev, or enabled explicitly --------------------------
DEV_ONLY = ["/dev/mail", "/dev/mail.json", "/dev/mail/1", "/dev/mail/1/html", "/docs", "/redoc", "/openapi.json"]


def client_for(tmp_path, **settings) -> TestClient:
    from models.settings import Settings
    from tasks.platform.clock import FixedClock
    from tasks.platform.runtime import build_services
    from tests.dbs import fresh_store
    from tests.fakes import NOW

    s = Settings(secret_key=SECRET, home=tmp_path, mail_backend="memory", flow_backend="memory",
                 base_url="http://kefu.test", **settings)
    return api_client(build_services(s, store=fresh_store(), clock=FixedClock(NOW)), raise_server_exceptions=False)


def deliver_one_mail(tmp_path) -> None:
    """A message at the sink's mailbox, so /dev/mail/1 would show it."""
    from email.message import EmailMessage

    from deployments.dev_mail import Mailbox, mailbox_path

    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "kefu@example.com", LEADER, "审批"
    m.set_content("http://kefu.test/t/secret-link")
    Mailbox(mailbox_path(tmp_path)).store(m.as_bytes(), "kefu@example.com", [LEADER])


@pytest.mark.parametrize("env", ["prod", "test"])
def test_outside_dev_no_mailbox_and_no_api_docs(tmp_path, env):
    deliver_one_mail(tmp_path)
    client = client_for(tmp_path, env=env)
    for path in DEV_ONLY:
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "secret-link" not in r.text
    assert "/dev/mail" not in client.get("/").text and "/docs" not in client.get("/").text


def test_dev_serves_them_and_prod_only_when_enabled(tmp_path):
    deliver_one_mail(tmp_path)
    dev = client_for(tmp_path, env="dev")
    assert all(dev.get(p).status_code == 200 for p in DEV_ONLY)
    prod = client_for(tmp_path, env="prod", dev_mail_enabled=True, api_docs_enabled=True)
    assert all(prod.get(p).status_code == 200 for p in DEV_ONLY)
    # a real SMTP server: there is no dev mailbox to serve, enabled or not
    real = client_for(tmp_path, env="dev", smtp_host="smtp.example.com")
    assert real.get("/dev/mail.json").status_code == 404 and real.get("/docs").status_code == 200


# ---- 7: a body over the limit answers 413 before it is read -----------------------------------------
LIMIT = 1024 * 1024


def assert_too_large(r) -> None:
    assert r.status_code == 413, (r.status_code, r.text[:200])
    msg = r.json()["detail"][0]["message"]
    assert "请求体不能超过 1048576 字节" in msg and "must not exceed 1048576 bytes" in msg


def test_a_declared_length_over_the_limit_is_refused_unread(web):
    svc, client = web
    before = table_counts(svc)
    big = b'{"customer": "' + b"a" * (LIMIT + 1) + b'"}'
    assert_too_large(client.post("/api/sample-requests", content=big, headers={"content-type": "application/json"}))
    assert table_counts(svc) == before
    token = token_for(svc, open_task(svc, "YP-2026-000001", "leader-approval", LEADER), LEADER)
    before = table_counts(svc)
    assert_too_large(client.post(f"/t/{token}", data={"choice": "approve", "comment": "x" * (LIMIT + 1)}))
    assert table_counts(svc) == before
    # at the limit: read and answered as usual
    assert client.post("/api/sample-requests", json={**SAMPLE, "reason": "r" * 900}).status_code == 201


def test_a_chunked_body_over_the_limit_is_refused(web):
    svc, client = web
    before = table_counts(svc)
    chunks = (b"a" * 65536 for _ in range(40))  # no Content-Length: Transfer-Encoding chunked
    assert_too_large(client.post("/api/complaints", content=chunks, headers={"content-type": "application/json"}))
    assert table_counts(svc) == before


def test_an_endless_stream_is_cut_at_the_limit(web):
    """Pure ASGI: a body that does not end (here: 64 MiB, for a version without the limit to finish) is
    refused after the limit plus one chunk was received."""
    import anyio

    svc, _ = web
    app = create_app(svc)
    pulled, sent = [0], []

    async def receive():
        pulled[0] += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": pulled[0] < 1024}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/sample-requests", "raw_path": b"/api/sample-requests", "query_string": b"",
             "root_path": "", "headers": [(b"host", b"kefu.test"), (b"content-type", b"application/json"),
                                          (b"transfer-encoding", b"chunked")], "client": ("127.0.0.1", 1),
             "server": ("kefu.test", 80)}
    anyio.run(app, scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]
    assert pulled[0] == LIMIT // 65536 + 1


# ---- 6 (poison mail): a message that can never be sent is dead-lettered, reported, never retried ----
def test_a_message_that_never_goes_out_is_dead_lettered_after_the_set_attempts(tmp_path):
    from datetime import timedelta

    from models.settings import Settings
    from tasks.platform.clock import FixedClock
    from tasks.notify import deliver_outbox
    from tasks.platform.runtime import build_services
    from tests.dbs import fresh_store
    from tests.fakes import NOW

    settings = Settings(env="test", secret_key=SECRET, home=tmp_path, mail_backend="memory", flow_backend="memory",
                        mail_max_attempts=3)
    svc = build_services(settings, store=fresh_store(), clock=FixedClock(NOW))
    open_task(svc, "YP-2026-000001", "leader-approval", LEADER)
    svc.mailer.fail_next = 10**6  # this message never goes out
    results = [deliver_outbox(svc.store, svc.mailer, NOW + timedelta(minutes=i)) for i in range(6)]
    assert results == [(0, 1)] * 3 + [(0, 0)] * 3  # three attempts, then never again
    assert svc.mailer.fail_next == 10**6 - 3
    assert svc.store.dead_letter_count() == 1
    [event] = [e for e in svc.store.events("YP-2026-000001") if e.kind == "mail_dead_lettered"]
    assert event.data["attempts"] == 3 and event.data["to"] == [LEADER] and "ConnectionRefusedError" in event.data["error"]
    # other mail still goes out
    svc.mailer.fail_next = 0
    open_task(svc, "YP-2026-000002", "leader-approval", LEADER)
    assert deliver_outbox(svc.store, svc.mailer, NOW) == (1, 0) and svc.store.dead_letter_count() == 1


def test_a_message_whose_sender_keeps_crashing_is_dead_lettered_too(tmp_path):
    """A message that kills its sender is never released: its expired claims count as attempts."""
    from datetime import timedelta

    from tests.fakes import NOW

    svc = fake_services(tmp_path)
    open_task(svc, "YP-2026-000001", "leader-approval", LEADER)
    claims = [len(svc.store.claim_unsent(NOW + timedelta(minutes=3 * i))) for i in range(10)]
    assert claims == [1] * 8 + [0] * 2  # KEFU_MAIL_MAX_ATTEMPTS, default 8
    assert svc.store.dead_letter_count() == 1
    assert "mail_dead_lettered" in [e.kind for e in svc.store.events("YP-2026-000001")]


# ---- 8: Idempotency-Key scoped per endpoint (and caller), bound to its request body -----------------
def test_a_key_reused_on_another_endpoint_is_another_request(web):
    svc, client = web
    key = {"Idempotency-Key": "k-0001"}
    sample = client.post("/api/sample-requests", json=SAMPLE, headers=key)
    complaint = client.post("/api/complaints", json=COMPLAINT, headers=key)
    assert sample.status_code == complaint.status_code == 201, complaint.text
    assert complaint.json()["case_no"].startswith("TS-") and sample.json()["case_no"].startswith("YP-")


def test_the_same_key_and_body_is_the_first_case_and_another_body_is_refused(web):
    import json

    svc, client = web
    key = {"Idempotency-Key": "k-0002"}
    first = client.post("/api/sample-requests", json=SAMPLE, headers=key)
    assert first.status_code == 201
    # the same request, its fields in another order and spaced otherwise: the first case
    again = json.dumps(dict(reversed(list(SAMPLE.items()))), indent=2, ensure_ascii=False).encode()
    repeat = client.post("/api/sample-requests", content=again,
                         headers={**key, "content-type": "application/json"})
    assert repeat.status_code == 200 and repeat.json() == first.json()
    before = table_counts(svc)
    other = client.post("/api/sample-requests", json={**SAMPLE, "quantity": 200}, headers=key)
    assert other.status_code == 422, other.text
    msg = fields_of(other)["Idempotency-Key"]
    assert "内容不同" in msg and "different request body" in msg
    assert table_counts(svc) == before


# ---- 9: received_at: ISO-8601 text with a zone, not in the future, within the window -----------------
@pytest.mark.parametrize("value,zh", [
    ("1900-01-01T10:00:00+08:00", "不能早于 30 天前"), ("2026-10-25T09:59:00+08:00", "不能早于 30 天前"),
    ("2026-11-25T10:01:00+08:00", "不能晚于当前时间"), ("0001-01-01T00:00:00+14:00", "超出范围"),
    ("9999-12-31T23:59:59-14:00", "超出范围"), (1764036000, "ISO-8601"), ("1764036000", "ISO-8601"),
    (1764036000.5, "ISO-8601"), (True, "ISO-8601"), ("2026-11-25", "ISO-8601"), ("2026-11-25T09:00:00", "ISO-8601")])
def test_received_at_is_bounded_and_strictly_typed(web, value, zh):
    svc, client = web
    before = table_counts(svc)
    r = client.post("/api/complaints", json={**COMPLAINT, "received_at": value})
    assert r.status_code == 422, (value, r.status_code, r.text[:300])
    msg = fields_of(r)["received_at"]
    assert zh in msg and " / received_at: " in msg
    assert table_counts(svc) == before


def test_received_at_within_the_window_is_taken(web, tmp_path):
    svc, client = web
    r = client.post("/api/complaints", json={**COMPLAINT, "received_at": "2026-10-26T10:00:00+08:00"})
    assert r.status_code == 201, r.text
    assert svc.store.get_case(r.json()["case_no"]).data["deadlines"]["received_at"].startswith("2026-10-26T10:00")
    wider = client_for(tmp_path, env="test", received_at_window_days=400)
    assert wider.post("/api/complaints", json={**COMPLAINT, "received_at": "2026-01-05T09:00:00Z"}).status_code == 201


# ---- 10: strict token payloads, ambiguous forms, numbers that are not booleans ----------------------
def forged(task_id, person=LEADER, exp=None) -> str:
    from itsdangerous import URLSafeSerializer

    from tests.fakes import NOW

    exp = int(NOW.timestamp()) + 86400 if exp is None else exp
    return URLSafeSerializer(SECRET, salt="kefu.decision-link.v1").dumps([task_id, person, exp])


@pytest.mark.parametrize("payload", [
    dict(task_id=2**70), dict(task_id=2**31), dict(task_id=True), dict(task_id=0), dict(task_id=-1),
    dict(task_id=1.0), dict(task_id="1"), dict(task_id=1, exp=2**70), dict(task_id=1, exp=True),
    dict(task_id=1, person=""), dict(task_id=1, person=LEADER + "\r\n")])
def test_a_signed_link_with_a_malformed_payload_is_an_invalid_link(web, payload):
    svc, client = web
    task = open_task(svc, "YP-2026-000001", "leader-approval", LEADER)
    assert task.id == 1
    before = table_counts(svc)
    token = forged(**payload)
    for r in (client.get(f"/t/{token}"),
              client.post(f"/t/{token}", data={"choice": "approve", "csrf": csrf_for(SECRET, token)})):
        assert r.status_code == 404 and "链接无效" in r.text, (payload, r.status_code)
    assert table_counts(svc) == before and svc.store.get_task(1).state == "open"
    assert client.get(f"/t/{forged(1)}").status_code == 200  # the same link, well formed


def test_a_form_repeating_a_field_is_ambiguous_and_refused(web):
    svc, client = web
    task = open_task(svc, "YP-2026-000001", "leader-approval", LEADER)
    token = token_for(svc, task, LEADER)
    before = table_counts(svc)
    form = [("csrf", csrf_for(SECRET, token)), ("choice", "approve"), ("choice", "reject")]
    r = client.post(f"/t/{token}", content="&".join(f"{k}={v}" for k, v in form),
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and "choice：此字段提交了多次" in r.text and "more than once" in r.text
    assert table_counts(svc) == before and svc.store.get_task(task.id).state == "open" and not svc.flows.resumed


def test_a_json_body_repeating_a_field_is_refused(web):
    svc, client = web
    body = b'{"customer":"a","product":"p","spec":"s","size_class":"half","quantity":1,"quantity":1000,"reason":"r"}'
    r = client.post("/api/sample-requests", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "字段重复" in fields_of(r)["quantity"]


@pytest.mark.parametrize("path,body,field", [
    ("/api/sample-requests", {**SAMPLE, "quantity": True}, "quantity"),
    ("/api/complaints", {**COMPLAINT, "foreign": False, "description": "d", "products": [{"name": "p"}]}, None)])
def test_true_is_not_a_number(web, path, body, field):
    svc, client = web
    r = client.post(path, json=body)
    if field is None:
        assert r.status_code == 201  # booleans where booleans belong
        return
    assert r.status_code == 422 and "不能是 true/false" in fields_of(r)[field]


def test_a_link_issued_by_a_watchdog_pass_run_ahead_still_opens(web):
    """`kefu sla-check --now` a day ahead issues escalation links as of then: they open today."""
    from datetime import timedelta

    from models.tokens import make_token

    svc, client = web
    task = open_task(svc, "YP-2026-000001", "leader-approval", LEADER)
    ahead = make_token(SECRET, task.id, LEADER, svc.clock.now() + timedelta(days=1), svc.settings.token_max_age_days)
    assert client.get(f"/t/{ahead}").status_code == 200


def test_mail_delivered_in_place_is_tried_again_then_left_in_the_outbox(tmp_path):
    """Inside the request-decision task (tasks/human.py) the outbox is delivered in place: with the
    mail task's retries; SMTP still down afterwards neither raises nor loses the message."""
    from tasks.notify import deliver_now

    svc = fake_services(tmp_path)
    open_task(svc, "YP-2026-000001", "leader-approval", LEADER)
    svc.mailer.fail_next = 2  # down for two tries, up on the third
    assert deliver_now(svc, "YP-2026-000001", delays=[0, 0, 0]) == 1 and len(svc.mailer.sent) == 1
    open_task(svc, "YP-2026-000002", "leader-approval", LEADER)
    svc.mailer.fail_next = 10
    assert deliver_now(svc, "YP-2026-000002", delays=[0, 0]) == 0  # three tries, then left for the watchdog
    assert svc.mailer.fail_next == 7 and svc.store.unsent_count("YP-2026-000002") == 1


def test_the_waits_between_tries_are_on_the_services_clock(tmp_path):
    """Mail delivered in place and a step retried in place (tasks/replay.py) wait on the services'
    clock: the real one sleeps, the tests' fake moves on at once — a flows scenario with SMTP down
    through every try costs no real seconds."""
    import time

    from prefect import task

    from tasks import replay
    from tasks.notify import deliver_now
    from tasks.platform.runtime import use_services

    svc = fake_services(tmp_path)
    start, began = svc.clock.now(), time.monotonic()
    open_task(svc, "YP-2026-000001", "leader-approval", LEADER)
    svc.mailer.fail_next = 10**6
    assert deliver_now(svc, "YP-2026-000001", delays=[4, 8]) == 0
    waited = (svc.clock.now() - start).total_seconds()
    assert 12 * 0.8 <= waited <= 12 * 1.2  # 4 + 8 s, the mail task's ±20 % jitter
    calls = []

    @task(name="更新案件 record state", retries=2, retry_delay_seconds=[30, 30])
    def step(case_no: str) -> None:
        calls.append(case_no)
        raise ConnectionError("database down")

    with use_services(svc):
        assert replay.run_inline(step, ("YP-2026-000001",), {}, return_state=True).is_failed()
    assert len(calls) == 3 and (svc.clock.now() - start).total_seconds() == waited + 60
    assert time.monotonic() - began < 5  # none of the 72 s was slept
