"""A5 quarterly clean-up criteria and proposals, A6 schedules (procedures §7.2), as pure rules."""

from datetime import date, timedelta

import pytest
import yaml

from models.archive.periodic import (MONTH_CRON, QUARTER_CRON, CleanupCriteria, cleanup_candidates, parse_proposals,
                                     quarter_key)
from models.settings import REPO_ROOT

TODAY = date(2026, 12, 1)


def rec(no, **over):
    return {"archive_no": no, "name": f"客户{no[-1]}", "customer_class": "enterprise", "invoicing_name": f"开票{no[-1]}",
            "phone": "13800000000", "address": "苏州", "id_card": "", "registration": {},
            "created_on": date(2020, 1, 1)} | over


def test_the_four_default_criteria():
    records = [rec("DA-2026-000001"),                                              # fine
               rec("DA-2026-000002", registration={"moved_out": True}),
               rec("DA-2026-000003", registration={"lease_end": "2026-06-30"}),
               rec("DA-2026-000004", invoicing_name="开票1"),                     # duplicate of 1
               rec("DA-2026-000005", address=""),
               rec("DA-2026-000006"),                                              # idle
               rec("DA-2026-000007", registration={"archive_status": "inactive"})]  # already inactive
    last = {f"客户{i}": date(2026, 10, 1) for i in range(1, 6)} | {"客户6": date(2023, 11, 30)}
    found = {c["archive_no"]: c["reasons"] for c in cleanup_candidates(records, last, TODAY)}
    assert found == {"DA-2026-000001": ["开票资料名称重复"], "DA-2026-000002": ["已迁出"],
                     "DA-2026-000003": ["租期已满（2026-06-30）"], "DA-2026-000004": ["开票资料名称重复"],
                     "DA-2026-000005": ["必填项缺失：address"], "DA-2026-000006": ["3年内无交易（最近 2023-11-30）"]}
    # configurable: a shorter idle period, fewer mandatory fields
    short = cleanup_candidates([rec("DA-2026-000005", address="")], {"客户5": date(2025, 1, 1)}, TODAY,
                               CleanupCriteria(idle_years=1, mandatory=("name",)))
    assert short[0]["reasons"] == ["1年内无交易（最近 2025-01-01）"]
    # a record created within the idle period is not idle
    assert cleanup_candidates([rec("DA-2026-000008", created_on=date(2026, 11, 1))], {}, TODAY) == []


def test_proposals_are_checked_and_unnamed_records_are_kept():
    listed = ["DA-2026-000001", "DA-2026-000002", "DA-2026-000003"]
    out = parse_proposals('{"DA-2026-000001": "deactivate", "DA-2026-000002": "merge:DA-2026-000009"}', listed)
    assert [(p.archive_no, p.action, p.merge_into) for p in out] == [
        ("DA-2026-000001", "deactivate", None), ("DA-2026-000002", "merge", "DA-2026-000009"),
        ("DA-2026-000003", "keep", None)]
    for bad, needle in (("[1]", "JSON"), ('{"DA-2026-000001": "erase"}', "invalid proposal"),
                        ('{"DA-2026-000001": "merge"}', "invalid proposal"),
                        ('{"DA-2026-000001": "merge:DA-2026-000001"}', "itself"),
                        ('{"DA-2099-000001": "keep"}', "not on the clean-up list")):
        with pytest.raises(ValueError, match=needle):
            parse_proposals(bad, listed)


def test_schedules_and_the_quarter_reviewed():
    assert quarter_key(date(2027, 1, 1)) == "2026-Q4" and quarter_key(date(2026, 10, 1)) == "2026-Q3"
    prod = {d["name"]: d for d in yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]}
    assert prod["archive-cleanup"]["schedules"][0]["cron"] == QUARTER_CRON
    assert prod["archive-report"]["schedules"][0]["cron"] == MONTH_CRON


# ---- decision points the mutation run of `models/archive/periodic.py` found untested (session 13) ----------
def test_a5_a_record_without_a_status_is_active_and_a_merged_or_inactive_one_is_not_reviewed():
    from models.archive.periodic import status_of

    assert status_of({}) == status_of({"registration": None}) == status_of({"registration": {}}) == "active"
    assert status_of({"registration": {"archive_status": "merged", "merged_into": "DA-2026-000001"}}) == "merged"
    merged = rec("DA-2026-000002", invoicing_name="开票1", registration={"archive_status": "merged"})
    assert cleanup_candidates([rec("DA-2026-000001"), merged], {"客户1": date(2026, 10, 1)}, TODAY) == []


def test_a5_idle_means_no_transaction_since_the_same_day_3_years_ago_by_name_or_invoicing_name():
    since = date(2023, 12, 1)  # TODAY three years back: a transaction on that day is within the period
    old = date(2020, 1, 1)

    def idle(last, **over):
        return [c["reasons"] for c in cleanup_candidates([rec("DA-2026-000001", **over)], last, TODAY)]

    assert idle({"客户1": since}) == [] and idle({"客户1": since - timedelta(days=1)}) == [["3年内无交易（最近 2023-11-30）"]]
    assert idle({"开票1": since}) == [] and idle({"客户1": old, "开票1": since}) == []
    assert idle({"客户1": since, "开票1": old}) == []
    assert idle({}) == [["3年内无交易"]]  # never traded: no "最近"
    # created on the first day of the period: within it, not idle; the day before: idle
    assert idle({}, created_on=since) == [] and idle({}, created_on=since - timedelta(days=1)) == [["3年内无交易"]]
    assert idle({}, created_on=None) == [["3年内无交易"]]  # no creation date: as old as its transactions


