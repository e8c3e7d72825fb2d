"""Identity on every door (issue 24, item 5): the API keys of the systems that file cases, staff
sign-in (password and OIDC), C24 need-to-know on the case and archive reads, Idempotency-Key per
caller, backfilling only with the permission. In-process: the real web app and store on the fakes."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from deployments import names
from tests.fakes import NOW, SECRET, add_api_key, fake_services, open_task, snapshot, table_counts, token_for
from webapp.app import create_app

SAMPLE = {"customer": "苏州锦华", "product": "涤纶", "spec": "150D", "size_class": "half", "quantity": 2,
          "reason": "客户试样"}
COMPLAINT = {"complainant": {"name": "王先生", "phone": "13800138000"}, "kind": "consumer", "channel": "phone",
             "category": "服务行为", "description": "态度差", "received_by": "li.na@huajin.example"}
RETURN = {"kind": "return", "customer": "杭州某纺织品公司", "product_code": "YN-3201", "product_name": "32S 棉纱",
          "amount": "12800.00", "quantity": {"value": 100, "unit": "箱"}, "reason": "色差", "invoice_no": "No.0012",
          "handling": "退货重处理", "basis": "质检报告", "salesperson": "lin.tao@huajin.example"}
INTAKE = [("/api/sample-requests", SAMPLE, "sample_requests"), ("/api/complaints", COMPLAINT, "complaints"),
          ("/api/returns", RETURN, "returns"), ("/api/archive-corrections", {}, "archive_corrections"),
          ("/api/new-customer-applications", {}, "new_customers")]
PASSWORD = "correct horse battery staple"
ALL_INTAKE = "complaints,sample_requests,returns,archive_corrections,new_customers"


@pytest.fixture
def svc(tmp_path):
    return fake_services(tmp_path)


@pytest.fixture
def app(svc):
    return create_app(svc)


def client(app, key: str | None = None, bearer: bool = False) -> TestClient:
    headers = {} if key is None else ({"Authorization": f"Bearer {key}"} if bearer else {"X-API-Key": key})
    return TestClient(app, headers=headers, raise_server_exceptions=False)


def refused(r, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    msg = r.json()["error"]
    assert " / " in msg and all(w in msg for w in words), msg


# ---- API keys --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,body,scope", INTAKE)
def test_intake_without_a_credential_is_401_and_stores_nothing(svc, app, path, body, scope):
    before = snapshot(svc)
    r = client(app).post(path, json=body)
    refused(r, 401, "登录", "API key")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(svc) == before


@pytest.mark.parametrize("path,body,scope", INTAKE)
def test_a_key_without_the_endpoints_scope_is_403_and_stores_nothing(svc, app, path, body, scope):
    other = "sample_requests" if scope != "sample_requests" else "complaints"
    c = client(app, add_api_key(svc, f"{other},read_cases"))
    before = table_counts(svc)
    refused(c.post(path, json=body), 403, scope)
    assert table_counts(svc) == before


def test_a_key_with_the_scope_files_by_either_header(svc, app):
    key = add_api_key(svc, "sample_requests,complaints")
    assert client(app, key).post("/api/sample-requests", json=SAMPLE).status_code == 201
    assert client(app, key, bearer=True).post("/api/complaints", json=COMPLAINT).status_code == 201


@pytest.mark.parametrize("key", ["kefu_" + "A" * 43, "not-a-key", "", "kefu_short"])
def test_an_unknown_or_malformed_key_is_401_never_anonymous(svc, app, key):
    before = table_counts(svc)
    refused(client(app, key).post("/api/sample-requests", json=SAMPLE), 401, "API")
    refused(client(app, key, bearer=True).get("/api/cases"), 401)
    assert table_counts(svc) == before


def test_a_revoked_key_is_401_at_once(svc, app):
    key = add_api_key(svc, "sample_requests", name="crm")
    c = client(app, key)
    assert c.post("/api/sample-requests", json=SAMPLE).status_code == 201
    svc.store.revoke_api_key("crm", NOW)
    before = table_counts(svc)
    refused(c.post("/api/sample-requests", json=SAMPLE), 401, "吊销", "revoked")
    assert table_counts(svc) == before


def test_the_key_is_stored_as_its_hash_only(svc, app):
    key = add_api_key(svc, "sample_requests", name="crm")
    assert client(app, key).post("/api/sample-requests", json=SAMPLE).status_code == 201
    stored = repr(snapshot(svc))
    assert key not in stored and key[5:] not in stored and key[9:30] not in stored
    import hashlib

    assert hashlib.sha256(key.encode()).hexdigest() in stored
    row = svc.store.api_keys()[0]
    assert row.hint == key[:9] and row.last_used_at == NOW and row.scopes == ["sample_requests"]


def test_scopes_parse_strictly():
    from models.access import BACKFILL, ScopeError, parse_scopes

    assert parse_scopes("complaints, sample_requests") == ["complaints", "sample_requests"]
    assert BACKFILL not in parse_scopes("all") and "read_cases" in parse_scopes("all")
    for bad in ("", "complaint", "all,x", ","):
        with pytest.raises(ScopeError):
            parse_scopes(bad)


def test_reads_need_a_credential_and_a_read_scope(svc, app):
    case_no = client(app, add_api_key(svc)).post("/api/sample-requests", json=SAMPLE).json()["case_no"]
    for path in ("/api/cases", f"/api/cases/{case_no}", "/api/customers/DA-2026-000001"):
        refused(client(app).get(path), 401)
        refused(client(app, add_api_key(svc, ALL_INTAKE)).get(path), 403, "read_")
    reader = client(app, add_api_key(svc, "read_cases"))
    assert reader.get(f"/api/cases/{case_no}").status_code == 200
    assert reader.get("/api/cases").json()["total"] == 1


# ---- staff sign-in ---------------------------------------------------------------------------------
def set_password(svc, email: str, password: str = PASSWORD) -> None:
    from tasks.platform.passwords import hash_password

    svc.store.set_password_hash(email, hash_password(password), NOW)


def sign_in(app, email: str, password: str = PASSWORD) -> tuple[TestClient, object]:
    c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    page = c.get("/login")
    from tests.forms import form_fields

    form = form_fields(page.text)
    r = c.post("/login", data={**form, "email": email, "password": password})
    return c, r


def test_staff_sign_in_sets_a_signed_httponly_lax_session(svc, app):
    set_password(svc, "li.na@huajin.example")
    c, r = sign_in(app, "li.na@huajin.example")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("kefu_session=") and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # env=test on http: no Secure (prod: test below)
    me = c.get("/api/me").json()
    assert me["email"] == "li.na@huajin.example" and "l1_handler" in me["roles"]
    assert c.post("/api/complaints", json=COMPLAINT).status_code == 201  # staff file cases too
    # the password is stored as an argon2id hash, never as given
    assert PASSWORD not in repr(snapshot(svc)) and "$argon2id$" in repr(snapshot(svc))


def test_session_cookie_is_secure_in_prod(tmp_path):
    from models.settings import Settings

    assert Settings(env="prod", secret_key=SECRET, home=tmp_path).secure_cookies
    assert Settings(env="test", secret_key=SECRET, home=tmp_path, base_url="https://kefu.example").secure_cookies
    assert not Settings(env="test", secret_key=SECRET, home=tmp_path).secure_cookies
    svc = fake_services(tmp_path)
    svc.settings.session_cookie_secure = True
    set_password(svc, "li.na@huajin.example")
    _, r = sign_in(create_app(svc), "li.na@huajin.example")
    assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_unknown_person_and_a_forged_cookie_are_refused_alike(svc, app):
    set_password(svc, "li.na@huajin.example")
    for email, password in (("li.na@huajin.example", "wrong password!!"), ("nobody@huajin.example", PASSWORD),
                            ("chen.jing@huajin.example", PASSWORD)):  # chen.jing has no password
        c, r = sign_in(app, email, password)
        assert r.status_code == 401 and "邮箱或密码错误" in r.text and "wrong email or password" in r.text
        refused(c.get("/api/me"), 401)
    forged = TestClient(app, raise_server_exceptions=False, cookies={"kefu_session": "eyJzaWQiOiAieCJ9.x.y"})
    refused(forged.get("/api/cases"), 401)


def test_a_sign_in_without_the_forms_csrf_field_is_refused(svc, app):
    set_password(svc, "li.na@huajin.example")
    c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = c.post("/login", data={"email": "li.na@huajin.example", "password": PASSWORD})
    assert r.status_code == 403
    refused(c.get("/api/me"), 401)


def test_repeated_wrong_passwords_lock_the_sign_in_for_a_while(svc, app):
    set_password(svc, "li.na@huajin.example")
    for _ in range(svc.settings.sign_in_max_failures):
        assert sign_in(app, "li.na@huajin.example", "wrong password!!")[1].status_code == 401
    _, r = sign_in(app, "li.na@huajin.example")  # the right password, but locked
    assert r.status_code == 401 and "尝试次数过多" in r.text
    svc.clock.advance(minutes=svc.settings.sign_in_lock_minutes + 1)
    assert sign_in(app, "li.na@huajin.example")[1].status_code == 303  # unlocked once the time is over


def test_sign_out_and_a_new_password_end_the_session_on_the_server(svc, app):
    set_password(svc, "li.na@huajin.example")
    c, _ = sign_in(app, "li.na@huajin.example")
    cookie = c.cookies.get("kefu_session")
    from tests.forms import form_fields

    csrf = form_fields(c.get("/login").text)["csrf"]
    assert c.post("/logout", data={"csrf": csrf}).status_code == 303
    replay = TestClient(app, raise_server_exceptions=False, cookies={"kefu_session": cookie})
    refused(replay.get("/api/me"), 401)  # the old cookie is still validly signed, but its session ended
    c2, _ = sign_in(app, "li.na@huajin.example")
    assert c2.get("/api/me").status_code == 200
    set_password(svc, "li.na@huajin.example", "another password 2026")
    refused(c2.get("/api/me"), 401)


def test_next_is_a_path_on_this_site_only(svc, app):
    set_password(svc, "li.na@huajin.example")
    for nxt, where in (("/api/cases", "/api/cases"), ("https://evil.example/", "/"), ("//evil.example", "/"),
                       ("/\\evil.example", "/")):
        c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        from tests.forms import form_fields

        form = form_fields(c.get("/login", params={"next": nxt}).text)
        r = c.post("/login", data={**form, "email": "li.na@huajin.example", "password": PASSWORD})
        assert r.headers["location"] == where


def test_the_login_page_is_chinese_and_escapes_what_it_echoes(svc, app):
    r = TestClient(app).get("/login", params={"next": '/"><script>x</script>'})
    assert r.status_code == 200 and "员工登录" in r.text and "<script>x" not in r.text


# ---- C24 need-to-know ------------------------------------------------------------------------------
def staff(app, svc, email: str) -> TestClient:
    set_password(svc, email)
    c, r = sign_in(app, email)
    assert r.status_code == 303, r.text
    return c


@pytest.fixture
def sample_case(svc):
    """A sample request by yang.mei (marketing), its approval with jiang.hua (marketing leader)."""
    case, _ = svc.store.create_case(procedure="sample_request", prefix="YP", year=2026, state="pending_leader",
                                    title="苏州锦华 涤纶 取样", data={"requested_by": "yang.mei@huajin.example"},
                                    requested_by="yang.mei@huajin.example", now=NOW)
    open_task(svc, case.case_no, "leader-approval", "jiang.hua@huajin.example",
              requested_by="yang.mei@huajin.example")
    return case.case_no


@pytest.mark.parametrize("email,status", [
    ("yang.mei@huajin.example", 200),   # the requester
    ("jiang.hua@huajin.example", 200),  # the approver (and head of marketing)
    ("wang.jianguo@huajin.example", 200),  # the GM: full reads
    ("zhou.min@huajin.example", 200),   # the CS manager: full reads
    ("he.ping@huajin.example", 403),    # on no step of it
    ("li.na@huajin.example", 403),
    ("shen.bo@huajin.example", 403),    # head of another department
])
def test_a_staff_member_reads_a_case_only_when_on_it(svc, app, sample_case, email, status):
    r = staff(app, svc, email).get(f"/api/cases/{sample_case}")
    assert r.status_code == status, r.text
    if status == 403:
        refused(r, 403, "need-to-know")
        assert "苏州锦华" not in r.text


def test_the_escalation_target_and_the_department_head_read_it_too(svc, app, sample_case):
    svc.store.create_case(procedure="return", prefix="TH", year=2026, state="pending", title="退货",
                          data={}, requested_by="lin.tao@huajin.example", now=NOW)
    assert staff(app, svc, "sun.qiang@huajin.example").get("/api/cases/TH-2026-000001").status_code == 200  # head of biz
    assert staff(app, svc, "guo.xin@huajin.example").get("/api/cases/TH-2026-000001").status_code == 403  # a colleague
    open_task(svc, "TH-2026-000001", "approve", "he.ping@huajin.example", escalated_to="zhao.lei@huajin.example")
    assert staff(app, svc, "zhao.lei@huajin.example").get("/api/cases/TH-2026-000001").status_code == 200


def test_the_person_complained_about_never_reads_the_complaint(svc, app):
    key = add_api_key(svc, "complaints")
    r = client(app, key).post("/api/complaints", json={**COMPLAINT, "persons_involved": ["陈静"]})
    case_no = r.json()["case_no"]
    assert staff(app, svc, "li.na@huajin.example").get(f"/api/cases/{case_no}").status_code == 200  # the receiver
    assert staff(app, svc, "chen.jing@huajin.example").get(f"/api/cases/{case_no}").status_code == 403


def test_the_case_list_is_filtered_to_the_cases_one_is_on(svc, app, sample_case):
    svc.store.create_case(procedure="return", prefix="TH", year=2026, state="pending", title="退货",
                          data={}, requested_by="lin.tao@huajin.example", now=NOW)
    listed = {e: {c["case_no"] for c in staff(app, svc, e).get("/api/cases").json()["items"]}
              for e in ("yang.mei@huajin.example", "lin.tao@huajin.example", "he.ping@huajin.example",
                        "wang.jianguo@huajin.example")}
    assert listed == {"yang.mei@huajin.example": {sample_case}, "lin.tao@huajin.example": {"TH-2026-000001"},
                      "he.ping@huajin.example": set(),
                      "wang.jianguo@huajin.example": {sample_case, "TH-2026-000001"}}
    assert staff(app, svc, "he.ping@huajin.example").get("/api/cases").json()["total"] == 0


def test_archive_reads_for_archive_roles_and_the_customers_salesperson(svc, app):
    from models.archive.records import CustomerIn

    svc.store.import_customers([CustomerIn(archive_no="DA-2026-000001", name="苏州锦华", customer_class="enterprise",
                                           phone="13812345678", salesperson="lin.tao@huajin.example")],
                               by="import", now=NOW)
    for email, status in (("huang.li@huajin.example", 200), ("lin.tao@huajin.example", 200),
                          ("guo.xin@huajin.example", 403), ("han.xue@huajin.example", 403)):
        r = staff(app, svc, email).get("/api/customers/DA-2026-000001")
        assert r.status_code == status, (email, r.text)
        assert "13812345678" not in r.text  # masked, as before
    assert client(app, add_api_key(svc, "read_customers")).get("/api/customers/DA-2026-000001").status_code == 200


def test_decision_links_stay_their_own_credential(svc, app, sample_case):
    from models.tokens import csrf_for

    task = svc.store.find_task(sample_case, "leader-approval")
    token = token_for(svc, task, "jiang.hua@huajin.example")
    anonymous = TestClient(app, raise_server_exceptions=False)
    assert anonymous.get(f"/t/{token}").status_code == 200
    r = anonymous.post(f"/t/{token}", data={"csrf": csrf_for(SECRET, token), "choice": "approve"})
    assert r.status_code == 200 and svc.store.get_task(task.id).decided_by == "jiang.hua@huajin.example"


# ---- Idempotency-Key per caller; backfill only with the permission ---------------------------------
def test_the_same_idempotency_key_from_two_callers_is_two_requests(svc, app):
    a, b = client(app, add_api_key(svc, "sample_requests")), client(app, add_api_key(svc, "sample_requests"))
    h = {"Idempotency-Key": "order-1"}
    first = a.post("/api/sample-requests", json=SAMPLE, headers=h)
    assert first.status_code == 201
    assert a.post("/api/sample-requests", json=SAMPLE, headers=h).json() == first.json()  # a repeat: 200
    other = b.post("/api/sample-requests", json=SAMPLE, headers=h)
    assert other.status_code == 201 and other.json()["case_no"] != first.json()["case_no"]
    staff_member = staff(app, svc, "yang.mei@huajin.example")
    assert staff_member.post("/api/sample-requests", json=SAMPLE, headers=h).status_code == 201


def test_received_at_before_the_window_only_for_a_caller_allowed_to_backfill(svc, app):
    old = {**COMPLAINT, "received_at": "2026-06-01T09:00:00+08:00"}  # 177 days before NOW, window 30
    before = table_counts(svc)
    r = client(app, add_api_key(svc, "complaints")).post("/api/complaints", json=old)
    assert r.status_code == 422 and "backfill" in r.text
    r = staff(app, svc, "li.na@huajin.example").post("/api/complaints", json=old)
    assert r.status_code == 422
    assert table_counts(svc)["cases"] == before["cases"]
    r = client(app, add_api_key(svc, "complaints,backfill")).post("/api/complaints", json=old)
    assert r.status_code == 201, r.text
    assert r.json()["case_no"].startswith("TS-2026-")
    assert staff(app, svc, "zhou.min@huajin.example").post("/api/complaints", json=old).status_code == 201  # cs_manager
    # never before 2000, never in the future, whoever asks
    backfiller = client(app, add_api_key(svc, "complaints,backfill"))
    for when in ("1900-01-01T00:00:00+08:00", "2026-11-26T10:00:00+08:00"):
        assert backfiller.post("/api/complaints", json={**COMPLAINT, "received_at": when}).status_code == 422


# ---- Prefect behind its own auth in production -----------------------------------------------------
def test_the_prefect_auth_string_reaches_the_server_and_every_client(tmp_path):
    from deployments.cli import prefect_env
    from models.settings import Settings

    s = Settings(env="test", secret_key=SECRET, home=tmp_path, prefect_api_auth_string="kefu:s3cret-s3cret")
    env = prefect_env(s)
    assert env["PREFECT_SERVER_API_AUTH_STRING"] == env["PREFECT_API_AUTH_STRING"] == "kefu:s3cret-s3cret"
    assert env["PREFECT_SERVER_API_HOST"] == "127.0.0.1"
    assert "PREFECT_API_AUTH_STRING" not in prefect_env(Settings(env="test", secret_key=SECRET, home=tmp_path))
    assert "s3cret" not in repr(s)  # a secret, not printed with the settings


def test_prod_refuses_a_remote_prefect_without_its_auth_string(tmp_path):
    from models.settings import Settings

    prod = {"env": "prod", "secret_key": SECRET, "home": tmp_path}
    with pytest.raises(ValueError, match="KEFU_PREFECT_API_AUTH_STRING"):
        Settings(**prod, prefect_api_url="http://prefect.internal:4200/api").check_for_start()
    Settings(**prod, prefect_api_url="http://prefect.internal:4200/api",
             prefect_api_auth_string="kefu:s3cret-s3cret").check_for_start()
    Settings(**prod, prefect_api_url="http://127.0.0.1:4200/api").check_for_start()
    Settings(**prod).check_for_start()  # kefu up's own server, bound to 127.0.0.1
    with pytest.raises(ValueError, match="KEFU_OIDC_CLIENT_ID"):
        Settings(**prod, oidc_metadata_url="https://idp.example/.well-known/openid-configuration").check_for_start()


# ---- OIDC single sign-on, against a fake IdP in-process (tests/oidc_idp.py) -----------------------
@pytest.fixture
def idp_app(tmp_path):
    from tests.oidc_idp import CLIENT_ID, CLIENT_SECRET, FakeIdP

    idp = FakeIdP()
    svc = fake_services(tmp_path)
    svc.settings.oidc_metadata_url = idp.metadata_url
    svc.settings.oidc_client_id = CLIENT_ID
    from pydantic import SecretStr

    svc.settings.oidc_client_secret = SecretStr(CLIENT_SECRET)
    return idp, svc, create_app(svc, oidc_client_kwargs=idp.client_kwargs())


def oidc_sign_in(idp, app, email: str, **claims) -> tuple[TestClient, object]:
    c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert "企业账号登录" in c.get("/login").text
    r = c.get("/auth/oidc/login", params={"next": "/api/me"})
    assert r.status_code == 302 and r.headers["location"].startswith("https://idp.example/authorize?")
    back = idp.approve(r.headers["location"], email, **claims)
    assert back.startswith("http://kefu.test/auth/oidc/callback?")
    return c, c.get(back.removeprefix("http://kefu.test"))


def test_oidc_sign_in_makes_a_staff_session_for_a_person_of_the_org_directory(idp_app):
    idp, svc, app = idp_app
    c, r = oidc_sign_in(idp, app, "jiang.hua@huajin.example")
    assert r.status_code == 303 and r.headers["location"] == "/api/me", r.text
    assert c.get("/api/me").json()["email"] == "jiang.hua@huajin.example"
    assert idp.token_requests and idp.token_requests[0]["grant_type"] == "authorization_code"
    with svc.store.session() as s:
        from sqlmodel import select

        from models.tables import StaffSession

        assert [x.via for x in s.exec(select(StaffSession)).all()] == ["oidc"]


@pytest.mark.parametrize("email,claims,status", [
    ("stranger@other.example", {}, 403),                         # signed in at the IdP, not in the org file
    ("jiang.hua@huajin.example", {"email_verified": False}, 403),  # the IdP has not verified the address
    ("jiang.hua@huajin.example", {"wrong_audience": True}, 401),   # an ID token made for another client
])
def test_oidc_refuses_who_is_not_ours_and_tokens_not_for_us(idp_app, email, claims, status):
    idp, svc, app = idp_app
    c, r = oidc_sign_in(idp, app, email, **claims)
    assert r.status_code == status, r.text
    refused(c.get("/api/me"), 401)


def test_oidc_callback_with_a_forged_state_or_code_signs_nobody_in(idp_app):
    idp, svc, app = idp_app
    c = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = c.get("/auth/oidc/login")
    back = idp.approve(r.headers["location"], "jiang.hua@huajin.example")
    forged_state = back.split("&state=")[0] + "&state=forged"
    assert c.get(forged_state.removeprefix("http://kefu.test")).status_code == 401
    other = TestClient(app, raise_server_exceptions=False)  # the redirect replayed in another browser
    assert other.get(back.removeprefix("http://kefu.test")).status_code == 401
    refused(other.get("/api/me"), 401)


def test_the_web_apps_own_calls_to_prefect_carry_the_auth_string(tmp_path):
    """PrefectFlowRuns' direct API calls (health, filters, set_state, restart) send Prefect's basic
    auth as Prefect's client does: a server with PREFECT_SERVER_API_AUTH_STRING would refuse them otherwise."""
    import base64
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from models.settings import Settings
    from tasks.platform.flow_runs import build_flow_runs

    seen: list[str | None] = []

    class Prefect(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({} if self.path.endswith("/health") else []).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *_a) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Prefect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = f"http://127.0.0.1:{server.server_port}/api"
        flows = build_flow_runs(Settings(env="test", secret_key=SECRET, home=tmp_path, prefect_api_url=api,
                                         prefect_api_auth_string="kefu:s3cret-s3cret"))
        flows.ping()
        flows.run_states(["00000000-0000-0000-0000-000000000001"])
        flows.served_deployments((names.COMPLAINT,))
        build_flow_runs(Settings(env="test", secret_key=SECRET, home=tmp_path, prefect_api_url=api)).ping()
    finally:
        server.shutdown()
    basic = "Basic " + base64.b64encode(b"kefu:s3cret-s3cret").decode()
    assert seen == [basic, basic, basic, None]


