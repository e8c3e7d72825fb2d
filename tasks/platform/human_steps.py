"""The wait of a human step, behind a small interface (`Services.human`).

    raw = svc.human.wait(req, model, task_row)

The real one, `SuspendForAnswer`, suspends the Prefect flow run (no process held) on the step key
with the typed `RunInput` and returns what the resume brought (empty when the answer came through the
email link: the web app recorded it in the database first). The fake, `ScriptedAnswers`, answers
from a script keyed by step key the way a person answers through the emailed link — validated by
the step's answer model, refused for the requester or someone recused, recorded with
`store.decide(via="email")` — and keeps what it was asked. A step without a scripted answer fails
the test naming the step; a step scripted `PENDING` stops the run there, as a suspension would.
A step scripted `ui(answer, code=…)` is answered the way the Prefect UI's resume form answers: the
raw input (with the one-time answer code read from the person's email, or the `code` given) is
returned for `request_decision` to check and record (tasks/human.py `record_answer`, via = ui) —
the real record path. A list scripts the answers to successive waits of one step (a refused UI
answer makes the run wait again). `request_decision` (tasks/human.py) does the bookkeeping around
the wait the same way for both."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from prefect.flow_runs import suspend_flow_run
from pydantic import BaseModel, ValidationError
from sqlmodel import select

from models.settings import Settings
from models.tables import OutboxMessage


class HumanSteps(Protocol):
    def wait(self, req: Any, model: type, task: Any, key: str | None = None) -> dict[str, Any]:
        """Wait for the answer to `task` (opened for `req`) under the pause `key` (default: the step
        key); return the raw answer given with the resume ({} when it was recorded in the database
        before the run went on)."""


class SuspendForAnswer:
    """Real: suspend the flow run on the pause key, with the typed run input (Prefect 3)."""

    def wait(self, req: Any, model: type, task: Any, key: str | None = None) -> dict[str, Any]:
        given = suspend_flow_run(wait_for_input=model, key=key or req.step_key, timeout=None)
        return given.model_dump(mode="json") if given is not None else {}


def build_human_steps(settings: Settings) -> HumanSteps:  # noqa: ARG001 - one real implementation
    return SuspendForAnswer()


# ---- the fake ------------------------------------------------------------------------------------
class UnscriptedStep(AssertionError):
    """The flow asked a step the test gave no answer for."""


class StepPending(Exception):  # noqa: N818 - a state of the run, not an error
    """The run stopped at a step scripted PENDING (as if suspended, waiting for a person)."""

    def __init__(self, step: str) -> None:
        super().__init__(f"the run waits on step {step!r}")
        self.step = step


@dataclass(frozen=True)
class Scripted:
    """A scripted answer: the typed answer (or its fields), who gives it (default: the assignee the
    task went to) and how long after the request (the clock is moved on, if it can be)."""

    answer: BaseModel | dict[str, Any]
    by: str | None = None
    after: timedelta | None = None
    via: str = "email"  # "ui": as the Prefect UI's resume form answers (with an answer code)
    code: str | None = None  # ui: the code typed (default: the one in the latest email to `by`)


def answer(value: BaseModel | dict[str, Any], *, by: str | None = None, after: timedelta | None = None,
           **after_kw: float) -> Scripted:
    """`answer(Decision(decision="approve"), by="x@y", hours=3)`: answered 3 hours after it was asked."""
    if after_kw:
        after = (after or timedelta()) + timedelta(**after_kw)
    return Scripted(value, by, after)


def ui(value: BaseModel | dict[str, Any], *, code: str | None = None, by: str | None = None,
       after: timedelta | None = None, **after_kw: float) -> Scripted:
    """An answer in the Prefect UI's resume form: `code` is what is typed as the answer code
    (default: the code printed in the latest request email to `by`, default the assignee); `by`
    only picks whose email the code is read from — the form's `decided_by` is not trusted."""
    if after_kw:
        after = (after or timedelta()) + timedelta(**after_kw)
    return Scripted(value, by, after, via="ui", code=code)


PENDING = object()  # script a step as not answered (yet): the run stops there


@dataclass
class Asked:
    """What the flow asked of a person (one per opened task that reached its wait)."""

    step: str
    title: str
    role: str
    assignee: str
    answer_model: str
    summary: dict[str, Any]
    at: datetime
    due: datetime | None
    remind_at: datetime | None
    requested_by: str | None
    recused: list[str]
    escalate_to: str | None
    task_id: int


