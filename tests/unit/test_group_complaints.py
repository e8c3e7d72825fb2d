"""C26 group complaints (群诉): which open complaints the system suggests as one group."""

from datetime import datetime, timedelta, tzinfo

import pytest

from models.business_days import TZ
from models.complaint.group import subject_key, suggest_groups

NOW = datetime(2026, 11, 25, 10, tzinfo=TZ)


def row(no, subject="锦绣花园3号楼", category="工程质量", days_ago=1, group=None):
    return {"case_no": f"TS-2026-{no:06d}", "subject": subject, "category": category,
            "received_at": NOW - timedelta(days=days_ago), "group": group}


def test_three_with_one_subject_and_category_within_7_days_are_suggested():
    rows = [row(1), row(2, subject="锦绣花园 ３号楼"), row(3, days_ago=6), row(4, category="物业管理"), row(5, subject="")]
    assert suggest_groups(rows, NOW) == [{"subject": "锦绣花园3号楼", "category": "工程质量",
                                          "members": ["TS-2026-000001", "TS-2026-000002", "TS-2026-000003"]}]


@pytest.mark.parametrize("rows", [
    [row(1), row(2), row(3, days_ago=8)],           # one is older than 7 days
    [row(1), row(2), row(3, group="QS-2026-000001")],  # one is already in a group
    [row(1), row(2)],                               # two are not a group
])
def test_not_a_group(rows):
    assert suggest_groups(rows, NOW) == []


def test_threshold_and_window_are_configurable():
    assert suggest_groups([row(1), row(2)], NOW, threshold=2)
    assert suggest_groups([row(1), row(2), row(3, days_ago=8)], NOW, days=10)
    assert subject_key(" Ａ栋 ") == subject_key("a栋")


def test_a_groups_member_keeps_level_3_and_others_their_level():
    from models.complaint.group import group_level

    assert group_level(1, {"group_case": "QS-2026-000001"}) == 3
    assert group_level(3, {"group_case": "QS-2026-000001"}) == 3
    assert group_level(1, {}) == 1 and group_level(2, {"group_case": None}) == 2


def test_c26_a_complaint_received_exactly_7_days_ago_still_counts():
    assert suggest_groups([row(1), row(2), row(3, days_ago=7)], NOW)
    assert not suggest_groups([row(1), row(2), row(3, days_ago=7) | {"received_at": NOW - timedelta(days=7, seconds=1)}], NOW)


def test_c26_members_in_case_number_order_and_groups_by_their_first_member():
    rows = [row(4, subject="B栋"), row(9), row(3, subject="B栋"), row(8), row(2, subject="B栋"), row(1)]
    assert suggest_groups(rows, NOW) == [
        {"subject": "锦绣花园3号楼", "category": "工程质量", "members": ["TS-2026-000001", "TS-2026-000008", "TS-2026-000009"]},
        {"subject": "B栋", "category": "工程质量", "members": ["TS-2026-000002", "TS-2026-000003", "TS-2026-000004"]}]


def test_c26_complaints_without_a_subject_are_never_grouped():
    assert suggest_groups([row(1, subject=None), row(2, subject=None), row(3, subject=None), row(4, subject="  ")],
                          NOW) == []


def test_c26_a_complaint_left_out_does_not_end_the_search():
    rows = [row(9, days_ago=8), row(8, group="QS-2026-000001"), row(7, subject=""), row(1), row(2), row(3)]
    assert [g["members"] for g in suggest_groups(rows, NOW)] == [["TS-2026-000001", "TS-2026-000002", "TS-2026-000003"]]
    assert subject_key(None) == ""


def test_c26_now_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="^now: naive datetime"):
        suggest_groups([], datetime(2026, 11, 25, 10))


class NoOffset(tzinfo):
    def utcoffset(self, dt):
        return None


def test_c26_now_whose_zone_has_no_offset_is_refused_as_naive():
    with pytest.raises(ValueError, match="^now: naive datetime"):
        suggest_groups([], datetime(2026, 11, 25, 10, tzinfo=NoOffset()))


def test_c26_the_spokesperson_named_speaks_in_a_role_they_hold_else_the_l2_handler(tmp_path):
    from models.complaint.group import spokesperson_of
    from models.org import load_org
    from models.settings import REPO_ROOT

    text = (REPO_ROOT / "deployments" / "org.yaml").read_text(encoding="utf-8")
    # 徐芳 holds no role in this copy of the directory
    path = tmp_path / "org.yaml"
    marketing = "marketing: [yang.mei@huajin.example"
    text = text.replace(f"{marketing}, xu.fang@huajin.example]", f"{marketing}]")
    # and 赵磊 (the L3 sales director, a role listed before) is also an L2 handler
    text = text.replace("l2_handler: [zhou.min@huajin.example]", "l2_handler: [zhou.min@huajin.example, zhao.lei@huajin.example]")
    path.write_text(text, encoding="utf-8")
    org, l2 = load_org(path), "zhou.min@huajin.example"
    assert org.roles_of("xu.fang@huajin.example") == []
    assert spokesperson_of(org, "chen.jing@huajin.example", l2) == ("chen.jing@huajin.example", "l1_handler")
    assert spokesperson_of(org, "陈静", l2) == ("chen.jing@huajin.example", "l1_handler")          # by name
    assert spokesperson_of(org, "zhou.min@huajin.example", l2) == (l2, "l2_handler")
    assert org.roles_of("zhao.lei@huajin.example")[0] == "l3_sales_director"
    assert spokesperson_of(org, "zhao.lei@huajin.example", l2) == ("zhao.lei@huajin.example", "l2_handler")  # as L2
    assert spokesperson_of(org, "赵磊", l2) == ("zhao.lei@huajin.example", "l2_handler")
    assert spokesperson_of(org, "wu.jing@huajin.example", l2) == ("wu.jing@huajin.example", "market_branch")
    for nobody in ("", "nobody@huajin.example", "xu.fang@huajin.example"):
        assert spokesperson_of(org, nobody, l2) == (l2, "l2_handler")


def test_c26_the_head_of_the_l2_handler_s_department_meets_the_complainants_or_the_l2_handler_if_none(tmp_path):
    from models.complaint.group import group_head
    from models.org import load_org
    from models.settings import REPO_ROOT

    text = (REPO_ROOT / "deployments" / "org.yaml").read_text(encoding="utf-8")
    org = load_org(REPO_ROOT / "deployments" / "org.yaml")
    assert group_head(org, "zhou.min@huajin.example") == "zhou.min@huajin.example"  # the CS head is the L2 handler
    assert group_head(org, "li.na@huajin.example") == "zhou.min@huajin.example"     # an L2 handler under a head
    path = tmp_path / "org.yaml"
    path.write_text(text.replace("  - {code: cs, name: 综合服务部, head: zhou.min@huajin.example}",
                                 "  - {code: cs, name: 综合服务部}"), encoding="utf-8")
    assert group_head(load_org(path), "li.na@huajin.example") == "li.na@huajin.example"  # no head: the L2 handler