def test_refusals_are_logged_without_the_secret(svc, app, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="kefu.auth")
    key = add_api_key(svc, "complaints", name="crm")
    svc.store.revoke_api_key("crm", NOW)
    client(app, key).post("/api/complaints", json=COMPLAINT)
    set_password(svc, "li.na@huajin.example")
    sign_in(app, "li.na@huajin.example", "wrong password!!")
    sign_in(app, "li.na@huajin.example")
    text = caplog.text
    assert "API key refused" in text and "sign-in refused for 'li.na@huajin.example'" in text
    assert "signed in: li.na@huajin.example (password)" in text
    assert key not in text and key[5:20] not in text and "wrong password" not in text and PASSWORD not in text


# ---- the filer follows from the credential (brief access2, item 1) -----------------------------------
def bound_key(svc, person: str, scopes: str = "all", name: str | None = None) -> str:
    """A key made as `kefu apikey create --person <email>` makes it: it files as that person only."""
    from models.access import new_api_key, parse_scopes

    key = new_api_key()
    svc.store.add_api_key(name=name or f"bound-{key[5:13]}", key=key, scopes=parse_scopes(scopes), by="tests",
                          now=svc.clock.now(), person=person)
    return key


def filed(svc, case_no: str) -> dict:
    """The case's first event: who filed it, and how."""
    first = next(e for e in svc.store.events(case_no) if e.kind == "case_created")
    return {"actor": first.actor, "filed_by": first.data.get("filed_by"), "filed_via": first.data.get("filed_via")}


