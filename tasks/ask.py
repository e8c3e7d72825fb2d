"""A human step as a flow writes it, typed: the answer model is passed as a class and the answer comes
back as that class.

    ask = asking(case_no, summary=summary, recused=recused)     # what every step of the case shares
    intake = ask(ComplaintIntake, step="intake", title="受理确认", role="l1_handler", assignee=receiver)
    intake.level                                                # an int: ComplaintIntake's own field

`ask` is a typed layer over `tasks.human.request_decision` (open the task, mail it, wait without a
process, record the answer; see that module); the keyword arguments are `StepRequest`'s fields.
`ask.each(Model, [...])` asks several people at once (`request_decisions`).

`review_loop` is the one review/approval loop of every procedure: the approvers approve a draft, or it
goes back to its author, who revises it (or withdraws it) and the approvers are asked again. It ends
with an approval, a withdrawal, or an escalation (after `max_rounds` rejected rounds a superior
rules) — never by running out of rounds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from itertools import count
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

from prefect.input import RunInput

from tasks.human import StepRequest, request_decision, request_decisions

A = TypeVar("A", bound=RunInput)
D = TypeVar("D")


def step_request(model: type[RunInput], *, case_no: str, step: str, title: str, role: str, **kw: Any) -> StepRequest:
    """The request for one step whose answer is a `model`."""
    return StepRequest(case_no=case_no, step_key=step, title=title, role=role, answer_model=model.__name__, **kw)


def typed(model: type[A], answer: RunInput) -> A:
    if not isinstance(answer, model):  # the registry (models/answers.py) names another class so
        raise TypeError(f"the answer is a {type(answer).__name__}, not the {model.__name__} asked for")
    return answer


def ask(model: type[A], *, case_no: str, step: str, title: str, role: str, **kw: Any) -> A:
    """Ask `role` (or `assignee`…) the step `step` of case `case_no`; the answer is a `model`."""
    return typed(model, request_decision(step_request(model, case_no=case_no, step=step, title=title, role=role, **kw)))


@dataclass(frozen=True)
class Asking:
    """The human steps of one case: `shared` (summary, recused, requested_by, template …) goes with
    every step unless the step gives its own."""

    case_no: str
    shared: dict[str, Any] = field(default_factory=dict)

    def __call__(self, model: type[A], *, step: str, title: str, role: str, **kw: Any) -> A:
        return ask(model, case_no=self.case_no, step=step, title=title, role=role, **(self.shared | kw))

    def each(self, model: type[A], steps: Sequence[dict[str, Any]]) -> list[A]:
        """Parallel steps (every task and its email opened first, then the answers collected); each
        dict holds one step's `step`, `title`, `role` and other `StepRequest` fields."""
        if not steps:
            return []
        reqs = [step_request(model, case_no=self.case_no, **(self.shared | s)) for s in steps]
        return [typed(model, a) for a in request_decisions(reqs)]

    def sharing(self, **shared: Any) -> Asking:
        """The same case with more (or other) shared fields."""
        return Asking(self.case_no, self.shared | shared)


def asking(case_no: str, **shared: Any) -> Asking:
    return Asking(case_no, shared)


class Verdict(Protocol):
    """What the loop reads of an approver's answer."""

    decision: str
    comment: str
    decided_by: str


V = TypeVar("V", bound=Verdict)


class _Withdrawn(Enum):
    WITHDRAWN = "withdrawn"


WITHDRAWN = _Withdrawn.WITHDRAWN  # what `revise` or a ruling returns when the draft is withdrawn
Withdrawn = Literal[_Withdrawn.WITHDRAWN]


@dataclass(frozen=True)
class Escalation(Generic[D]):
    """After `max_rounds` rejected rounds `rule(draft, rejections)` asks a superior, who upholds the
    draft (returned: it counts as approved) or withdraws it (WITHDRAWN)."""

    max_rounds: int
    rule: Callable[[D, list[Any]], D | Withdrawn]


@overload
def review_loop(draft: D, approve: Callable[[D, int], list[V]], revise: Callable[[D, int, list[V]], D]) -> D: ...


@overload
def review_loop(draft: D, approve: Callable[[D, int], list[V]], revise: Callable[[D, int, list[V]], D | Withdrawn],
                escalation: Escalation[D] | None = None) -> D | Withdrawn: ...


def review_loop(draft: D, approve: Callable[[D, int], list[V]], revise: Callable[[D, int, list[V]], D | Withdrawn],
                escalation: Escalation[D] | None = None) -> D | Withdrawn:
    """Rounds of review: `approve(draft, round)` asks the round's approvers (the answers of every one
    asked); while any rejects, `revise(draft, round, rejections)` returns the draft revised by its
    author as commented — or WITHDRAWN, the author withdrew it — and the next round asks again. With
    an `escalation`, a draft still rejected after `escalation.max_rounds` rounds goes to the superior's
    ruling instead. So the loop ends with an approval (the draft), a withdrawal or a ruling — never by
    running out of rounds, and a rejected draft is never taken as approved."""
    for round_no in count(1):
        rejections = [a for a in approve(draft, round_no) if a.decision != "approve"]
        if not rejections:
            return draft
        if escalation is not None and round_no >= escalation.max_rounds:
            return escalation.rule(draft, rejections)
        revised = revise(draft, round_no, rejections)
        if revised is WITHDRAWN:
            return WITHDRAWN
        draft = revised
    raise AssertionError("unreachable")


def rejection_notes(rejections: list[Verdict]) -> str:
    """The rejections' comments, for the author's revision step."""
    return "；".join(f"{a.decided_by or '审批人'}：{a.comment or '（未填写）'}" for a in rejections)

