"""What the complaint's deciding steps record (tasks/complaint/steps.py), without Prefect: C12's violation
once per case and rule, C21's hour records (the first `done` stays), C21's 10-minute report of a major
complaint — to whom, when due, on time or not (docs/testing.md, session 15)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import select

from models.business_days import TZ
from models.complaint.handling import ComplaintIn, Penalty
from models.tables import OutboxMessage, PenaltyRecord
from tasks.complaint.intake import file_complaint
from tasks.complaint.steps import hour_record, report_major, save_penalty
from tests.fakes import fake_services

RECEIVED = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday
L1 = "li.na@huajin.example"
L2 = "zhou.min@huajin.example"
L3_SALES, L3_ADMIN = "zhao.lei@huajin.example", "qian.hui@huajin.example"


@pytest.fixture
def svc(tmp_path):
    return fake_services(tmp_path, now=RECEIVED + timedelta(minutes=5))


def file(svc, **over) -> str:
    b = {"complainant": {"name": "王芳", "phone": "13812345678"}, "kind": "consumer", "channel": "phone",
         "category": "维修服务", "description": "漏水", "event": {"time": "周一", "place": "园区店"},
         "received_at": RECEIVED.isoformat()} | over
    case, _ = file_complaint(svc, ComplaintIn.model_validate(b))
    return case.case_no


def events(svc, case_no: str, kind: str):
    return [e for e in svc.store.events(case_no) if e.kind == kind]


# ---- C12 -----------------------------------------------------------------------------------------
def test_c12_a_violation_is_recorded_once_per_case_and_rule_with_who_what_and_why(svc):
    case_no = file(svc)
    late = Penalty(handler=L1, rule="first_contact_late", amount=Decimal("30.00"), reason="未在1个工作日内应诉")
    assert save_penalty(svc, case_no, late) is True
    with svc.store.session() as s:
        (row,) = s.exec(select(PenaltyRecord).where(PenaltyRecord.case_no == case_no)).all()
    assert (row.handler, row.rule, row.amount, row.reason) == (L1, "first_contact_late", Decimal("30.00"), "未在1个工作日内应诉")
    assert row.at.replace(tzinfo=row.at.tzinfo or timezone.utc) == RECEIVED + timedelta(minutes=5)  # recorded now
    (e,) = events(svc, case_no, "penalty_recorded")
    assert e.actor == "system" and e.data == {"handler": L1, "rule": "first_contact_late", "amount": "30.00",
                                              "reason": "未在1个工作日内应诉"}
    again = late.model_copy(update={"handler": L2, "reason": "再次"})
    assert save_penalty(svc, case_no, again) is False  # the same rule on the same case: once
    routing = Penalty(handler=L2, rule="routing_not_followed", amount=Decimal("50.00"), reason="未转交")
    assert save_penalty(svc, case_no, routing) is True  # another rule is another violation
    other = file(svc)
    assert save_penalty(svc, other, late) is True       # the same rule on another case too
    assert [e.data["rule"] for e in events(svc, case_no, "penalty_recorded")] == ["first_contact_late", "routing_not_followed"]
    with svc.store.session() as s:
        rows = s.exec(select(PenaltyRecord).where(PenaltyRecord.case_no == case_no)).all()
    assert sorted((r.rule, r.handler) for r in rows) == [("first_contact_late", L1), ("routing_not_followed", L2)]


def test_c12_a_violation_recorded_by_another_pass_between_the_check_and_the_insert_counts_once(svc, monkeypatch):
    """Two watchdog passes at once: the second one's check saw no row, the unique (case, rule) refuses its insert,
    and it reports nothing recorded (the watchdog counts what it recorded)."""
    import sqlalchemy

    import tasks.complaint.steps as steps

    case_no = file(svc)
    late = Penalty(handler=L1, rule="first_contact_late", amount=Decimal("30.00"), reason="未在1个工作日内应诉")
    assert save_penalty(svc, case_no, late) is True
    real = steps.select
    monkeypatch.setattr(steps, "select", lambda *a: real(*a).where(sqlalchemy.false()))  # the check sees nothing yet
    assert save_penalty(svc, case_no, late) is False
    assert len(events(svc, case_no, "penalty_recorded")) == 1


# ---- C21 hour records ----------------------------------------------------------------------------
def test_c21_an_hour_record_keeps_its_first_due_and_done_and_adds_only_new_notes(svc):
    case_no = file(svc)
    due, done = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc), RECEIVED + timedelta(hours=3)
    first = hour_record(svc, case_no, "feedback", due=due, done=done, to=[L1])
    assert first == {"due": "2026-11-24T10:00:00+08:00", "done": "2026-11-23T13:00:00+08:00", "to": [L1]}
    assert svc.store.get_case(case_no).data["c21_feedback"] == first
    (e,) = events(svc, case_no, "feedback_deadline_recorded")
    assert e.actor == "system" and e.data == {"c21_feedback": first}
    later = hour_record(svc, case_no, "feedback", due=due + timedelta(days=1), done=done + timedelta(hours=1), to=[L2], note="x")
    assert later == first | {"note": "x"}  # the first due and done stay; a note not made before is added
    assert len(events(svc, case_no, "feedback_deadline_recorded")) == 2
    assert hour_record(svc, case_no, "feedback", done=done + timedelta(days=2)) == later
    assert len(events(svc, case_no, "feedback_deadline_recorded")) == 2  # nothing changed, nothing recorded


def test_c21_a_deadline_recorded_before_it_is_done_gets_its_done_later_in_shanghai_time(svc):
    case_no = file(svc)
    due = datetime(2026, 11, 23, 2, 10, tzinfo=timezone.utc)   # 10:10 in Shanghai
    assert hour_record(svc, case_no, "major_report", due=due) == {"due": "2026-11-23T10:10:00+08:00"}
    done = datetime(2026, 11, 23, 2, 9, tzinfo=timezone.utc)
    assert hour_record(svc, case_no, "major_report", done=done) == {"due": "2026-11-23T10:10:00+08:00",
                                                                    "done": "2026-11-23T10:09:00+08:00"}
    assert hour_record(svc, case_no, "solution") == {} and "c21_solution" not in svc.store.get_case(case_no).data


# ---- C21 the major complaint's 10-minute report ------------------------------------------------
def notices(svc, case_no: str) -> list[OutboxMessage]:
    with svc.store.session() as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.case_no == case_no)).all())


def test_c21_a_level_2_complaint_is_reported_to_the_l2_handler_within_10_minutes(svc):
    case_no = file(svc, category="服务行为")
    assert report_major(svc, case_no, 2) is True  # 5 minutes after receipt
    rec = svc.store.get_case(case_no).data["c21_major_report"]
    assert rec == {"due": "2026-11-23T10:10:00+08:00", "done": "2026-11-23T10:05:00+08:00", "to": [L2]}
    (mail,) = [m for m in notices(svc, case_no) if m.dedupe_key == f"notice:{case_no}:major-report-l2"]
    assert mail.to.split(",") == [L2] and mail.subject == f"【通知】{case_no} 重大投诉上报（二级（较严重投诉））"
    assert f"二级（较严重投诉） {case_no} 已受理，按规定于受理后10分钟内上报。（系统自动上报）" in mail.text
    (e,) = events(svc, case_no, "major_complaint_reported")
    assert e.data["to"] == [L2] and e.data["key"] == "major-report-l2"


def test_c21_a_level_3_complaint_goes_to_both_directors_too_and_late_is_late(svc):
    case_no = file(svc, media=True)
    svc.clock.advance(minutes=6)  # 11 minutes after receipt
    assert report_major(svc, case_no, 3, by="flow") is False
    rec = svc.store.get_case(case_no).data["c21_major_report"]
    assert rec["to"] == sorted([L2, L3_SALES, L3_ADMIN]) and rec["done"] == "2026-11-23T10:11:00+08:00"
    (mail,) = [m for m in notices(svc, case_no) if m.dedupe_key == f"notice:{case_no}:major-report-l3"]
    assert sorted(mail.to.split(",")) == sorted([L2, L3_SALES, L3_ADMIN])
    (line,) = [x for x in mail.text.splitlines() if "已受理" in x]  # reported by the flow itself: no "automatic" note
    assert line.strip() == f"三级（非常严重投诉） {case_no} 已受理，按规定于受理后10分钟内上报。"


# ---- C11/R1 the return/credit case a complaint's outcome starts ---------------------------------
def test_c11_r1_a_return_decided_on_a_complaint_is_filed_once_with_the_complaints_details(tmp_path):
    from tasks.complaint.steps import start_return_credit
    from tests.flows.harness import CUSTOMER, Office

    office = Office(tmp_path)
    case_no = office.complaint(description="色差明显" * 200)  # 800 characters: the reason keeps the first 500
    outcome = {"return_quantity": 40, "unit": "箱", "product_code": "CY-60S", "loss_amount": "900.00"}
    child_no = start_return_credit(office.svc, case_no, "return", outcome, Decimal("900.00"))
    child = office.svc.store.get_case(child_no)
    d = child.data
    assert child.procedure == "return" and d["complaint_case_no"] == case_no
    assert (d["customer"], d["customer_email"], d["product_code"], d["product_name"]) == (
        "张女士", CUSTOMER, "CY-60S", "精梳棉纱 40S")
    assert d["amount"] == "900.00" and d["quantity"] == {"value": 40, "unit": "箱"}
    assert d["reason"] == f"投诉 {case_no}：" + ("色差明显" * 125)
    assert (d["handling"], d["basis"]) == ("退货/重处理", f"投诉 {case_no} 处理结果")
    assert child_no in office.flows.calls  # its run started at once
    assert start_return_credit(office.svc, case_no, "return", outcome, Decimal("900.00")) == child_no  # once


def test_c11_r1_an_allowance_takes_the_first_product_and_no_quantity(tmp_path):
    from tasks.complaint.steps import start_return_credit
    from tests.flows.harness import Office

    office = Office(tmp_path)
    case_no = office.complaint()
    child = office.svc.store.get_case(start_return_credit(office.svc, case_no, "allowance", {"product_code": "", "unit": ""},
                                                          Decimal("300.00")))
    assert child.procedure == "allowance" and child.data["product_code"] == "CY-40S" and child.data.get("quantity") is None
    assert child.data["handling"] == "折让/赔款" and child.data["product_name"] == "精梳棉纱 40S"
    bare = office.complaint(products=[], email=None)
    kid = office.svc.store.get_case(start_return_credit(office.svc, bare, "return", {"return_quantity": 5}, Decimal("10.00")))
    assert kid.data["product_code"] == "—" and kid.data["product_name"] == "" and kid.data["quantity"] == {"value": 5, "unit": "件"}
    assert kid.data["customer_email"] is None


# ---- C20 the process notice to the customer ---------------------------------------------------
CUSTOMER_EMAIL = "wf@example.com"
WITH_EMAIL = {"complainant": {"name": "王芳", "phone": "13812345678", "email": CUSTOMER_EMAIL}}


def outbox(svc, case_no: str, key_has: str) -> list[OutboxMessage]:
    return [m for m in notices(svc, case_no) if key_has in m.dedupe_key]


def test_c20_the_outline_is_mailed_to_a_customer_with_email_and_recorded_once(svc):
    from tasks.complaint.steps import send_process_notice

    case_no = file(svc, **WITH_EMAIL)
    assert send_process_notice(svc, case_no, "email", actor=L1) is True
    rec = svc.store.get_case(case_no).data["process_notice"]
    digest = rec["digest"]
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert {k: rec[k] for k in ("via", "at", "level", "handler", "versions")} == {
        "via": "email", "at": "2026-11-23T10:05:00+08:00", "level": "一级（普通投诉）", "handler": L1, "versions": 1}
    assert rec["steps"][0] == {"step": "受理登记，确认投诉级别", "by": "已完成"} and len(rec["steps"]) == 6
    (mail,) = outbox(svc, case_no, "process-notice")
    assert mail.dedupe_key == f"notice:{case_no}:process-notice-{digest}" and mail.to.split(",") == [CUSTOMER_EMAIL]
    assert "13900000006" in mail.text  # the handler's own phone, shown in full to the customer
    (sent,) = events(svc, case_no, "process_notice_sent")
    assert sent.data == {"to": [CUSTOMER_EMAIL], "digest": digest, "update": ""}
    (given,) = events(svc, case_no, "process_notice_given")
    assert given.actor == L1 and given.data == {"via": "email", "digest": digest, "update": ""}
    # C21: a minor complaint's 24 h feedback is met by the notice
    assert svc.store.get_case(case_no).data["c21_feedback"] == {"due": "2026-11-24T10:00:00+08:00",
                                                                "done": "2026-11-23T10:05:00+08:00"}
    svc.clock.advance(hours=1)
    assert send_process_notice(svc, case_no, "email") is False  # unchanged: nothing again
    assert len(events(svc, case_no, "process_notice_given")) == 1 and len(outbox(svc, case_no, "process-notice")) == 1


@pytest.mark.parametrize("email,via", [(None, "sms"), (None, "email"), (CUSTOMER_EMAIL, "sms"), (CUSTOMER_EMAIL, "read_out")])
def test_c20_told_by_the_handler_when_the_customer_has_no_email_or_another_way_was_chosen(svc, email, via):
    from tasks.complaint.steps import send_process_notice

    case_no = file(svc, complainant={"name": "王芳", "phone": "13812345678", "email": email})
    assert send_process_notice(svc, case_no, via) is True
    assert svc.store.get_case(case_no).data["process_notice"]["via"] == via
    assert outbox(svc, case_no, "process-notice") == [] and events(svc, case_no, "process_notice_sent") == []


def test_c20_an_update_before_the_customer_was_told_sends_nothing(svc):
    from tasks.complaint.steps import send_process_notice

    case_no = file(svc, **WITH_EMAIL)
    assert send_process_notice(svc, case_no, "email", update="级别调整") is False
    assert "process_notice" not in svc.store.get_case(case_no).data and outbox(svc, case_no, "process-notice") == []


def test_c20_a_change_of_handler_mails_the_update_even_if_the_customer_was_first_told_by_phone(svc):
    from tasks.complaint.steps import send_process_notice

    case_no = file(svc, **WITH_EMAIL)
    assert send_process_notice(svc, case_no, "sms") is True
    first = svc.store.get_case(case_no).data["process_notice"]["digest"]
    svc.store.update_case(case_no, actor="t", kind="handler_assigned", now=svc.clock.now(), data={"handler": L2})
    svc.clock.advance(hours=2)
    assert send_process_notice(svc, case_no, "sms", update="处理人变更") is True
    rec = svc.store.get_case(case_no).data["process_notice"]
    assert rec["digest"] != first and (rec["via"], rec["handler"], rec["versions"]) == ("email", L2, 2)
    assert rec["at"] == "2026-11-23T12:05:00+08:00"
    (mail,) = outbox(svc, case_no, "process-notice")
    assert mail.to.split(",") == [CUSTOMER_EMAIL] and mail.dedupe_key.endswith(rec["digest"])
    assert mail.subject == f"【受理告知】您的投诉 {case_no}（处理安排更新）"
    assert mail.text.startswith(f"尊敬的王芳：\n\n您的投诉（编号 {case_no}）处理安排有更新：处理人变更。更新后的安排如下。")
    (updated,) = events(svc, case_no, "process_notice_updated")
    assert updated.actor == "system"  # the flow's update names no actor: the system sent it
    assert updated.data == {"via": "email", "digest": rec["digest"], "update": "处理人变更"}
    assert events(svc, case_no, "process_notice_sent")[0].data["update"] == "处理人变更"


def test_c20_without_email_the_handler_is_asked_to_tell_the_customer_the_update(svc):
    from tasks.complaint.steps import send_process_notice

    case_no = file(svc)  # no email
    assert send_process_notice(svc, case_no, "sms") is True
    svc.store.update_case(case_no, actor="t", kind="handler_assigned", now=svc.clock.now(), data={"handler": L2})
    assert send_process_notice(svc, case_no, "sms", update="处理人变更") is True
    rec = svc.store.get_case(case_no).data["process_notice"]
    assert (rec["via"], rec["versions"]) == ("sms", 2)
    (mail,) = outbox(svc, case_no, "process-notice")
    assert mail.to.split(",") == [L2] and mail.subject == f"【通知】{case_no} 受理告知更新：请告知客户"
    assert f"投诉 {case_no} 的处理安排有更新（处理人变更），请电话或短信告知客户以下安排。" in mail.text
    # what to tell: the case number, then each step of the outline with its time
    assert f"投诉编号：{case_no}\n" in mail.text
    assert [line for line in mail.text.splitlines() if "：" in line][2:] == [f"{s['step']}：{s['by']}" for s in rec["steps"]]
    (e,) = events(svc, case_no, "process_notice_update_to_handler")
    assert e.data == {"to": [L2], "key": f"process-notice-{rec['digest']}", "title": "受理告知更新：请告知客户"}


def test_c20_c21_a_major_or_escalated_complaints_notice_is_not_its_24_hour_feedback(svc):
    from tasks.complaint.steps import send_process_notice

    case_no = file(svc, category="服务行为", **WITH_EMAIL)
    svc.store.update_case(case_no, actor="t", kind="accepted", now=svc.clock.now(), level=2)
    assert send_process_notice(svc, case_no, "email") is True
    data = svc.store.get_case(case_no).data
    assert data["process_notice"]["level"] == "二级（较严重投诉）" and "c21_feedback" not in data


def test_c20_the_outline_read_to_the_customer(svc):
    from tasks.complaint.steps import process_outline
    from tasks.platform.runtime import use_services

    case_no = file(svc)
    with use_services(svc):
        text = process_outline(case_no)
    assert text == ("一级（普通投诉）。1. 受理登记，确认投诉级别：已完成；2. 首次联系，了解原因与经过：2026-11-24 10:00；"
                    "3. 向您反馈处理安排：2026-11-24 10:00；4. 责任部门调查，提出处理方案：2026-11-24 10:00；"
                    "5. 处理方案审批后实施，告知处理结果并请您评价：2026-11-30 10:00；6. 处理完毕后回访：处理完毕后24小时内。"
                    "处理人 李娜，电话 13900000006，邮箱 li.na@huajin.example")


# ---- C24 originals kept unchanged -----------------------------------------------------------------
def test_c24_an_original_is_written_once_under_its_hash_read_only_and_checked_against_it(svc):
    import hashlib

    from tasks.complaint.steps import keep_original, originals_intact

    case_no = file(svc)
    rec = keep_original(svc, case_no, "答复函.txt", "处理决定".encode())
    digest = hashlib.sha256("处理决定".encode()).hexdigest()
    assert rec == {"name": "答复函.txt", "sha256": digest, "file": f"originals/{case_no}/{digest[:16]}-答复函.txt"}
    path = svc.settings.home / rec["file"]
    assert path.read_bytes() == "处理决定".encode() and (path.stat().st_mode & 0o777) == 0o444  # read-only
    assert keep_original(svc, case_no, "答复函.txt", "处理决定".encode()) == rec  # the same content: nothing changes
    other = keep_original(svc, case_no, "答复函.txt", "另一版本".encode())
    assert other["file"] != rec["file"] and path.read_bytes() == "处理决定".encode()
    svc.store.update_case(case_no, actor="t", kind="x", now=svc.clock.now(), data={"originals": [rec, other | {"name": "二"}]})
    assert originals_intact(svc, case_no) == {"答复函.txt": True, "二": True}
    path.chmod(0o644)
    path.write_bytes("改过".encode())
    (svc.settings.home / other["file"]).unlink()
    assert originals_intact(svc, case_no) == {"答复函.txt": False, "二": False}
    assert originals_intact(svc, file(svc)) == {}


# ---- C26 the watchdog's group suggestions ---------------------------------------------------------
def test_c26_three_open_complaints_of_one_subject_and_category_open_one_suggested_group_case_once(tmp_path):
    from tasks.complaint.steps import open_group_cases
    from tests.flows.harness import Office

    office = Office(tmp_path)
    svc = office.svc
    members = sorted(office.complaint(subject="园区3栋") for _ in range(3))
    office.complaint(subject="园区3栋", category="物业管理")      # another category
    office.complaint(subject="园区5栋")                          # another subject
    assert open_group_cases(svc, svc.clock.now()) == 1
    _n, groups = svc.store.list_cases(procedure="group_complaint", limit=100)
    (g,) = groups
    assert (g.state, g.level, g.title) == ("suggested", 3, "群诉 · 维修服务 · 园区3栋") and g.case_no.startswith("QS-2026-")
    assert g.data["members"] == members and g.data["category"] == "维修服务" and g.data["subject"] == "园区3栋"
    assert open_group_cases(svc, svc.clock.now()) == 0  # once per group


def test_c26_closed_and_already_grouped_complaints_are_not_suggested_again(tmp_path):
    from tasks.complaint.steps import open_group_cases
    from tests.flows.harness import Office

    office = Office(tmp_path)
    svc = office.svc
    a, b, c = (office.complaint(subject="园区3栋") for _ in range(3))
    svc.store.update_case(c, actor="t", kind="closed", now=svc.clock.now(), state="closed", closed=True)
    assert open_group_cases(svc, svc.clock.now()) == 0  # two open ones are no group
    d = office.complaint(subject="园区3栋")
    assert open_group_cases(svc, svc.clock.now()) == 1
    e, f, g = (office.complaint(subject="园区3栋") for _ in range(3))
    assert open_group_cases(svc, svc.clock.now()) == 1  # the three new ones: the grouped a, b, d left out
    _n, groups = svc.store.list_cases(procedure="group_complaint", limit=100)
    assert sorted(tuple(x.data["members"]) for x in groups) == sorted([tuple(sorted([a, b, d])), tuple(sorted([e, f, g]))])


def test_c21_an_escalated_case_is_reported_from_its_escalation_naming_the_case_it_came_from(svc):
    from tasks.complaint.intake import deadline_record
    from models.complaint.handling import complaint_deadlines

    parent = file(svc)
    svc.clock.advance(hours=30)  # escalated the next day, 16:05: its own receipt
    now = svc.clock.now()
    p = svc.store.get_case(parent)
    data = {**p.data, "escalated_from": parent,
            "deadlines": deadline_record(complaint_deadlines(now, 2, "维修服务", False, svc.calendar))}
    child, _ = svc.store.create_case(procedure="complaint", prefix="TS", year=2026, state="accepted", title=p.title, data=data,
                                     level=2, parent_case_no=parent, actor="system", now=now)
    svc.clock.advance(minutes=9)
    assert report_major(svc, child.case_no, 2) is True
    assert svc.store.get_case(child.case_no).data["c21_major_report"]["due"] == "2026-11-24T16:15:00+08:00"
    (mail,) = [m for m in notices(svc, child.case_no) if "major-report-l2" in m.dedupe_key]
    assert f"由 {parent} 升级" in mail.text  # the summary names the case it was escalated from


def test_c26_a_group_among_older_complaints_is_found_behind_fifty_newer_ones(tmp_path):
    from tasks.complaint.steps import open_group_cases
    from tests.flows.harness import Office

    office = Office(tmp_path)
    members = sorted(office.complaint(subject="园区3栋") for _ in range(3))
    for i in range(50):  # newer complaints, each about something else (a store's page shows 50)
        office.complaint(subject=f"园区{i + 10}栋")
    assert open_group_cases(office.svc, office.svc.clock.now()) == 1
    _n, (g,) = office.svc.store.list_cases(procedure="group_complaint", limit=100)
    assert g.data["members"] == members


def test_c26_a_group_judged_not_a_group_is_not_suggested_again_but_a_new_grouping_is(tmp_path):
    from tasks.complaint.steps import open_group_cases
    from tests.flows.harness import Office

    office = Office(tmp_path)
    svc = office.svc
    a, b, c = sorted(office.complaint(subject="园区3栋") for _ in range(3))
    assert open_group_cases(svc, svc.clock.now()) == 1
    _n, (g,) = svc.store.list_cases(procedure="group_complaint", limit=100)
    assert g.created_at.replace(tzinfo=g.created_at.tzinfo or timezone.utc) == svc.clock.now()  # on the services' clock
    (created,) = [e for e in svc.store.events(g.case_no)][:1]
    assert created.actor == "watchdog"
    svc.store.update_case(g.case_no, actor=L2, kind="not_group", now=svc.clock.now(), state="not_group")
    assert open_group_cases(svc, svc.clock.now()) == 0  # the same three: the same suggestion, not a new one
    assert svc.store.list_cases(procedure="group_complaint", limit=100)[0] == 1
    svc.store.update_case(a, actor="t", kind="closed", now=svc.clock.now(), state="closed", closed=True)
    d = office.complaint(subject="园区3栋")
    assert open_group_cases(svc, svc.clock.now()) == 1  # b, c and the new d: another grouping
    _n, groups = svc.store.list_cases(procedure="group_complaint", limit=100)
    assert sorted(tuple(x.data["members"]) for x in groups) == sorted([(a, b, c), tuple(sorted([b, c, d]))])


def test_c26_each_group_found_in_one_pass_is_counted_and_numbered_in_shanghais_year(tmp_path):
    from tasks.complaint.steps import open_group_cases
    from tests.flows.harness import Office

    office = Office(tmp_path, now=datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc))  # 1 January 2027, 01:00 in Shanghai
    for subject in ("园区3栋", "园区5栋"):
        for _ in range(3):
            office.complaint(subject=subject)
    assert open_group_cases(office.svc, office.svc.clock.now()) == 2
    _n, groups = office.svc.store.list_cases(procedure="group_complaint", limit=100)
    assert len(groups) == 2 and all(g.case_no.startswith("QS-2027-") for g in groups)


# ---- C5 the summary every approver and the GM read (complaint_summary) --------------------------
def summary_of(svc, case_no: str, **over):
    from tasks.complaint.steps import complaint_summary

    c = svc.store.get_case(case_no)
    return complaint_summary({"case_no": c.case_no, "data": c.data, "level": c.level, "parent": c.parent_case_no} | over)


def test_c5_c28_the_summary_names_every_fact_of_the_form_in_order_with_the_forwarder_and_the_close_deadline(svc):
    case_no = file(svc, kind="franchisee", channel="forwarded", category="产品质量",
                   forwarded={"forwarder": "government", "forwarder_name": "区市场监管局", "reference": "市监转〔2026〕12号",
                              "company_received_at": RECEIVED.isoformat()},
                   stores=["园区店", "滨江店"], products=[{"name": "热水器", "code": "RS-60"}, {"name": "花洒"}],
                   description="热水器漏水\n两次维修未好", demand="退货")
    close = svc.store.get_case(case_no).data["deadlines"]["close"]
    assert close == "2026-12-08T10:00:00+08:00"  # C8: a product complaint closes within 15 days
    assert list(summary_of(svc, case_no, level=3, parent="TS-2026-0001").items()) == [
        ("投诉编号", case_no), ("级别", "三级（非常严重投诉）"), ("类型 / 类别", "加盟商投诉 / 产品质量"), ("渠道", "转来"),
        ("投诉人", "王芳（13812345678）"), ("事件", "周一 园区店"), ("门店", "园区店、滨江店"),
        ("产品", "热水器（RS-60）、花洒（）"), ("投诉内容", "热水器漏水\n两次维修未好"), ("客户诉求", "退货"),
        ("转来单位", "政府机关：区市场监管局（文号 市监转〔2026〕12号）"), ("公司收到时间", "2026-11-23 10:00"),
        ("关联案件", "由 TS-2026-0001 升级"), ("结案期限", close[:10] + " " + close[11:16])]


def test_c5_a_bare_form_shows_its_level_to_be_decided_and_dashes(svc):
    case_no = file(svc, event={"time": "", "place": ""})
    out = summary_of(svc, case_no, level=None)  # a case without a level yet
    assert {k: out[k] for k in ("级别", "事件", "门店", "产品", "客户诉求")} == {
        "级别": "待定", "事件": "—", "门店": "—", "产品": "—", "客户诉求": "—"}
    assert "转来单位" not in out and "公司收到时间" not in out and "关联案件" not in out
    assert summary_of(svc, case_no, level=1)["级别"] == "一级（普通投诉）"
    # the event's time alone, or its place alone, stands without a stray space
    assert summary_of(svc, file(svc, event={"time": "11月20日"}))["事件"] == "11月20日"
    assert summary_of(svc, file(svc, event={"place": "园区店"}))["事件"] == "园区店"


def test_c5_a_record_without_the_optional_parts_of_the_form_is_summarised_with_dashes():
    """A form as the record model allows it (`ComplaintForm`): no event, stores, products, demand or
    deadlines — older records and hand-made cases — summarised, not failing."""
    from tasks.complaint.steps import complaint_summary

    form = {"complainant": {"name": "王芳", "phone": "13812345678"}, "kind": "consumer", "channel": "web",
            "category": "维修服务", "description": "漏水"}
    assert complaint_summary({"case_no": "TS-2026-0009", "level": 2, "data": {"form": form}}) == {
        "投诉编号": "TS-2026-0009", "级别": "二级（较严重投诉）", "类型 / 类别": "消费者投诉 / 维修服务", "渠道": "网络平台",
        "投诉人": "王芳（13812345678）", "事件": "—", "门店": "—", "产品": "—", "投诉内容": "漏水", "客户诉求": "—"}
    assert complaint_summary({"case_no": "TS-2026-0009", "level": 2,
                              "data": {"form": form | {"event": {"place": "园区店"}}, "deadlines": {}}})["事件"] == "园区店"
    assert complaint_summary({"case_no": "TS-2026-0009", "level": 2,
                              "data": {"form": form | {"event": {"time": "周一"}}}})["事件"] == "周一"


# ---- C13/C24 the 《投诉处理单》 as the GM and the archive read it (_case_markdown) ------------------
def test_c13_the_complaint_form_lists_the_forwarder_the_outcome_every_task_and_every_event_on_its_own_line(svc):
    from models.tables import HumanTask
    from tasks.complaint.steps import _case_markdown

    case_no = file(svc, channel="forwarded", forwarded={"forwarder": "government", "forwarder_name": "区市场监管局",
                                                        "reference": "市监转12号", "company_received_at": RECEIVED.isoformat()})
    now = svc.clock.now()
    svc.store.ensure_task(HumanTask(case_no=case_no, step_key="intake", title="受理确认", role="l1_handler", assignee=L1,
                                    created_at=now), lambda t: [], now)
    svc.store.update_case(case_no, actor=L1, kind="outcome_recorded", now=now, data={
        "outcome": {"handling": "replacement", "our_fault": True, "human_negligence": False, "loss_amount": "12.00"},
        "satisfaction": 2})
    md = _case_markdown(svc, case_no)
    lines = md.splitlines()
    assert lines[0] == f"# 投诉处理单 {case_no}"
    for row in ("| 级别 | 三级（非常严重投诉）（系统建议 3 级） |", "| 类型 / 类别 | 消费者投诉 / 维修服务 |", "| 渠道 | 转来 |",
                "| 转来单位 / 文号 / 公司收到 | 政府机关：区市场监管局 / 市监转12号 / 2026-11-23 10:00 |",
                "| 投诉人 / 联系方式 | 王芳 / 138****5678 |",  # personal data masked
                "| 处理方式 | 更换 |", "| 我方责任 / 人为疏忽 | 是 / 否 |", "| 满意度 | 2 满意 |",
                f"| 受理确认 | {L1} | open |  | 2026-11-23 10:05 |"):  # the case's task
        assert row in lines, row
    # the record: each event of the case on its own line, in order
    assert lines[lines.index("## 记录") + 2:] == [f"- 2026-11-23 10:05 case_created（{L1}）", "- 2026-11-23 10:05 task_created",
                                                 f"- 2026-11-23 10:05 outcome_recorded（{L1}）"]


# ---- C23 the case library every handler searches (case_library) ---------------------------------
def test_c23_the_library_is_the_published_entries_newest_first_behind_fifty_newer_complaints_searchable(tmp_path):
    from tasks.complaint.steps import case_library
    from tests.flows.harness import Office

    office = Office(tmp_path)
    svc = office.svc

    def entry(case_no: str, state: str, reviewed_at: str, **entry) -> dict:
        rec = {"state": state, "entry": entry, "by": L2} | ({"reviewed_at": reviewed_at} if state != "draft" else {})
        svc.store.update_case(case_no, actor=L2, kind="case_library_" + state, now=svc.clock.now(), data={"case_library": rec})
        return {"case_no": case_no, "published_at": reviewed_at, **entry}

    repair = entry(office.complaint(), "published", "2026-11-20T09:00:00+08:00",
                   category="维修服务", product="热水器", lessons="报修当日派工")
    quality = entry(office.complaint(category="产品质量"), "published", "2026-11-21T09:00:00+08:00",
                    category="产品质量", product="花洒", lessons="来料检验")
    entry(office.complaint(), "draft", "", category="维修服务", product="热水器", lessons="草稿")
    entry(office.complaint(), "not_published", "2026-11-22T09:00:00+08:00", category="维修服务", product="热水器",
          lessons="不具代表性")
    for i in range(50):  # newer complaints without an entry (a store's page shows 50)
        office.complaint(subject=f"园区{i + 10}栋")
    assert case_library(svc) == [quality, repair]  # published only, newest first
    assert case_library(svc, category="产品质量") == [quality]
    assert case_library(svc, product="热水") == [repair]  # a product by part of its name
    assert case_library(svc, keyword="派工") == [repair]
    assert case_library(svc, category="维修服务", product="花洒") == [] and case_library(svc, keyword="草稿") == []