@pytest.mark.parametrize("email,path,body,field", [
    ("li.na@huajin.example", "/api/complaints", COMPLAINT, "received_by"),  # an L1 handler names another one
    ("yang.mei@huajin.example", "/api/sample-requests", SAMPLE, "requested_by"),  # marketing names a colleague
    ("lin.tao@huajin.example", "/api/returns", RETURN, "salesperson"),  # a salesperson names another one
])
def test_a_staff_member_files_as_themselves_and_naming_another_is_403(svc, app, email, path, body, field):
    others = {"received_by": "chen.jing@huajin.example", "requested_by": "xu.fang@huajin.example",
              "salesperson": "guo.xin@huajin.example"}
    c = staff(app, svc, email)
    before = table_counts(svc)
    refused(c.post(path, json={**body, field: others[field]}), 403, field, "yourself")
    assert table_counts(svc) == before  # nothing filed
    mine = c.post(path, json={k: v for k, v in body.items() if k != field})  # named nobody: themselves
    assert mine.status_code == 201, mine.text
    case = svc.store.get_case(mine.json()["case_no"])
    assert (case.data.get(field) or case.requested_by) == email
    assert filed(svc, case.case_no) == {"actor": email, "filed_by": email, "filed_via": "staff"}


def test_who_may_file_for_others_names_a_holder_of_the_role(svc, app):
    """The CS manager enters complaints taken by the L1 handlers; the back office (业务内勤) the
    salespeople's forms (models/access.py FILE_FOR_OTHERS_ROLES). The named person must hold the role."""
    cs_manager = staff(app, svc, "zhou.min@huajin.example")
    r = cs_manager.post("/api/complaints", json={**COMPLAINT, "received_by": "chen.jing@huajin.example"})
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    assert svc.store.get_case(case_no).data["received_by"] == "chen.jing@huajin.example"
    assert filed(svc, case_no) == {"actor": "chen.jing@huajin.example", "filed_by": "zhou.min@huajin.example",
                                   "filed_via": "staff"}
    assert cs_manager.post("/api/complaints", json={**COMPLAINT, "received_by": "yang.mei@huajin.example"}
                           ).status_code == 422  # not an L1 handler
    back_office = staff(app, svc, "zheng.yan@huajin.example")
    r = back_office.post("/api/returns", json={**RETURN, "salesperson": "guo.xin@huajin.example"})
    assert r.status_code == 201, r.text
    assert svc.store.get_case(r.json()["case_no"]).requested_by == "guo.xin@huajin.example"


