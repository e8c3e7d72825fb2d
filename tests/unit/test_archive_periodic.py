"""A5 quarterly clean-up criteria and proposals, A6 schedules (procedures §7.2), as pure rules."""

from datetime import date

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
