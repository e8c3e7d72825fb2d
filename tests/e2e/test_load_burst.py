"""Load (issue 9), small: 8 complaints posted in a burst on the local stack with PostgreSQL, answered by
the simulated approvers of bench/load_burst.py; its completeness checks must find nothing missing,
nothing mailed twice, an empty outbox. (The full run is `bench/load_burst.py --cases 1000`.)"""

import tempfile
from pathlib import Path

import pytest

from bench.load_burst import check, complaint, run_burst, start_stack
from tests import pg

pytestmark = [pytest.mark.e2e, *pg.only_in_make_test()]
CASES = 8  # each case is a flow-run process per start and resume: CPU-bound on a 2-core machine


@pytest.fixture(scope="module")
def burst_stack():
    stack = start_stack(Path(tempfile.mkdtemp(prefix="kefu-burst-")), serve_limit=8)
    yield stack
    stack.stop()


@pytest.mark.timeout(1800)
def test_a_burst_of_complaints_all_finish_with_complete_trails_and_mail(burst_stack):
    report = run_burst(burst_stack, CASES, concurrency=8, timeout=1500)
    print(f"\n{report}")
    assert report.problems == []
    assert report.answered == CASES * 12  # a level-1 complaint's 12 human steps (处理方案审批 twice)
    assert report.peak_total_mb > 0 and report.flow_run_hwm_mb > 0


def test_the_checks_find_what_is_missing_or_doubled(burst_stack):
    """The completeness checks can fail: a case that is not closed, a missing and a doubled email."""
    import httpx

    client = httpx.Client(timeout=60, headers={"X-API-Key": burst_stack.authorize()})
    case_no = client.post(f"{burst_stack.web}/api/complaints", json=complaint(9999)).json()["case_no"]
    mails = [{"to": ["li.na@huajin.example"], "subject": f"【待办】{case_no} 受理确认", "links": []}] * 2
    problems = check(burst_stack, client, [case_no], mails, unsent=3)
    assert any(p.startswith(f"{case_no} is ") for p in problems), problems
    assert any("mailed twice" in p for p in problems) and any("never got a 满意度" in p for p in problems)
    assert any("3 messages left" in p for p in problems)