def test_a_key_bound_to_a_person_files_as_that_person_only(svc, app):
    c = client(app, bound_key(svc, "chen.jing@huajin.example", "complaints", name="chen-phone"))
    body = {k: v for k, v in COMPLAINT.items() if k != "received_by"}
    r = c.post("/api/complaints", json=body)  # not the first L1 handler (li.na): the key's person
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    assert svc.store.get_case(case_no).data["received_by"] == "chen.jing@huajin.example"
    assert filed(svc, case_no) == {"actor": "chen.jing@huajin.example", "filed_by": "chen-phone",
                                   "filed_via": "api_key"}
    assert c.post("/api/complaints", json={**body, "received_by": "CHEN.JING@huajin.example"}).status_code == 201
    before = table_counts(svc)
    refused(c.post("/api/complaints", json={**body, "received_by": "li.na@huajin.example"}), 403, "received_by")
    assert table_counts(svc) == before
    assert c.get("/api/me").json() == {"kind": "api_key", "name": "chen-phone", "scopes": ["complaints"],
                                       "person": "chen.jing@huajin.example"}


def test_a_system_key_may_name_any_holder_of_the_role(svc, app):
    c = client(app, add_api_key(svc, "complaints", name="crm"))
    r = c.post("/api/complaints", json={**COMPLAINT, "received_by": "chen.jing@huajin.example"})
    assert r.status_code == 201, r.text
    assert filed(svc, r.json()["case_no"]) == {"actor": "chen.jing@huajin.example", "filed_by": "crm",
                                               "filed_via": "api_key"}
    assert c.post("/api/complaints", json={**COMPLAINT, "received_by": "yang.mei@huajin.example"}).status_code == 422


