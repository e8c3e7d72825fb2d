"""The one review loop (tasks/ask.py `review_loop`) and the typed answer of `ask`, without Prefect."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from models.answers import Decision
from models.complaint.answers import ComplaintIntake
from tasks.ask import WITHDRAWN, Escalation, review_loop, typed


@dataclass
class Verdict:
    decision: str
    comment: str = ""
    decided_by: str = "boss@x"


def approver(*decisions: str) -> tuple[list[tuple[str, int]], object]:
    """An approver answering `decisions` in turn (the rest: approve); records (draft, round) asked."""
    asked: list[tuple[str, int]] = []

    def approve(draft: str, n: int) -> list[Verdict]:
        asked.append((draft, n))
        return [Verdict(decisions[n - 1] if n <= len(decisions) else "approve", comment=f"c{n}")]

    return asked, approve


def test_the_loop_ends_with_the_draft_its_approvers_approved_after_the_revisions():
    asked, approve = approver("reject", "reject")
    revised: list[tuple[int, list[str]]] = []

    def revise(draft: str, n: int, rejections: list[Verdict]) -> str:
        revised.append((n, [r.comment for r in rejections]))
        return f"v{n + 1}"

    assert review_loop("v1", approve, revise) == "v3"
    assert asked == [("v1", 1), ("v2", 2), ("v3", 3)]
    assert revised == [(1, ["c1"]), (2, ["c2"])]


def test_every_approver_of_a_round_must_approve():
    def approve(draft: str, n: int) -> list[Verdict]:
        return [Verdict("approve"), Verdict("reject" if n == 1 else "approve")]

    assert review_loop("v1", approve, lambda d, n, r: f"v{n + 1}") == "v2"


def test_without_an_escalation_the_loop_never_ends_by_running_out_of_rounds():
    asked, approve = approver(*["reject"] * 30)
    assert review_loop("v1", approve, lambda d, n, r: f"v{n + 1}") == "v31"
    assert len(asked) == 31


def test_an_author_who_withdraws_ends_the_loop_and_nothing_is_approved():
    asked, approve = approver("reject")
    assert review_loop("v1", approve, lambda d, n, r: WITHDRAWN) is WITHDRAWN
    assert asked == [("v1", 1)]


@pytest.mark.parametrize("ruling", ["upheld", "withdrawn"])
def test_after_max_rounds_a_superior_rules_instead_of_another_revision(ruling: str):
    asked, approve = approver(*["reject"] * 10)
    ruled: list[tuple[str, list[str]]] = []

    def rule(draft: str, rejections: list[Verdict]) -> str:
        ruled.append((draft, [r.comment for r in rejections]))
        return draft if ruling == "upheld" else WITHDRAWN

    out = review_loop("v1", approve, lambda d, n, r: f"v{n + 1}", Escalation(3, rule))
    assert out == ("v3" if ruling == "upheld" else WITHDRAWN)
    assert asked == [("v1", 1), ("v2", 2), ("v3", 3)]
    assert ruled == [("v3", ["c3"])]


def test_an_approval_in_the_last_round_needs_no_ruling():
    asked, approve = approver("reject", "reject")
    out = review_loop("v1", approve, lambda d, n, r: f"v{n + 1}", Escalation(3, lambda d, r: pytest.fail("ruled")))
    assert out == "v3"


def test_ask_returns_the_answer_as_the_class_asked_for():
    answer = Decision(decision="approve")
    assert typed(Decision, answer) is answer
    with pytest.raises(TypeError, match="not the ComplaintIntake"):
        typed(ComplaintIntake, answer)


def test_the_author_revises_the_draft_as_it_stands_after_the_last_round():
    asked, approve = approver("reject", "reject")
    assert review_loop("v1", approve, lambda draft, n, r: f"{draft}+{n}") == "v1+1+2"
    assert asked == [("v1", 1), ("v1+1", 2), ("v1+1+2", 3)]
