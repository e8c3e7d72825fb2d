"""C27 (procedures §7.1): the `in_legal_process` flag — any handler sets it, only the legal counsel clears
it (anyone else: 403, recorded), each change in the proceedings sent at once to the GM, the chairman and
the L3 directors. The real web app and store on the fakes, staff signed in."""

from __future__ import annotations

import pytest

from models.complaint.legal_process import flag_refusal, update_refusal
from tests.fakes import add_api_key, fake_services
from tests.unit.test_access import COMPLAINT, client, refused, set_password, sign_in
from webapp.app import create_app

GM, CHAIRMAN = "wang.jianguo@huajin.example", "dong.cheng@huajin.example"
L3_SALES, L3_ADMIN = "zhao.lei@huajin.example", "qian.hui@huajin.example"
LEGAL_COUNSEL, RECEIVER, L2, SALESPERSON = ("tang.lv@huajin.example", "li.na@huajin.example", "zhou.min@huajin.example",
                                            "lin.tao@huajin.example")


def test_the_rules():
    assert flag_refusal(["l1_handler"], on=True) is None and flag_refusal([], on=True, is_case_handler=True) is None
    assert flag_refusal(["salesperson"], on=True) is not None
    assert flag_refusal(["legal_counsel"], on=False) is None
    for roles in (["l1_handler"], ["l2_handler", "cs_manager"], ["general_manager"], ["chairman"]):
        assert flag_refusal(roles, on=False)[1] == "only the legal counsel clears the in_legal_process flag"
    assert flag_refusal([], on=False, is_case_handler=True) is not None  # not even the case's handler
    assert update_refusal(["legal_counsel"], flagged=False) is not None
    assert update_refusal(["l2_handler"], flagged=True) is None


def test_c27_the_cases_own_handler_records_a_change_whatever_their_roles_and_no_one_else_does():
    assert update_refusal([], flagged=True, is_case_handler=True) is None
    assert update_refusal(["legal_counsel"], flagged=True) is None
    zh, en = update_refusal(["salesperson"], flagged=True)
    assert "投诉处理人" in zh and "complaint handler" in en
    zh, en = update_refusal(["legal_counsel"], flagged=False, is_case_handler=True)
    assert "未标记" in zh and "not flagged" in en
    zh, en = flag_refusal(["l2_handler"], on=False)
    assert "法律顾问" in zh and "legal counsel" in en


@pytest.fixture
def env(tmp_path):
    svc = fake_services(tmp_path)
    app = create_app(svc)
    case_no = client(app, add_api_key(svc, "complaints")).post("/api/complaints", json=COMPLAINT).json()["case_no"]
    for person in (RECEIVER, L2, LEGAL_COUNSEL, SALESPERSON):
        set_password(svc, person)
    return svc, app, case_no


def _staff(app, email):
    c, r = sign_in(app, email)
    assert r.status_code in (302, 303), r.text
    return c


def _sent(svc, subject: str) -> list:
    return [m for m in svc.mailer.sent if subject in m.subject]


def test_a_handler_sets_the_flag_and_the_gm_chairman_and_directors_are_told_at_once(env):
    svc, app, case_no = env
    url = f"/api/complaints/{case_no}/legal-process"
    refused(_staff(app, SALESPERSON).post(url, json={"in_legal_process": True, "reason": "x"}), 403, "处理人")
    r = _staff(app, RECEIVER).post(url, json={"in_legal_process": True, "reason": "客户书面告知将起诉"})
    assert r.status_code == 200, r.text
    case = svc.store.get_case(case_no)
    assert case.data["in_legal_process"] is True and case.data["legal_process"]["flagged_by"] == RECEIVER
    (told,) = _sent(svc, "投诉涉及司法程序")
    assert {GM, CHAIRMAN, L3_SALES, L3_ADMIN, LEGAL_COUNSEL} <= set(told.to)
    # an API key is no person: it may not act here
    refused(client(app, add_api_key(svc, "read_cases")).post(url, json={"in_legal_process": True, "reason": "x"}),
            403, "staff")


def test_only_the_legal_counsel_clears_it_and_a_refused_clear_is_403_and_recorded(env):
    svc, app, case_no = env
    url = f"/api/complaints/{case_no}/legal-process"
    assert _staff(app, RECEIVER).post(url, json={"in_legal_process": True, "reason": "收到法院传票"}).status_code == 200
    for person in (RECEIVER, L2):  # the handler and the CS manager too
        refused(_staff(app, person).post(url, json={"in_legal_process": False, "reason": "已和解"}), 403, "法律顾问")
    refusals = [e for e in svc.store.events(case_no) if e.kind == "legal_process_change_refused"]
    assert [e.actor for e in refusals] == [RECEIVER, L2]
    assert svc.store.get_case(case_no).data["in_legal_process"] is True
    r = _staff(app, LEGAL_COUNSEL).post(url, json={"in_legal_process": False, "reason": "双方和解，撤诉"})
    assert r.status_code == 200, r.text
    case = svc.store.get_case(case_no)
    assert case.data["in_legal_process"] is False and case.data["legal_process"]["cleared_by"] == LEGAL_COUNSEL


def test_each_change_in_the_proceedings_is_recorded_and_sent_at_once(env):
    svc, app, case_no = env
    url = f"/api/complaints/{case_no}/legal-process"
    refused(_staff(app, RECEIVER).post(f"{url}/updates", json={"update": "开庭"}), 403, "未标记")
    _staff(app, RECEIVER).post(url, json={"in_legal_process": True, "reason": "仲裁申请已提交"})
    counsel = _staff(app, LEGAL_COUNSEL)
    assert counsel.post(f"{url}/updates", json={"update": "仲裁庭定于12月3日开庭"}).status_code == 201
    assert counsel.post(f"{url}/updates", json={"update": "调解达成协议"}).status_code == 201
    updates = svc.store.get_case(case_no).data["legal_process"]["updates"]
    assert [u["text"] for u in updates] == ["仲裁庭定于12月3日开庭", "调解达成协议"] and updates[0]["by"] == LEGAL_COUNSEL
    sent = _sent(svc, "司法程序进展")
    assert len(sent) == 2 and all({GM, CHAIRMAN, L3_SALES, L3_ADMIN} <= set(m.to) for m in sent)
    assert "调解达成协议" in sent[1].text
    r = counsel.post(f"{url}/updates", json={"update": ""})
    assert r.status_code == 422


def test_the_flag_on_an_unknown_or_other_case_is_404(env):
    _svc, app, _case_no = env
    r = _staff(app, RECEIVER).post("/api/complaints/TS-2026-999999/legal-process",
                                   json={"in_legal_process": True, "reason": "x"})
    assert r.status_code == 404
