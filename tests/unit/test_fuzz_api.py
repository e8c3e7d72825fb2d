"""Bad input (issue 9): every operation of the web app's OpenAPI document fuzzed in-process with
schemathesis, on fake services (tests/fakes.py). For any generated input: never a 5xx, the answer
conforms to the document, a refused (4xx) request or any GET leaves every table as it was, and what
was stored is whole (each case has its first audit event and its flow-run start request)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from models.tables import Case, Event, FlowStart
from tests.fakes import add_api_key, fake_services, open_task, table_counts
from webapp.app import create_app

MAX_EXAMPLES = 60
LEADER = "zhou.min@huajin.example"


def _web():
    # built at import: schemathesis' fixture-based loader does not work with pytest 9
    svc = fake_services(Path(tempfile.mkdtemp(prefix="kefu-fuzz-")))
    case, _ = svc.store.create_case(procedure="sample_request", prefix="YP", year=2026, state="pending_leader",
                                    title="t", data={}, now=svc.clock.now())
    open_task(svc, case.case_no, "leader-approval", LEADER)
    return svc, create_app(svc), add_api_key(svc, "all,backfill")


SVC, APP, KEY = _web()  # every operation is called as a system with a key of every scope
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture
def web():
    return SVC, APP


def whole(svc) -> None:
    """Nothing half-written: every case has its case_created event and the request to start its
    flow run (stored with it; the run itself is started in the background)."""
    from sqlmodel import select

    with svc.store.session() as s:
        cases = s.exec(select(Case)).all()
        created = {e.case_no for e in s.exec(select(Event).where(Event.kind == "case_created")).all()}
        starts = {f.case_no: f for f in s.exec(select(FlowStart)).all()}
    for c in cases:
        assert c.case_no in created, f"{c.case_no} has no case_created event"
        if c.procedure != "sample_request" or c.title != "t":  # the fixture's own case has no run
            assert c.case_no in starts, f"{c.case_no} was stored without its flow-run start request"
            assert starts[c.case_no].run_name.endswith(c.case_no)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation(case, web):
    svc, _ = web
    before = table_counts(svc)
    # both of the document's security schemes carry the key: a generated bearer token would otherwise be
    # refused (401) before the input is ever looked at
    response = case.call(headers={"X-API-Key": KEY, "Authorization": f"Bearer {KEY}"})
    after = table_counts(svc)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:500]}"
    # schema-valid bodies may still be refused by the rules (a requester outside marketing, a
    # received_at in the future…): 422, checked below to store nothing. Starlette answers a method
    # no route has (OPTIONS) with the first route's Allow header, not every method of the path.
    case.validate_response(response, excluded_checks=[schemathesis.checks.positive_data_acceptance,
                                                      schemathesis.checks.allow_header_conformance])
    if case.method == "GET" or 400 <= response.status_code < 500:
        assert after == before, f"{case.method} {case.formatted_path} → {response.status_code} changed rows"
    whole(svc)


# ---- what the document leaves out (include_in_schema=False): /, /docs, /redoc, /openapi.json and
# /dev/mail/{msg_id}/html — and the decision POST again, this time with links that are genuine ------
from collections import Counter  # noqa: E402
from urllib.parse import quote  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from models.answers import ANSWER_MODELS, choices_of  # noqa: E402
from models.tokens import csrf_for  # noqa: E402
from tests.fakes import SECRET, snapshot, token_for  # noqa: E402



def _flat(routes: list) -> list:
    """Every route, also those of the routers the app includes (FastAPI keeps each one as one entry)."""
    return [x for r in routes for x in (_flat(r.original_router.routes) if hasattr(r, "original_router") else [r])]


EXCLUDED = sorted({r.path for r in _flat(APP.routes) if not getattr(r, "include_in_schema", True)})
REQUESTER = "yang.mei@huajin.example"
OTHER = "sun.li@huajin.example"
CLIENT = TestClient(APP, raise_server_exceptions=False)
FIELD_NAMES = sorted({n for m in ANSWER_MODELS.values() for n in m.model_fields} | {"csrf", "choice", "x"})
text = st.text(max_size=40)


def test_the_excluded_routes_are_the_ones_fuzzed_here():
    assert EXCLUDED == ["/", "/dev/mail/{msg_id}/html", "/docs", "/docs/oauth2-redirect", "/openapi.json",
                        "/redoc"]


@given(path=st.sampled_from(EXCLUDED), msg_id=st.one_of(st.integers(), text),
       query=st.dictionaries(text, text, max_size=3))
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_excluded_routes_never_fail_and_change_nothing(path, msg_id, query):
    before = table_counts(SVC)
    r = CLIENT.get(path.replace("{msg_id}", quote(str(msg_id), safe="")), params=query)
    assert r.status_code < 500, (path, msg_id, r.status_code, r.text[:300])
    assert table_counts(SVC) == before


_counter = iter(range(10**9))
STATUSES: Counter = Counter()


@given(model=st.sampled_from(sorted(ANSWER_MODELS) + ["Decision", "Done"] * 4),
       link=st.sampled_from(["assignee", "assignee", "assignee", "requester", "other", "expired", "garbage"]),
       csrf=st.sampled_from(["right", "right", "right", "missing", "other-token", "garbage"]),
       fields=st.one_of(st.just({}), st.dictionaries(st.sampled_from(FIELD_NAMES), text, max_size=6)),
       encoding=st.sampled_from(["form", "form", "json", "multipart"]), data=st.data())
@settings(max_examples=MAX_EXAMPLES * 2, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_decision_post_with_genuine_links(model, link, csrf, fields, encoding, data):
    """Any form a person (or an attacker) can send to a real link: never a 5xx; refused → nothing
    changed; accepted → exactly this task decided by the link's person, once, and its run resumed."""
    choice = data.draw(st.one_of(st.sampled_from(choices_of(ANSWER_MODELS[model])), text), label="choice")
    case_no = f"YP-2026-9{next(_counter):05d}"
    task = open_task(SVC, case_no, "step-1", LEADER, answer_model=model, requested_by=REQUESTER)
    person = {"assignee": LEADER, "requester": REQUESTER, "other": OTHER}.get(link, LEADER)
    issued = SVC.clock.now() - __import__("datetime").timedelta(days=40) if link == "expired" else None
    token = token_for(SVC, task, person, issued=issued) if link != "garbage" else "x" + "A" * 40
    other_token = token_for(SVC, task, OTHER)
    form = {**fields, "choice": choice}
    if csrf != "missing":
        form["csrf"] = {"right": csrf_for(SECRET, token), "other-token": csrf_for(SECRET, other_token),
                        "garbage": "0" * 32}[csrf]
    before = snapshot(SVC)
    resumed = len(SVC.flows.resumed)
    if encoding == "form":
        r = CLIENT.post(f"/t/{token}", data=form)
    elif encoding == "json":
        r = CLIENT.post(f"/t/{token}", json=form)
    else:
        r = CLIENT.post(f"/t/{token}", files={k: (None, v) for k, v in form.items()})
    assert r.status_code in (200, 403, 404, 422), (r.status_code, r.text[:300])
    STATUSES[r.status_code] += 1
    after = snapshot(SVC)
    row = SVC.store.get_task(task.id)
    if r.status_code == 200:
        assert link == "assignee" and csrf == "right" and encoding != "json"
        assert row.state == "decided" and row.decided_by == LEADER and row.decided_via == "email"
        assert [e.kind for e in SVC.store.events(case_no)].count("task_decided") == 1
        assert SVC.flows.resumed[resumed:] == [task.id]
        assert len(after["events"]) == len(before["events"]) + 1
    else:
        assert after == before and row.state == "open" and len(SVC.flows.resumed) == resumed