def test_a5_the_idle_period_from_29_february_counts_from_28_february():
    leap = date(2028, 2, 29)
    found = cleanup_candidates([rec("DA-2026-000001"), rec("DA-2026-000002")],
                               {"客户1": date(2025, 2, 28), "客户2": date(2025, 2, 27)}, leap)
    assert [(c["archive_no"], c["reasons"]) for c in found] == [("DA-2026-000002", ["3年内无交易（最近 2025-02-27）"])]


def test_a5_a_lease_ending_today_has_not_ended_and_a_blank_lease_end_is_no_end():
    last = {"客户1": date(2026, 10, 1), "客户2": date(2026, 10, 1), "客户3": date(2026, 10, 1)}
    records = [rec("DA-2026-000001", registration={"lease_end": TODAY.isoformat()}),
               rec("DA-2026-000002", registration={"lease_end": ""}, invoicing_name="开票2"),
               rec("DA-2026-000003", registration={"lease_end": "2026-11-30"}, invoicing_name="开票3")]
    assert [(c["archive_no"], c["reasons"]) for c in cleanup_candidates(records, last, TODAY)] == [
        ("DA-2026-000003", ["租期已满（2026-11-30）"])]


def test_a5_duplicates_compare_trimmed_names_and_id_numbers_whatever_the_case_of_x():
    last = {f"客户{i}": date(2026, 10, 1) for i in range(1, 7)}
    records = [rec("DA-2026-000006", invoicing_name=" 开票1 "), rec("DA-2026-000001", invoicing_name="开票1"),
               rec("DA-2026-000002", id_card="11010519491231002X"), rec("DA-2026-000003", id_card=" 11010519491231002x"),
               rec("DA-2026-000004", id_card=None), rec("DA-2026-000005", id_card="320502198503151232")]
    found = cleanup_candidates(records, last, TODAY)
    assert [(c["archive_no"], c["reasons"]) for c in found] == [
        ("DA-2026-000001", ["开票资料名称重复"]), ("DA-2026-000002", ["身份证号码重复"]),
        ("DA-2026-000003", ["身份证号码重复"]), ("DA-2026-000006", ["开票资料名称重复"])]


def test_a5_every_missing_mandatory_field_is_named_blank_none_or_absent():
    from models.archive.periodic import missing_fields

    r = {"archive_no": "DA-2026-000001", "customer_class": "enterprise", "invoicing_name": None, "phone": "  ",
         "address": "苏州", "registration": {}, "created_on": date(2026, 1, 1)}
    assert missing_fields(r) == ["name", "invoicing_name", "phone"]
    found = cleanup_candidates([r], {}, TODAY)
    assert found == [{"archive_no": "DA-2026-000001", "name": "", "reasons": ["必填项缺失：name、invoicing_name、phone"]}]
    named = cleanup_candidates([rec("DA-2026-000002", phone="")], {"客户2": date(2026, 10, 1)}, TODAY)
    assert named == [{"archive_no": "DA-2026-000002", "name": "客户2", "reasons": ["必填项缺失：phone"]}]


def test_a5_an_empty_answer_keeps_every_record_and_a_refusal_names_the_proposals():
    listed = ["DA-2026-000002", "DA-2026-000001"]
    for empty in ("", None):
        assert [(p.archive_no, p.action) for p in parse_proposals(empty, listed)] == [
            ("DA-2026-000001", "keep"), ("DA-2026-000002", "keep")]
    with pytest.raises(ValueError) as err:
        parse_proposals("[1]", listed)
    assert str(err.value) == "处理建议须为 JSON 对象 / proposals must be a JSON object"
    with pytest.raises(ValueError) as err:
        parse_proposals("{", listed)
    assert str(err.value).startswith("处理建议须为 JSON 对象 / proposals must be a JSON object: ")


def test_a5_only_a_merge_names_a_target_and_the_refusal_lists_the_actions_as_typed():
    listed = ["DA-2026-000001"]
    for bad in ("deactivate:DA-2026-000002", "merge:"):
        with pytest.raises(ValueError) as err:
            parse_proposals(f'{{"DA-2026-000001": "{bad}"}}', listed)
        assert "DA-2026-000001" in str(err.value) and "(keep, deactivate, merge:<archive_no>, correct)" in str(err.value)
    out = parse_proposals('{"DA-2026-000001": "correct"}', listed)
    assert [(p.action, p.merge_into) for p in out] == [("correct", None)]


def test_a5_records_not_on_the_list_are_refused_naming_each():
    with pytest.raises(ValueError) as err:
        parse_proposals('{"DA-2099-000002": "keep", "DA-2099-000001": "deactivate"}', ["DA-2026-000001"])
    zh, en = str(err.value).split(" / ", 1)
    assert "DA-2099-000001" in zh and "DA-2099-000002" in zh and "DA-2099-000001" in en and "DA-2099-000002" in en


@pytest.mark.parametrize("today,quarter", [(date(2027, 3, 31), "2026-Q4"), (date(2027, 4, 1), "2027-Q1"),
                                           (date(2027, 6, 30), "2027-Q1"), (date(2027, 7, 1), "2027-Q2"),
                                           (date(2027, 12, 31), "2027-Q3")])
def test_a5_the_quarter_reviewed_is_the_last_one_ended_on_any_day(today, quarter):
    assert quarter_key(today) == quarter


def test_a5_c23_a_quarterly_run_takes_the_quarter_ended_by_the_day_in_shanghai():
    from datetime import datetime, timezone

    from models.archive.periodic import quarter_before

    assert quarter_before(datetime(2026, 9, 30, 15, 59, tzinfo=timezone.utc)) == "2026-Q2"  # 23:59 on 30 September
    assert quarter_before(datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc)) == "2026-Q3"   # 00:00 on 1 October
