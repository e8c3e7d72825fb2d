"""The §5 statistics on a small hand-built month (October 2026), checked against figures worked out
by hand; the workbook read back; figures.json reproducible; the schedules' next runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
import yaml
from sqlalchemy.orm import Session

from models.business_days import TZ
from models.statistics import SCHEDULES, default_period, month_period, months_back, previous_week_key, ratio, week_period
from models.tables import PenaltyRecord
from tasks.platform.mail import OutgoingMail, build_mime
from tasks.platform.store import Store
from tasks.reports.statistics import monthly_figures, overdue_cases, weekly_figures
from tests.dbs import fresh_store

REPO = Path(__file__).resolve().parents[2]
L1A, L1B, L2 = "li.na@huajin.example", "chen.jing@huajin.example", "zhou.min@huajin.example"


def t(day: str) -> datetime:
    """'10-12 10:00' → 2026-10-12 10:00 Asia/Shanghai ('09-30 …' and '11-…' also)."""
    return datetime.strptime(f"2026-{day}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def iso(day: str) -> str:
    return t(day).isoformat()


def complaint(store: Store, *, received: str, level: int, kind: str = "consumer", channel: str = "phone",
              category: str = "维修服务", first_due: str | None = None, first_at: str | None = None,
              plan_at: str | None = None, close_due: str, parent: str | None = None) -> str:
    data = {"form": {"kind": kind, "channel": channel, "category": category,
                     "complainant": {"name": "王芳", "phone": "13812345678"}},
            "received_by": L1A,
            "deadlines": {"received_at": iso(received), "first_contact": iso(first_due or received),
                          "plan": iso(first_due or received), "close": iso(close_due)}}
    case, _ = store.create_case(procedure="complaint", prefix="TS", year=2026, state="received", title="t",
                                data=data, level=level, parent_case_no=parent, now=t(received))
    if first_at:
        store.update_case(case.case_no, actor=L1A, kind="first_contact_recorded", now=t(first_at), state="accepted",
                          data={"first_contact_at": iso(first_at), "handler": L1A})
    if plan_at:
        store.update_case(case.case_no, actor=L1A, kind="plan_submitted_1", now=t(plan_at),
                          data={"plan": {"responsibility_department": "x"}})
    return case.case_no


def close(store: Store, no: str, at: str, state: str, outcome: dict | None = None, score: int | None = None) -> None:
    data = {}
    if outcome:
        data["outcome"] = outcome
    if score:
        data["satisfaction"] = score
    store.update_case(no, actor="system", kind="closed", now=t(at), state=state, closed=True, data=data)


def outcome(handling: str, dept: str, fault: bool, loss: str) -> dict:
    return {"handling": handling, "responsibility_department": dept, "our_fault": fault, "loss_amount": loss}


def notice(store: Store, no: str, kind: str, at: str) -> None:
    store.queue_mail(f"notice:{no}:{kind}", no, OutgoingMail(to=[L2], subject="s", text="t", html="h"), t(at),
                     event=(kind, {}))


def side_case(store: Store, procedure: str, state: str, at: str, **data) -> None:
    case, _ = store.create_case(procedure=procedure, prefix=procedure[:2].upper(), year=2026, state="new",
                                title="t", data=data, now=t(at) - timedelta(days=2))
    store.update_case(case.case_no, actor="x", kind=state, now=t(at), state=state, closed=True)


@pytest.fixture(scope="module")
def store() -> Store:
    """October 2026, by hand: A, B, C, D, E close in the month; F (September), H (1 November 00:00),
    E2 (November) do not; G stays open."""
    s = fresh_store()
    a = complaint(s, received="10-10 09:00", level=1, first_due="10-11 09:00", first_at="10-10 15:00",
                  plan_at="10-11 08:00", close_due="10-17 09:00")
    close(s, a, "10-15 10:00", "closed", outcome("repair", "质量部", True, "100.50"), 2)
    b = complaint(s, received="10-12 10:00", level=2, kind="franchisee", channel="web", category="产品质量",
                  first_due="10-13 10:00", first_at="10-13 11:00", plan_at="10-14 09:00", close_due="10-27 10:00")
    notice(s, b, "urge_notice", "10-27 11:00")
    close(s, b, "10-28 09:00", "closed", outcome("allowance", "销售中心", False, "2000.00"), 3)
    notice(s, b, "inquiry_notice", "10-28 09:00")
    c = complaint(s, received="10-20 09:00", level=1, channel="sms", category="服务行为", close_due="10-27 09:00")
    close(s, c, "10-20 12:00", "not_established")
    d = complaint(s, received="10-05 09:00", level=3, category="政策", first_due="10-09 09:00",
                  first_at="10-05 10:00", plan_at="10-08 10:00", close_due="10-12 09:00")
    close(s, d, "10-09 17:00", "gm_meeting", outcome("explanation", "质量部", True, "0.00"), 5)
    e = complaint(s, received="10-08 09:00", level=1, category="货运", first_due="10-09 09:00",
                  first_at="10-08 11:00", plan_at="10-09 08:00", close_due="10-15 09:00")
    e2 = complaint(s, received="10-14 16:00", level=2, category="货运", close_due="10-21 16:00", parent=e)
    close(s, e, "10-14 16:00", "escalated", outcome("replacement", "成品仓储", False, "300.00"), 4)
    close(s, e2, "11-03 10:00", "closed", outcome("replacement", "成品仓储", False, "500.00"), 1)
    f = complaint(s, received="09-20 09:00", level=1, close_due="09-27 09:00")
    close(s, f, "09-30 23:59", "closed", outcome("repair", "质量部", True, "999.00"), 1)
    g = complaint(s, received="10-20 09:00", level=1, first_due="10-21 09:00", first_at="10-20 10:00",
                  close_due="10-27 09:00")
    notice(s, g, "urge_notice", "10-27 10:00")
    h = complaint(s, received="10-25 09:00", level=1, close_due="11-01 09:00")
    close(s, h, "11-01 00:00", "closed", outcome("repair", "质量部", True, "77.00"), 1)
    with s.session() as ss:
        ss.add_all([PenaltyRecord(case_no=b, handler=L1A, rule="first_contact_late", amount=Decimal("30"), reason="r",
                                  at=t("10-13 11:00")),
                    PenaltyRecord(case_no=g, handler=L2, rule="routing_not_followed", amount=Decimal("50"), reason="r",
                                  at=t("10-20 12:00")),
                    PenaltyRecord(case_no=f, handler=L1A, rule="first_contact_late", amount=Decimal("30"), reason="r",
                                  at=t("09-21 12:00"))])
        ss.commit()
    side_case(s, "allowance", "booked", "10-29 10:00", amount="2000.00", salesperson="lin.tao@huajin.example")
    side_case(s, "return", "booked", "10-30 10:00", amount="300.00", quantity={"value": 100, "unit": "kg"},
              received_quantity=90)
    side_case(s, "return", "rejected", "10-30 11:00", amount="50.00", quantity={"value": 5, "unit": "kg"})
    side_case(s, "allowance", "booked", "11-02 10:00", amount="10.00")
    for sp, state, at in (("lin.tao@huajin.example", "certified", "10-03 10:00"),
                          ("lin.tao@huajin.example", "certified", "10-31 23:00"),
                          ("guo.xin@huajin.example", "certified", "10-15 10:00"),
                          ("guo.xin@huajin.example", "certified", "11-01 10:00"),
                          ("lin.tao@huajin.example", "refused", "10-16 10:00")):
        side_case(s, "new_customer", state, at, salesperson=sp)
    return s


@pytest.fixture(scope="module")
def fig(store: Store) -> dict:
    with Session(store.engine) as s:
        return monthly_figures(s, "2026-10", lambda e: {"li.na@huajin.example": "李娜"}.get(e, e))


def counts(rows: list[dict], key: str) -> dict:
    return {r[key]: (r["count"], r["share"]) for r in rows}


def test_counts_by_level_kind_channel_category(fig):
    assert fig["total_closed"] == 5
    assert counts(fig["by_level"], "level") == {1: (3, "0.6000"), 2: (1, "0.2000"), 3: (1, "0.2000")}
    assert counts(fig["by_kind"], "kind") == {"consumer": (4, "0.8000"), "franchisee": (1, "0.2000")}
    assert counts(fig["by_channel"], "channel") == {"phone": (3, "0.6000"), "web": (1, "0.2000"), "sms": (1, "0.2000")}
    assert [r["category"] for r in fig["by_category"]] == ["服务行为", "维修服务", "产品质量", "货运", "政策"]
    assert counts(fig["by_state"], "state") == {"closed": (2, "0.4000"), "escalated": (1, "0.2000"),
                                                 "gm_meeting": (1, "0.2000"), "not_established": (1, "0.2000")}


def test_responsible_department_and_fault(fig):
    assert counts(fig["by_department"], "department") == {"质量部": (2, "0.4000"), "成品仓储": (1, "0.2000"),
                                                          "销售中心": (1, "0.2000"), None: (1, "0.2000")}
    assert [(r["our_fault"], r["count"], r["share"]) for r in fig["by_fault"]] == [
        (True, 2, "0.4000"), (False, 2, "0.4000"), (None, 1, "0.2000")]


def test_on_time_rates(fig):
    # first contact and plan: A, D, E on time, B late; C (not established) has neither deadline
    # close: A, C, D, E on time; B closed a day late
    assert [(r["deadline"], r["due"], r["on_time"], r["rate"]) for r in fig["on_time"]] == [
        ("first_contact", 4, 3, "0.7500"), ("plan", 4, 3, "0.7500"), ("close", 5, 4, "0.8000"),
        # C21's hour deadlines (001): these cases were filed before them (tests/flows/test_complaint_rules21.py)
        ("major_report", 0, 0, None), ("dept_analysis", 0, 0, None), ("feedback", 0, 0, None), ("solution", 0, 0, None)]


def test_escalations_and_satisfaction(fig):
    assert fig["escalations"] == {"escalated": 1, "gm_meeting": 1, "escalated_cases_closed": 0,
                                  "from_level": [{"level": 1, "label": "一级（普通投诉）", "count": 1}]}
    assert [(r["score"], r["count"]) for r in fig["satisfaction"]] == [(1, 0), (2, 1), (3, 1), (4, 1), (5, 1), (None, 1)]


def test_overdue_with_notices(fig, store):
    # B closed late (urge + inquiry notice); G and E2 (closed in November) still open and overdue at month end
    assert fig["overdue"] == {"closed_late": 1, "closed_late_inquiry_notices": 1, "closed_late_urge_notices": 1,
                              "open_overdue": 2, "open_overdue_urge_notices": 1}
    with Session(store.engine) as s:
        rows = list(overdue_cases(s, *month_period("2026-10")))
    assert [(r["status"], r["close_due"]) for r in rows] == [
        ("逾期结案", "2026-10-27T10:00+08:00"), ("期末仍逾期未结", "2026-10-21T16:00+08:00"),
        ("期末仍逾期未结", "2026-10-27T09:00+08:00")]
    assert rows[0]["urge_notice_at"] == "2026-10-27T11:00+08:00"
    assert rows[0]["inquiry_notice_at"] == "2026-10-28T09:00+08:00"


def test_penalties_losses_returns_new_customers(fig):
    assert fig["penalties"]["count"] == 2 and fig["penalties"]["amount"] == "80.00"
    assert [(h["handler"], h["name"], h["count"], h["amount"]) for h in fig["penalties"]["by_handler"]] == [
        (L1A, "李娜", 1, "30.00"), (L2, L2, 1, "50.00")]
    assert fig["losses"]["cases"] == 3 and fig["losses"]["total"] == "2400.50"
    assert {r["department"]: r["amount"] for r in fig["losses"]["by_department"]} == {
        "质量部": "100.50", "销售中心": "2000.00", "成品仓储": "300.00"}
    assert fig["returns"] == [
        {"kind": "allowance", "label": "销货折让", "count": 1, "amount": "2000.00"},
        {"kind": "return", "label": "成品退货", "count": 1, "amount": "300.00", "approved_quantity": 100,
         "received_quantity": 90, "quantity_variance": -10}]
    assert [(r["salesperson"], r["count"]) for r in fig["new_customers"]] == [
        ("guo.xin@huajin.example", 1), ("lin.tao@huajin.example", 2)]


def test_weekly_figures(store):
    with Session(store.engine) as s:
        w = weekly_figures(s, "2026-W42")
    assert (w["start"], w["end"]) == ("2026-10-12T00:00+08:00", "2026-10-19T00:00+08:00")
    # new: B and E2; closed: A and E; open at the week's end: B and E2; none overdue yet
    assert [w[k]["total"] for k in ("new", "closed", "open", "overdue")] == [2, 2, 2, 0]
    assert [x["count"] for x in w["new"]["by_level"]] == [0, 2, 0]


def test_the_complaint_store_keeps_facts_current(store):
    from sqlmodel import select

    from models.tables import ComplaintFact

    with store.session() as s:
        b = s.exec(select(ComplaintFact).where(ComplaintFact.category == "产品质量")).one()
    assert (b.state, b.level, b.kind, b.our_fault, b.handling, b.loss_amount, b.satisfaction) == (
        "closed", 2, "franchisee", False, "allowance", Decimal("2000.00"), 3)
    assert b.plan_at == t("10-14 09:00") and b.closed_at == t("10-28 09:00")
    assert b.urge_notice_at == t("10-27 11:00") and b.inquiry_notice_at == t("10-28 09:00")


# ---- periods and schedules ---------------------------------------------------------------------
def test_periods():
    assert month_period("2026-12") == (t("12-01 00:00"), datetime(2027, 1, 1, tzinfo=TZ))
    assert week_period("2026-W44") == (t("10-26 00:00"), t("11-02 00:00"))
    assert week_period("2026-W53")[0] == t("12-28 00:00")  # 2026 has 53 ISO weeks
    assert months_back("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]
    now = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai
    assert (default_period("monthly", now), default_period("weekly", now), default_period("analysis", now)) == (
        "2026-10", "2026-W44", "2026-11")
    assert previous_week_key(datetime(2027, 1, 4, 9, tzinfo=TZ)) == "2026-W53"
    assert ratio(1, 3) == "0.3333" and ratio(2, 3) == "0.6667" and ratio(1, 0) is None
    for bad in ("2026-13", "2026-1", "26-10"):
        with pytest.raises(ValueError):
            month_period(bad)
    with pytest.raises(ValueError):
        week_period("2025-W53")  # 2025 has 52 ISO weeks


def next_runs(cron: str, start: datetime, n: int = 3) -> list[datetime]:
    import asyncio
    import inspect

    from prefect.server.schemas.schedules import CronSchedule

    dates = CronSchedule(cron=cron, timezone="Asia/Shanghai").get_dates(n=n, start=start)
    return list(asyncio.run(dates) if inspect.isawaitable(dates) else dates)


def test_schedules_next_runs_in_shanghai():
    start = datetime(2026, 11, 25, 12, 0, tzinfo=TZ)
    assert [d.strftime("%Y-%m-%d %H:%M %a") for d in next_runs(SCHEDULES["monthly"], start)] == [
        "2026-12-02 09:00 Wed", "2027-01-02 09:00 Sat", "2027-02-02 09:00 Tue"]
    assert all(d.day < 10 for d in next_runs(SCHEDULES["monthly"], start, 12))  # S1: before the 10th
    assert [d.strftime("%Y-%m-%d %H:%M %a") for d in next_runs(SCHEDULES["weekly"], start)] == [
        "2026-11-30 08:30 Mon", "2026-12-07 08:30 Mon", "2026-12-14 08:30 Mon"]
    assert [d.strftime("%Y-%m-%d %H:%M") for d in next_runs(SCHEDULES["analysis"], start, 4)] == [
        "2026-11-30 18:00", "2026-12-31 18:00", "2027-01-31 18:00", "2027-02-28 18:00"]
    assert all(d.utcoffset() == timedelta(hours=8) for d in next_runs(SCHEDULES["weekly"], start))


def test_deployments_carry_the_schedules():
    from deployments.serve import local_deployments
    from models.settings import Settings

    deps = {d.name: d for d in local_deployments(Settings())}
    prod = {d["name"]: d for d in yaml.safe_load((REPO / "deployments/prefect.yaml").read_text())["deployments"]}
    for kind, name in (("monthly", "monthly-statistics"), ("weekly", "weekly-report"), ("analysis", "analysis-report")):
        (sched,) = deps[name].schedules
        assert (sched.schedule.cron, sched.schedule.timezone) == (SCHEDULES[kind], "Asia/Shanghai")
        assert prod[name]["schedules"] == [{"cron": SCHEDULES[kind], "timezone": "Asia/Shanghai"}]


# ---- outputs -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(store, tmp_path_factory):
    from tasks.reports.steps import build_report

    return build_report(store.engine, "monthly", "2026-10", tmp_path_factory.mktemp("m"))


def test_workbook_reads_back_one_sheet_per_table(built):
    from openpyxl import load_workbook

    wb = load_workbook(built.xlsx_path)
    assert wb.sheetnames[:4] == ["概况", "按级别", "按类型", "按类别"]
    assert {"及时率", "升级", "满意度", "逾期案件", "负激励", "损失金额", "折让与退货", "新客户认定"} <= set(wb.sheetnames)
    ws = wb["按级别"]
    assert [c.value for c in ws[1]] == ["分类", "件数", "比率"]
    assert [c.value for c in ws[2]] == ["一级（普通投诉）", 3, 0.6]
    assert ws["B2"].data_type == "n" and ws["C2"].number_format == "0.00%"
    assert 22 <= ws.column_dimensions["A"].width < 23  # 22 characters (XlsxWriter adds the padding)
    od = wb["逾期案件"]
    assert od.max_row == 4 and od["A2"].value.startswith("TS-2026-")
    assert od["G2"].value == datetime(2026, 10, 27, 10, 0) and od["G2"].number_format == "yyyy-mm-dd hh:mm"
    ret = wb["折让与退货"]
    assert [c.value for c in ret[3]] == ["成品退货", 1, 300.0, 100, 90, -10]
    assert ret["C3"].number_format == "#,##0.00"


def test_figures_json_is_every_figure_and_reproducible(built, store, tmp_path):
    from tasks.reports.steps import build_report

    data = json.loads(built.json_path.read_text(encoding="utf-8"))
    assert data["total_closed"] == 5 and len(data["overdue_cases"]) == 3
    again = build_report(store.engine, "monthly", "2026-10", tmp_path)
    assert again.json_path.read_bytes() == built.json_path.read_bytes()


def test_html_has_charts_and_masks_personal_data(built):
    from models.privacy import find_unmasked
    from tasks.reports.output import render_html

    html = built.html_path.read_text(encoding="utf-8")
    assert "《客诉案件统计表》2026-10" in html and html.count("data:image/png;base64,") == 3
    assert not find_unmasked(html)
    mail_html = render_html(built.report, inline=True)
    assert 'src="cid:chart-category"' in mail_html


def test_report_mail_has_inline_charts_and_the_workbook(built):
    from tasks.platform.store import _outbox_row, outbox_to_mail
    from tasks.reports.steps import report_mail

    mail = report_mail(built, ["gm@x.example"])
    # through the outbox (stored, read back) as the deliverer sends it
    sent = outbox_to_mail(_outbox_row("k", None, mail, datetime.now(timezone.utc)))
    msg = message_from_bytes(build_mime(sent, "kefu@example.com").as_bytes(), policy=default_policy)
    parts = {p.get_content_type(): p for p in msg.walk()}
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 3 and all(p["Content-ID"] for p in images)
    xlsx = [p for p in msg.walk() if p.get_filename() and p.get_filename().endswith(".xlsx")]
    assert xlsx and xlsx[0].get_filename() == "客诉案件统计表-2026-10.xlsx"
    assert "multipart/related" in parts and msg["Subject"] == "《客诉案件统计表》2026-10"


# ---- demo data ---------------------------------------------------------------------------------
def demo_rows(seed: int = 8) -> list:
    from models.business_days import BusinessCalendar
    from models.org import load_org
    from tasks.reports.demo_data import generate

    return list(generate(300, 3, "2026-10", load_org(REPO / "deployments/org.yaml"), BusinessCalendar(), seed=seed))


def test_demo_data_is_reproducible_and_fills_every_procedure():
    rows = demo_rows()
    assert rows == demo_rows() and rows != demo_rows(seed=9)
    facts = [r for table, r in rows if table == "complaint_facts"]
    procedures = {r["procedure"] for table, r in rows if table == "cases"}
    assert len(facts) == 300 and procedures == {"complaint", "allowance", "return", "new_customer"}
    assert {f["state"] for f in facts} >= {"closed", "not_established", "escalated"}
    assert all(month_period("2026-08")[0] <= f["received_at"] < month_period("2026-10")[1] for f in facts)


def test_demo_data_in_a_database_gives_a_report(tmp_path):
    from models.business_days import BusinessCalendar
    from models.org import load_org
    from tasks.reports.demo_data import fill
    from tasks.reports.steps import build_report

    s = fresh_store()
    counts = fill(s.engine, 300, 3, "2026-10", load_org(REPO / "deployments/org.yaml"), BusinessCalendar())
    assert counts["complaint_facts"] == 300
    with pytest.raises(ValueError):
        fill(s.engine, 10, 1, "2026-10", load_org(REPO / "deployments/org.yaml"), BusinessCalendar())
    built = build_report(s.engine, "monthly", "2026-10", tmp_path)
    f = json.loads(built.json_path.read_text(encoding="utf-8"))
    assert f["total_closed"] > 50 and sum(r["count"] for r in f["by_level"]) == f["total_closed"]
    assert build_report(s.engine, "analysis", "2026-10", tmp_path / "a").report.figures["trend"][-1]["month"] == "2026-10"
    assert build_report(s.engine, "weekly", "2026-W42", tmp_path / "w").report.figures["new"]["total"] > 0


# ---- decision points the mutation run of `models/statistics.py` found untested (session 13) ---------------
def test_s1_s2_periods_from_january_to_december_and_a_bad_key_refused_naming_the_form():
    from models.statistics import period_bounds

    assert month_period("2026-01") == (datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 2, 1, tzinfo=TZ))
    assert period_bounds("monthly", "2026-12") == month_period("2026-12")
    assert period_bounds("analysis", "2026-11") == month_period("2026-11")
    assert period_bounds("weekly", "2026-W44") == week_period("2026-W44")
    for bad in ("2026-13", "2026-00", None):
        with pytest.raises(ValueError, match="month must look like 2026-10"):
            month_period(bad)
    with pytest.raises(ValueError, match="week must look like 2026-W44"):
        week_period("2026-44")
    with pytest.raises(ValueError, match="no such ISO week '2025-W53'"):
        week_period("2025-W53")


def test_s1_s3_the_period_is_shanghais_whatever_the_zone_of_now():
    now = datetime(2026, 10, 31, 16, 30, tzinfo=timezone.utc)  # 1 November 00:30 in Shanghai, a Sunday
    assert default_period("monthly", now) == "2026-10" and default_period("analysis", now) == "2026-11"
    monday = datetime(2026, 11, 1, 16, 30, tzinfo=timezone.utc)  # Monday 2 November 00:30 in Shanghai
    assert default_period("weekly", monday) == "2026-W44"