def test_a_key_bound_to_someone_no_longer_in_the_org_directory_files_nothing(svc, app):
    c = client(app, bound_key(svc, "left@huajin.example", "complaints"))
    before = table_counts(svc)
    refused(c.post("/api/complaints", json=COMPLAINT), 401, "org directory")
    assert table_counts(svc) == before


def test_the_filer_is_shown_on_the_case_to_those_who_may_read_it(svc, app):
    r = client(app, add_api_key(svc, "complaints", name="crm")).post("/api/complaints", json=COMPLAINT)
    case_no = r.json()["case_no"]
    shown = client(app, add_api_key(svc, "read_cases")).get(f"/api/cases/{case_no}").json()
    assert (shown["filed_by"], shown["filed_via"]) == ("crm", "api_key")
    assert shown["events"][0]["data"]["filed_by"] == "crm"
    receiver = staff(app, svc, "li.na@huajin.example").get(f"/api/cases/{case_no}")
    assert receiver.status_code == 200 and receiver.json()["filed_by"] == "crm"
    refused(staff(app, svc, "he.ping@huajin.example").get(f"/api/cases/{case_no}"), 403)  # not on it: nothing
    mine = staff(app, svc, "yang.mei@huajin.example").post("/api/sample-requests", json=SAMPLE).json()["case_no"]
    shown = client(app, add_api_key(svc, "read_cases")).get(f"/api/cases/{mine}").json()
    assert (shown["filed_by"], shown["filed_via"]) == ("yang.mei@huajin.example", "staff")


