"""C23's quarterly review (procedures §7.1): the CS manager's answer per entry, read strictly; its schedule."""

import pytest
import yaml

from models.complaint.library import REVIEW_CRON, parse_review
from models.settings import REPO_ROOT


def test_the_review_is_read_per_entry_and_unnamed_entries_are_kept():
    listed = ["TS-2026-000001", "TS-2026-000002", "TS-2026-000003"]
    out = parse_review('{"TS-2026-000001": "retire", "TS-2026-000002": {"lessons": "王五 13812345678 漏登记"}}',
                       listed, ["王五"])
    assert [(r.case_no, r.action) for r in out] == [("TS-2026-000001", "retire"), ("TS-2026-000002", "update"),
                                                    ("TS-2026-000003", "keep")]
    assert out[1].texts == {"lessons": "某人 （已隐去） 漏登记"}
    for bad, needle in (("[1]", "JSON"), ("{", "JSON"), ('{"TS-2026-000001": "erase"}', "invalid review"),
                        ('{"TS-2026-000001": {"customer": "x"}}', "an update gives"),
                        ('{"TS-2026-000001": {"lessons": " "}}', "an update gives"),
                        ('{"TS-2099-000001": "keep"}', "not in the listed library")):
        with pytest.raises(ValueError, match=needle):
            parse_review(bad, listed)


def test_the_review_is_scheduled_quarterly_locally_and_in_production():
    from deployments.serve import local_flows
    from models.settings import Settings

    prod = {d["name"]: d for d in yaml.safe_load((REPO_ROOT / "deployments" / "prefect.yaml").read_text())["deployments"]}
    assert prod["case-library-review"]["schedules"][0]["cron"] == REVIEW_CRON
    local = {opts["name"]: opts for _flow, opts in local_flows(Settings(env="test", secret_key="x" * 32))}
    assert local["case-library-review"]["schedules"][0].cron == REVIEW_CRON


def test_c23_a_review_that_is_not_a_json_object_is_refused_naming_the_review():
    with pytest.raises(ValueError) as err:
        parse_review("[1]", ["TS-2026-000001"])
    zh, en = str(err.value).split(" / ", 1)
    assert zh.startswith("审核结果") and en.startswith("the review")


def test_c23_an_update_naming_a_field_it_may_not_rewrite_is_refused_even_beside_one_it_may():
    with pytest.raises(ValueError, match="an update gives"):
        parse_review('{"TS-2026-000001": {"lessons": "补登记", "customer": "王五"}}', ["TS-2026-000001"])


def test_c23_the_search_goes_past_entries_of_other_categories_products_or_words():
    from models.complaint.library import search

    entries = [{"category": "维修服务", "product": "空调", "lessons": "a"}, {"category": "产品质量", "product": "空调", "lessons": "b"},
               {"category": "产品质量", "product": "冰箱", "lessons": "c"}, {"category": "产品质量", "product": "空调", "lessons": "d"}]
    assert [e["lessons"] for e in search(entries, category="产品质量")] == ["b", "c", "d"]
    assert [e["lessons"] for e in search(entries, product="空调", keyword="d")] == ["d"]


CLOSED = {"form": {"complainant": {"name": "王芳"}, "persons_involved": ["李四"], "category": "服务态度",
                   "products": [{"name": "空调"}, {"name": "冰箱"}], "description": "王芳说李四态度差"},
          "plan": {"responsibility": "李四未按规范接待王芳，陈静复核", "responsibility_department": "售后服务部"},
          "outcome": {"responsibility_department": "安装部"}, "satisfaction": 2}


def test_c23_an_entry_leaves_out_the_complainant_the_persons_involved_and_the_staff_named():
    from models.complaint.library import library_entry

    e = library_entry(CLOSED, handling_label="道歉", outcome_label="已解决", lessons="李四须培训", improvement="陈静督导",
                      people=["陈静"])
    assert e == {"category": "服务态度", "product": "空调、冰箱", "cause": "某人未按规范接待某人，某人复核",
                 "handling": "道歉", "outcome": "已解决", "satisfaction": 2, "lessons": "某人须培训",
                 "improvement": "某人督导", "department": "安装部"}


def test_c23_an_entry_from_a_case_without_plan_or_outcome_takes_the_description_and_blanks():
    from models.complaint.library import library_entry

    data = {"form": {"complainant": {"name": "王芳"}, "products": [{"name": "空调"}, {}], "description": "王芳反映噪音"}}
    e = library_entry(data, handling_label="维修", outcome_label="已解决", lessons="", improvement="")
    assert (e["category"], e["product"], e["cause"], e["department"], e["satisfaction"]) == ("", "空调、", "某人反映噪音",
                                                                                             "", None)
    plan_only = library_entry({**CLOSED, "outcome": {}}, handling_label="", outcome_label="", lessons="", improvement="")
    assert plan_only["department"] == "售后服务部"


def test_c23_a_longer_name_is_hidden_whole_before_a_shorter_one_inside_it():
    from models.complaint.library import anonymise

    # 张李四 sorts before 李四 by text but is longer: hidden first, it leaves no 张 behind
    assert anonymise("张李四和李四", ["李四", "张李四"]) == "某人和某人"
    assert anonymise("王芳芳说王芳", ["王芳", "王芳芳"]) == "某人说某人"


def test_c23_blank_names_hide_nothing_and_an_empty_text_stays_empty():
    from models.complaint.library import anonymise

    assert anonymise("王芳反映噪音", [" ", "", None]) == "王芳反映噪音"
    assert anonymise("", ["王芳"]) == "" and anonymise(None, []) == ""


def test_c23_an_entry_without_cause_description_lessons_or_improvement_records_them_blank():
    from models.complaint.library import library_entry

    e = library_entry({"form": {}}, handling_label="维修", outcome_label="已解决", lessons="", improvement="")
    assert (e["cause"], e["lessons"], e["improvement"], e["product"]) == ("", "", "", "")