@dataclass
class ScriptedAnswers:
    """Fake: answers from `script` (step key -> answer / `Scripted` / PENDING) through the same
    bookkeeping as an email answer; `asked` keeps every step the run waited on, in order."""

    script: dict[str, Any] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    store: Any = None  # set by the harness (the services' store); clock likewise
    clock: Any = None
    used: set[str] = field(default_factory=set)
    keys: list[str] = field(default_factory=list)  # the pause keys waited on, in order

    def wait(self, req: Any, model: type, task: Any, key: str | None = None) -> dict[str, Any]:
        self.keys.append(key or task.step_key)
        self.asked.append(Asked(
            step=task.step_key, title=task.title, role=task.role, assignee=task.assignee,
            answer_model=task.answer_model, summary=dict(task.summary or {}), at=task.created_at,
            due=task.due_at, remind_at=task.remind_at, requested_by=task.requested_by,
            recused=list(task.recused or []), escalate_to=task.escalate_to, task_id=task.id))
        if task.step_key not in self.script:
            raise UnscriptedStep(
                f"no scripted answer for step {task.step_key!r} ({task.title}; role {task.role}, "
                f"assignee {task.assignee}, answer {task.answer_model}); steps asked so far: "
                f"{[a.step for a in self.asked]}")
        given = self.script[task.step_key]
        if isinstance(given, list):  # successive waits of the step (in this run); past the list: waiting
            n = sum(1 for k in self.keys if k == task.step_key or k.startswith(f"{task.step_key}--retry"))
            given = given[n - 1] if n <= len(given) else PENDING
        if given is PENDING:
            raise StepPending(task.step_key)
        self.used.add(task.step_key)
        scripted = given if isinstance(given, Scripted) else Scripted(given)
        if scripted.after and self.clock is not None and hasattr(self.clock, "advance"):
            self.clock.advance(seconds=scripted.after.total_seconds())
        person = scripted.by or task.escalated_to or task.assignee
        if scripted.via == "ui":
            return self._ui_input(task, model, scripted, person)
        refusal = _refusal(task, person)
        if refusal:
            raise AssertionError(f"step {task.step_key!r}: {person} may not answer it: {refusal}")
        values = scripted.answer.model_dump(mode="json") if isinstance(scripted.answer, BaseModel) \
            else dict(scripted.answer)
        values["decided_by"] = person  # as the web app records an answer through the link
        try:
            typed = model.model_validate(values)
        except ValidationError as exc:
            raise AssertionError(f"step {task.step_key!r}: the scripted answer is not a valid "
                                 f"{task.answer_model}: {exc}") from exc
        if typed.decision not in task.choices:
            raise AssertionError(f"step {task.step_key!r}: {typed.decision!r} is not one of {task.choices}")
        data = typed.model_dump(mode="json")
        self.store.decide(task.id, decision=data["decision"], comment=data.get("comment", ""), answer=data,
                          by=person, via="email", now=self.clock.now())
        return {}  # the run goes on as after a resume by the web app: the database has the answer


    def _ui_input(self, task: Any, model: type, scripted: Scripted, person: str) -> dict[str, Any]:
        """What Prefect hands the run after a resume from its UI: the input as the form (or a direct
        API call) sent it, checked against the schema Prefect saved — nothing recorded yet."""
        values = scripted.answer.model_dump(mode="json") if isinstance(scripted.answer, BaseModel) \
            else dict(scripted.answer)
        values["code"] = scripted.code if scripted.code is not None else self.code_in_mail(task, person)
        try:
            model.model_validate(values)
        except ValidationError as exc:
            raise AssertionError(f"step {task.step_key!r}: the scripted UI answer is not a valid "
                                 f"{task.answer_model}: {exc}") from exc
        return values

    def code_in_mail(self, task: Any, person: str) -> str:
        """The answer code printed in the latest request email to `person` for `task` (the outbox)."""


        with self.store.session() as s:
            rows = s.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(f"task:{task.id}:"))
                          .order_by(OutboxMessage.id.desc())).all()
        for row in rows:
            if person.lower() in row.to.lower().split(","):
                found = re.search(r"一次性答案码：([0-9A-Z]{8})", row.text)
                if found:
                    return found.group(1)
        raise AssertionError(f"no answer code in an email to {person} for step {task.step_key!r}")


def _refusal(task: Any, person: str) -> str | None:
    """The decision page's rule (webapp/app.py `refusal`): who may answer this task's link."""
    p = person.lower()
    if task.requested_by and p == task.requested_by.lower():
        return "the requester never decides on their own request"
    if p in {r.lower() for r in task.recused or []}:
        return "recused from this case"
    allowed = {task.assignee.lower()} | ({task.escalated_to.lower()} if task.escalated_to else set())
    if p not in allowed:
        return f"the link is not theirs (assignee {task.assignee})"
    return None