def test_the_command_line_binds_a_key_to_a_person_of_the_org_directory_only(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from models.db import migrate

    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    migrate(url)
    env = {**os.environ, "KEFU_HOME": str(tmp_path), "KEFU_DATABASE_URL": url, "KEFU_ENV": "test",
           "KEFU_SECRET_KEY": SECRET}
    kefu = [str(Path(sys.executable).parent / "kefu"), "apikey"]
    made = subprocess.run([*kefu, "create", "--name", "phone-li", "--scope", "complaints", "--person",
                           "LI.NA@huajin.example"], env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["person"] == "li.na@huajin.example"
    made = subprocess.run([*kefu, "create", "--name", "crm", "--scope", "complaints"], env=env,
                          capture_output=True, text=True, timeout=120)  # the command as before: a system key
    assert made.returncode == 0 and json.loads(made.stdout)["person"] is None
    bad = subprocess.run([*kefu, "create", "--name", "x", "--scope", "complaints", "--person", "nobody@x.example"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "org directory" in bad.stderr + bad.stdout
    listed = [json.loads(line) for line in subprocess.run([*kefu, "list"], env=env, capture_output=True, text=True,
                                                          timeout=120).stdout.splitlines()]
    assert [(k["name"], k["person"]) for k in listed] == [("phone-li", "li.na@huajin.example"), ("crm", None)]


# ---- dead staff sessions are deleted (item 2) --------------------------------------------------------
def session_rows(svc, email: str) -> int:
    from sqlmodel import select

    from models.tables import StaffSession

    with svc.store.session() as s:
        return len(s.exec(select(StaffSession).where(StaffSession.email == email)).all())


def test_an_expired_session_is_refused_and_deleted_by_the_next_sign_in(svc, app):
    set_password(svc, "yang.mei@huajin.example")
    old = staff(app, svc, "li.na@huajin.example")
    assert session_rows(svc, "li.na@huajin.example") == 1
    svc.clock.advance(hours=svc.settings.session_hours, seconds=1)
    refused(old.get("/api/me"), 401)
    assert sign_in(app, "yang.mei@huajin.example")[1].status_code == 303  # anyone's sign-in
    assert session_rows(svc, "li.na@huajin.example") == 0
    refused(old.get("/api/me"), 401)


def test_the_watchdog_deletes_expired_and_ended_sessions(svc, app):
    from tasks.platform.watchdog import sla_check

    live = staff(app, svc, "li.na@huajin.example")
    svc.clock.advance(hours=svc.settings.session_hours - 1)
    fresh = staff(app, svc, "yang.mei@huajin.example")
    assert sla_check(svc, svc.clock.now(), resume=False)["sessions_removed"] == 0
    svc.clock.advance(hours=1, seconds=1)  # li.na's session is over, yang.mei's not
    assert sla_check(svc, svc.clock.now(), resume=False)["sessions_removed"] == 1
    assert session_rows(svc, "li.na@huajin.example") == 0 and session_rows(svc, "yang.mei@huajin.example") == 1
    refused(live.get("/api/me"), 401)
    assert fresh.get("/api/me").status_code == 200


# ---- the intake's key check: no round trip of its own, revocation still at once (item 3) -------------
def test_the_intakes_key_check_is_part_of_the_intakes_own_transaction(svc, app):
    """A key seen before costs the intake no connection or transaction of its own: one checkout of a
    database connection per POST, in which the key's revocation is read (before: two)."""
    from sqlalchemy import event

    c = client(app, add_api_key(svc, "complaints"))
    assert c.post("/api/complaints", json=COMPLAINT).status_code == 201  # the key is verified once
    checkouts, statements = [], []

    def on_checkout(*_args) -> None:
        checkouts.append(len(statements))

    def on_statement(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(svc.store.engine, "checkout", on_checkout)
    event.listen(svc.store.engine, "before_cursor_execute", on_statement)
    try:
        assert c.post("/api/complaints", json=COMPLAINT).status_code == 201
    finally:
        event.remove(svc.store.engine, "checkout", on_checkout)
        event.remove(svc.store.engine, "before_cursor_execute", on_statement)
    assert len(checkouts) == 1, statements
    assert "api_keys" in statements[0] and "revoked_at" in statements[0]  # first, in the filing's transaction


GRIEVANCE = {"abnormality_no": "YC-2026-031", "order_no": "XS-20261102-07", "item_no": "CY-40S",
             "customer": "无锡华美服饰有限公司", "quantity_shipped": {"value": 2000, "unit": "kg"},
             "ship_date": "2026-11-02", "defective_quantity": {"value": 300, "unit": "kg"}, "description": "条干不匀",
             "demand": "退货 300 kg", "return_quantity": {"value": 300, "unit": "kg"}, "grievance_class": "quality",
             "sample_attached": True, "opinion": "属实", "salesperson": "lin.tao@huajin.example"}
CORRECTION = {"archive_no": "DA-2026-000001", "changes": {"phone": "13987654321"}, "reason": "电话变更",
              "drafted_by": "chen.jing@huajin.example", "departments": ["sales"]}
APPLICATION = {"customer": {"name": "苏州新锦纺织有限公司", "invoicing_name": "苏州新锦纺织有限公司",
                            "customer_class": "enterprise", "contact_name": "陈先生", "phone": "13912345678",
                            "registration": {"credit_code": "91320500MA1XYZ1234"}, "address": "苏州工业园区"},
               "first_transaction": {"date": "2026-11-10", "amount": "35600.00", "reference": "XS-20261110-01"},
               "development_history": "展会结识", "evaluation": {"contribution": "年采购约 200 万",
                                                             "long_term_impact": "带动华东经销", "credit": "良好"},
               "support_needed": "样品", "salesperson": "lin.tao@huajin.example"}


@pytest.mark.parametrize("path,body,scope", [
    *INTAKE[:3], ("/api/archive-corrections", CORRECTION, "archive_corrections"),
    ("/api/new-customer-applications", APPLICATION, "new_customers"), ("/api/grievances", GRIEVANCE, "grievances")])
def test_a_key_revoked_after_it_was_verified_files_nothing_on_every_intake_endpoint(svc, app, path, body, scope):
    """Every intake route checks the key in its filing's transaction (a route that forgot would file
    with the cached key): revoked by another process between two requests → 401, nothing stored,
    also a repeat of the first request's Idempotency-Key (no case number given back)."""
    from models.archive.records import CustomerIn

    svc.store.create_customer(CustomerIn(archive_no="DA-2026-000001", name="甲公司", customer_class="enterprise",
                                         phone="13812345678"), by="t", reason="导入", source="import", now=NOW)
    c = client(app, add_api_key(svc, scope, name="crm"))
    first = c.post(path, json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201, first.text
    from tasks.platform.store import Store

    Store(svc.store.engine).revoke_api_key("crm", NOW)  # another store: the app's own is not told
    before = table_counts(svc)
    for key in ("k2", "k1"):
        r = c.post(path, json=body, headers={"Idempotency-Key": key})
        refused(r, 401, "吊销", "revoked")
        assert first.json()["case_no"] not in r.text
    assert table_counts(svc) == before


def test_a_key_revoked_by_kefu_apikey_revoke_in_another_process_is_401_at_once(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from models.db import make_engine, migrate
    from models.settings import Settings
    from tasks.platform.clock import FixedClock
    from tasks.platform.runtime import build_services
    from tasks.platform.store import Store

    url = f"sqlite:///{tmp_path / 'kefu.db'}"
    migrate(url)
    settings = Settings(env="test", secret_key=SECRET, home=tmp_path, mail_backend="memory", flow_backend="memory",
                        base_url="http://kefu.test", flow_start_in_web=False, database_url=url)
    svc = build_services(settings, store=Store(make_engine(url)), clock=FixedClock(NOW))
    c = client(create_app(svc), add_api_key(svc, "sample_requests", name="crm"))
    assert [c.post("/api/sample-requests", json=SAMPLE).status_code for _ in range(2)] == [201, 201]
    env = {**os.environ, "KEFU_HOME": str(tmp_path), "KEFU_DATABASE_URL": url, "KEFU_ENV": "test",
           "KEFU_SECRET_KEY": SECRET}
    revoked = subprocess.run([str(Path(sys.executable).parent / "kefu"), "apikey", "revoke", "crm"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert revoked.returncode == 0, revoked.stderr
    before = table_counts(svc)
    refused(c.post("/api/sample-requests", json=SAMPLE), 401, "revoked")
    assert table_counts(svc) == before
