"""§5 S1–S3, pure: the figures' arithmetic (shares and rates rounded half up, yuan to the fen, the
percentage shown) and the `complaint_facts` row a case gives (what S1 counts: level, kind, fault,
department, deadlines, C21's hour deadlines), every column pinned."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from models.business_days import TZ
from models.statistics import ESTABLISHED_STATES, HOUR_DEADLINES, complaint_fact_values, money, percent, ratio, with_shares

OPENED = datetime(2026, 10, 12, 10, 0, tzinfo=TZ)
CLOSED = datetime(2026, 10, 20, 16, 0, tzinfo=TZ)


def at(hours: float) -> datetime:
    return OPENED + timedelta(hours=hours)


def test_s1_a_share_is_the_exact_fraction_rounded_half_up_to_four_places_and_none_of_nothing():
    assert ratio(1, 32) == "0.0313"  # 0.03125: half up, not to even (0.0312)
    assert ratio(3, 32) == "0.0938"  # 0.09375
    assert ratio(1, 3) == "0.3333" and ratio(2, 3) == "0.6667" and ratio(3, 3) == "1.0000"
    assert ratio(0, 5) == "0.0000"
    assert ratio(0, 0) is None and ratio(3, 0) is None


def test_s1_an_amount_is_yuan_to_the_fen_rounded_half_up_and_nothing_is_zero():
    assert money(Decimal("1.125")) == "1.13" and money("0.005") == "0.01"  # half up, not to even
    assert money(1.5) == "1.50" and money(120) == "120.00" and money(Decimal("99.994")) == "99.99"
    assert money(None) == "0.00" and money(0) == "0.00"


def test_s1_a_rate_is_shown_as_a_percentage_with_two_places_and_no_rate_as_a_dash():
    assert percent(None) == "—"
    assert percent("0.1234") == "12.34%" and percent("1.0000") == "100.00%" and percent("0.0000") == "0.00%"
    assert percent("0.0313") == "3.13%"


def test_s1_each_row_gets_its_share_of_the_total_and_keeps_its_fields():
    rows = [{"label": "一级", "count": 1}, {"label": "二级", "count": 2}, {"label": "三级", "count": 0}]
    assert with_shares(rows, 32) == [{"label": "一级", "count": 1, "share": "0.0313"},
                                     {"label": "二级", "count": 2, "share": "0.0625"},
                                     {"label": "三级", "count": 0, "share": "0.0000"}]
    assert with_shares(rows, 0) == [r | {"share": None} for r in rows]


def handled_case() -> dict[str, Any]:
    """A level-2 complaint as the flow leaves it: intake, deadlines, first contact, plan, outcome, visit."""
    return {
        "form": {"kind": "consumer", "channel": "phone", "category": "维修服务"},
        "received_by": "li.na@huajin.example", "handler": "zhou.min@huajin.example",
        "deadlines": {"received_at": at(-1).isoformat(), "first_contact": at(24).isoformat(),
                      "plan": at(48).isoformat(), "close": at(15 * 24).isoformat()},
        "first_contact_at": at(2).isoformat(),
        "plan": {"responsibility_department": "生产部"},
        "outcome": {"responsibility_department": "品质部", "our_fault": True, "handling": "repair",
                    "loss_amount": "1234.50"},
        "satisfaction": "satisfied", "event_key": "13800000000|2026-10-11|门店",
        "c21_major_report": {"due": at(0.25).isoformat(), "done": at(0.1).isoformat()},
        "c21_dept_analysis": {"due": at(1).isoformat(), "done": at(0.5).isoformat()},
        "c21_feedback": {"due": at(24).isoformat(), "done": at(20).isoformat()},
        "c21_solution": {"due": at(12).isoformat(), "done": at(13).isoformat()},
    }


def test_s1_a_handled_case_gives_every_column_of_its_fact_row():
    assert complaint_fact_values("KS-2026-0001", "closed", 2, None, handled_case(), OPENED, CLOSED) == {
        "case_no": "KS-2026-0001", "parent_case_no": None, "state": "closed", "level": 2,
        "kind": "consumer", "channel": "phone", "category": "维修服务",
        "receiver": "li.na@huajin.example", "handler": "zhou.min@huajin.example",
        "established": True, "responsible_department": "品质部",  # the outcome's, over the plan's
        "our_fault": True, "handling": "repair", "loss_amount": Decimal("1234.50"), "satisfaction": "satisfied",
        "received_at": at(-1),  # as recorded at intake, not when the case row was made
        "first_contact_due": at(24), "first_contact_at": at(2), "plan_due": at(48), "close_due": at(15 * 24),
        "closed_at": CLOSED, "event_key": "13800000000|2026-10-11|门店",
        "major_report_due": at(0.25), "major_report_at": at(0.1),
        "dept_analysis_due": at(1), "dept_analysis_at": at(0.5),
        "feedback_due": at(24), "feedback_at": at(20),
        "solution_due": at(12), "solution_at": at(13),
    }


def test_s1_c9_an_escalated_case_counts_no_first_contact_or_plan_of_its_own_and_is_received_when_opened():
    f = complaint_fact_values("KS-2026-0002", "accepted", 3, "KS-2026-0001", handled_case(), OPENED, None)
    assert (f["parent_case_no"], f["level"], f["established"], f["closed_at"]) == ("KS-2026-0001", 3, True, None)
    assert f["received_at"] == OPENED
    assert (f["first_contact_due"], f["first_contact_at"], f["plan_due"]) == (None, None, None)
    assert f["close_due"] == at(15 * 24)  # its own closing deadline still counts
    assert f["solution_due"] == at(12) and f["responsible_department"] == "品质部"


def test_s1_c2_a_complaint_that_does_not_stand_is_counted_not_established_without_contact_or_plan():
    f = complaint_fact_values("KS-2026-0003", "not_established", 1, None, handled_case(), OPENED, CLOSED)
    assert f["established"] is False
    assert (f["first_contact_due"], f["first_contact_at"], f["plan_due"]) == (None, None, None)
    assert f["received_at"] == at(-1) and f["close_due"] == at(15 * 24)


@pytest.mark.parametrize("state", sorted(ESTABLISHED_STATES))
def test_s1_every_state_past_acceptance_is_established(state):
    assert complaint_fact_values("KS-1", state, 1, None, {}, OPENED, None)["established"] is True


@pytest.mark.parametrize("state", ["received", "withdrawn", "open"])
def test_s1_a_case_not_yet_judged_is_neither_established_nor_not(state):
    assert complaint_fact_values("KS-1", state, 1, None, {}, OPENED, None)["established"] is None


def test_s1_a_case_with_nothing_recorded_yet_gives_blanks_and_is_received_when_opened():
    empty = {"case_no": "KS-1", "parent_case_no": None, "state": "received", "level": None,
             "kind": "", "channel": "", "category": "", "receiver": "", "handler": None, "established": None,
             "responsible_department": None, "our_fault": None, "handling": None, "loss_amount": None,
             "satisfaction": None, "received_at": OPENED, "first_contact_due": None, "first_contact_at": None,
             "plan_due": None, "close_due": None, "closed_at": None, "event_key": None} | {
        f"{name}_{end}": None for name in HOUR_DEADLINES for end in ("due", "at")}
    assert complaint_fact_values("KS-1", "received", None, None, {}, OPENED, None) == empty
    nones = {"form": None, "deadlines": None, "outcome": None, "plan": None} | {
        f"c21_{name}": None for name in HOUR_DEADLINES}
    assert complaint_fact_values("KS-1", "received", None, None, nones, OPENED, None) == empty
    blank = {"deadlines": {"received_at": "", "first_contact": "", "plan": "", "close": ""},
             "first_contact_at": "", "c21_feedback": {"due": "", "done": ""}}
    assert complaint_fact_values("KS-1", "received", None, None, blank, OPENED, None) == empty


def test_s1_the_department_is_the_plans_until_the_outcome_names_one_and_a_loss_of_zero_is_counted():
    data = handled_case()
    data["outcome"] = {"our_fault": False, "handling": "explain", "loss_amount": 0}
    f = complaint_fact_values("KS-1", "closed", 1, None, data, OPENED, CLOSED)
    assert f["responsible_department"] == "生产部"
    assert (f["our_fault"], f["handling"], f["loss_amount"]) == (False, "explain", Decimal("0"))
    data["outcome"]["responsibility_department"] = ""
    assert complaint_fact_values("KS-1", "closed", 1, None, data, OPENED, CLOSED)["responsible_department"] == "生产部"


def test_c21_each_hour_deadline_is_read_from_its_own_record():
    data = {f"c21_{name}": {"due": at(i).isoformat(), "done": at(i + 0.5).isoformat()}
            for i, name in enumerate(HOUR_DEADLINES, start=1)}
    data["c21_feedback"] = {"due": at(24).isoformat()}  # not done yet
    f = complaint_fact_values("KS-1", "accepted", 1, None, data, OPENED, None)
    assert [(f[f"{n}_due"], f[f"{n}_at"]) for n in HOUR_DEADLINES] == [
        (at(1), at(1.5)), (at(2), at(2.5)), (at(24), None), (at(4), at(4.5))]
