"""C23 (procedures §7.1): each quarter the CS manager reviews the case library — keep, update the text,
retire — in a scheduled run like A5's; a retired entry leaves the searchable library and S3."""

import json

from flows.complaint.library_review import case_library_review
from models.complaint.answers import CaseLibraryQuarterReview
from tests.flows.harness import CS_MANAGER


def _published(office, lessons: str, **over) -> str:
    """A complaint whose entry the CS manager published (as the closing review does, C23)."""
    case_no = office.complaint(**over)
    entry = {"category": "维修服务", "product": "32S 棉纱", "cause": "报修后未及时派工", "handling": "道歉",
             "outcome": "满意", "satisfaction": 2, "lessons": lessons, "improvement": "当日派工", "department": "综合服务部"}
    office.svc.store.update_case(case_no, actor=CS_MANAGER, kind="case_library_published", now=office.svc.clock.now(),
                                 data={"case_library": {"state": "published", "entry": entry, "by": CS_MANAGER,
                                                        "reviewed_by": CS_MANAGER,
                                                        "reviewed_at": "2026-11-25T10:00:00+08:00"}})
    return case_no


def run_review(office, answers):
    """As the schedule runs it: no parameter, the quarter before the clock's (2026-Q3 on 2026-11-25)."""
    from tasks.platform.runtime import use_services

    office.human.script = dict(answers)
    office.human.keys = []
    with use_services(office.svc):
        return case_library_review()


def test_the_quarterly_review_keeps_updates_and_retires_entries(office):
    from tasks.complaint.steps import case_library
    from tasks.reports.statistics import typical_cases

    old = _published(office, "派工单未跟踪")
    kept = _published(office, "及时回访", event={"time": "2026-11-21", "place": "另一事件"})
    updated = _published(office, "报修登记不全", event={"time": "2026-11-22", "place": "第三事件"})
    review = {old: "retire", updated: {"lessons": "李娜登记时漏记电话 13812345678，今后双人复核"}}
    case_no = run_review(office, {
        "review": CaseLibraryQuarterReview(reviews='{"TS-2099-000001": "keep"}'),  # not listed: back with the reason
        "review-2": CaseLibraryQuarterReview(reviews=json.dumps(review, ensure_ascii=False))})
    asked = {a.step: a for a in office.human.asked}
    assert list(asked) == ["review", "review-2"] and asked["review"].assignee == CS_MANAGER
    assert {old, kept, updated} <= set(asked["review"].summary)  # every entry listed
    assert "不在案例库清单中" in asked["review-2"].summary["退回意见"]
    library = {e["case_no"]: e for e in case_library(office.svc)}
    assert set(library) == {kept, updated}  # the retired entry left the searchable library
    assert case_library(office.svc, keyword="派工单未跟踪") == []
    text = library[updated]["lessons"]
    assert "双人复核" in text and "李娜" not in text and "1381234" not in text  # anonymised again
    rec = office.svc.store.get_case(updated).data["case_library"]
    assert rec["quarter_reviews"][0]["before"] == {"lessons": "报修登记不全"}  # the earlier text is kept
    retired = office.svc.store.get_case(old).data["case_library"]
    assert retired["state"] == "retired" and retired["entry"]["lessons"] == "派工单未跟踪"  # nothing erased
    with office.svc.store.session() as s:
        assert old not in [r["case_no"] for r in typical_cases(s, "2026-11")]  # and left S3
    case = office.svc.store.get_case(case_no)
    assert case.title.endswith("2026-Q3") and case.state == "done"
    assert case.data["counts"] == {"keep": 1, "update": 1, "retire": 1}


def test_an_empty_library_needs_no_task_and_a_quarter_is_one_case(office):
    case_no = run_review(office, {})
    assert office.human.asked == [] and office.svc.store.get_case(case_no).closed_at is not None
    assert run_review(office, {}) == case_no


def test_c23_each_entry_is_listed_in_full_the_manager_has_5_business_days_and_the_review_is_theirs(office):
    from datetime import datetime, timezone

    long_cause = "报" * 90
    plain = _published(office, "经" * 70)
    bare = _published(office, "及时回访", event={"time": "2026-11-21", "place": "另一事件"})
    with office.svc.store.session() as s:  # an entry without a product, its cause longer than a line
        from models.tables import Case

        case = s.get(Case, office.svc.store.get_case(bare).id)
        lib = dict(case.data["case_library"])
        lib["entry"] = lib["entry"] | {"product": "", "cause": long_cause}
        case.data = case.data | {"case_library": lib}
        s.add(case)
        s.commit()
    run_review(office, {
        "review": CaseLibraryQuarterReview(reviews='{"TS-2099-000001": "keep"}'),
        "review-2": CaseLibraryQuarterReview(reviews=json.dumps({plain: "keep", bare: "keep"}))})
    asked = {a.step: a for a in office.human.asked}
    listing = {plain: f"维修服务 · 32S 棉纱：报修后未及时派工（经验：{'经' * 60}）",
               bare: f"维修服务 · —：{'报' * 80}（经验：及时回访）",
               "可选": "keep 保留、update 更新文字、retire 停用（移出案例库）"}
    first = asked["review"]
    assert (first.title, first.due, first.summary) == (
        "典型案例库季度审核：逐条保留、更新或停用", datetime(2026, 12, 2, 2, 0, tzinfo=timezone.utc), listing)
    note = asked["review-2"].summary.pop("退回意见")
    assert note.startswith("不在案例库清单中") and "TS-2099-000001" in note and asked["review-2"].summary == listing
    for no in (plain, bare):
        (review,) = office.svc.store.get_case(no).data["case_library"]["quarter_reviews"]
        assert (review["action"], review["by"]) == ("keep", CS_MANAGER)


def test_c23_an_empty_library_closes_the_quarter_s_review_done_asking_nobody(office):
    case_no = run_review(office, {})
    case = office.svc.store.get_case(case_no)
    assert (case.state, case.closed_at is not None, office.human.asked) == ("done", True, [])
    assert [e.kind for e in office.svc.store.events(case_no)][-1] == "case_library_empty"