def test_decision_fuzzing_reached_every_outcome():
    """The fuzzing above decided tasks, refused links and refused answers (runs after it)."""
    if not STATUSES:
        test_decision_post_with_genuine_links()
    assert {200, 403, 404, 422} <= set(STATUSES), STATUSES


def test_nul_characters_are_refused_before_anything_is_stored():
    """PostgreSQL stores no NUL in text: a NUL is bad input (422), never a database error (500)."""
    svc = SVC
    before = table_counts(svc)
    sample = {"customer": "苏州\x00锦华", "product": "p", "spec": "s", "size_class": "half", "quantity": 1,
              "reason": "r"}
    r = CLIENT.post("/api/sample-requests", json=sample)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "customer"
    assert CLIENT.get("/api/cases", params={"state": "open\x00"}).status_code == 422
    assert CLIENT.get("/api/cases/TS-2026%00").status_code == 422
    assert table_counts(svc) == before
    task = open_task(svc, "YP-2026-888888", "step-1", LEADER)
    before = table_counts(svc)
    token = token_for(svc, task, LEADER)
    r = CLIENT.post(f"/t/{token}", data={"choice": "approve", "csrf": csrf_for(SECRET, token), "comment": "a\x00"})
    assert r.status_code == 422 and svc.store.get_task(task.id).state == "open"
    assert table_counts(svc) == before
