"""S1 《客诉案件统计表》 on cases the complaint flow really handled: the on-time rate of each deadline is
computed from the time that deadline's step was done."""

from flows.complaint.handling import complaint
from models.complaint.answers import FirstContact
from tasks.reports.statistics import monthly_figures
from tests.flows.harness import PENDING, answer
from tests.flows.test_complaint import PLAN, handled


def test_the_plan_on_time_rate_counts_the_plan_not_the_first_contact(office):
    # received Wednesday 10:00: first contact at 12:00 (in time), the plan on Friday (1 business day: late)
    case_no = office.complaint()
    run = office.run(complaint, case_no, handled(1) | {
        "first-contact": answer(FirstContact(contact_note="已联系"), hours=2),
        "plan-1": answer(PLAN, days=2)})
    assert run.result == "closed"
    with office.svc.store.session() as s:
        on_time = {x["deadline"]: (x["due"], x["on_time"]) for x in monthly_figures(s, "2026-11")["on_time"]}
    assert on_time["first_contact"] == (1, 1)
    assert on_time["plan"] == (1, 0)


def test_s1_has_the_return_visit_rate_over_closed_escalated_and_gm_meeting_cases(office):
    # C10: every established case is visited; not-established ones are not counted
    assert office.run(complaint, office.complaint(), handled(1)).result == "closed"
    assert office.run(complaint, office.complaint(), handled(1, score=5)).result.startswith("escalated:")
    unvisited = office.run(complaint, office.complaint(media=True), handled(3, score=5, **{"return-visit": PENDING}))
    assert unvisited.waiting_on == "return-visit"
    office.svc.store.update_case(unvisited.case_no, actor="t", kind="x", now=office.clock.now(), state="gm_meeting",
                                 closed=True)  # closed by hand, never visited
    with office.svc.store.session() as s:
        visits = monthly_figures(s, "2026-11")["return_visits"]
    assert visits == {"due": 3, "visited": 2, "rate": "0.6667"}
