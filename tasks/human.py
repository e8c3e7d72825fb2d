"""Request a decision: the human step every procedure uses.

    answer = request_decision(StepRequest(...))

A cycle of a step is two task runs (issue 23), each named by the step as the process owner reads it:
`请求决定 request decision · <title> (<step key>)` and `记录决定 record decision · …`.

1. 请求决定 request decision (`ask_for_decision`, one task run): open the human task — idempotent:
   the same case + step key is the same task, and its email is written to the outbox in the same
   transaction, so a re-run (or a retry of the task) never mails twice —, deliver the case's outbox
   in place (the mail task's retries with backoff, `tasks/notify.py` `deliver_now`: SMTP being down
   never loses the message and never fails the step), and show who the run waits for
   (tasks/platform/waiting.py: the `waiting-{case_no}` artifact and a log line);
2. (no task run) if the task is already decided (an earlier run, or a fast click) take that answer —
   a step decided and acted on in an earlier cycle of the run is read from the database without task
   runs (and the bookkeeping before it is replayed without task runs too: tasks/replay.py);
3. (no task run) else wait for the answer: `svc.human` suspends the flow run (no process held) with a
   typed `RunInput` and the step key (tests/flows: a scripted answer, recorded as an email answer is);
4. 记录决定 record decision (`record_answer`, one task run): on resume, record the answer and show
   who answered — the database is the arbiter: an answer
   through the email link was recorded by the web app before it resumed the run; an answer in the
   Prefect UI is recorded here with decided-via = ui, by the person its one-time answer code was
   issued to (tasks/platform/human_codes.py) — a missing, wrong or used code, or a person who may not decide
   (the requester, someone recused: the links' rule), is refused: an event `answer_refused` with the
   reason, no decision, and the run waits again on the same step. Prefect never suspends twice under
   one key (a used key returns its stored input), so the n-th wait after n refusals uses the key
   `{step_key}--retry{n}` (`pause_key`); the count comes from the database, so a re-run from the top
   walks the same keys (the refusing task run shows again who the run waits for). The first valid
   answer wins;
5. then the bookkeeping after the step is the same whichever way the answer came: the run goes on
   as a new step (`replay.reached_new_step`), not as a replay of an earlier cycle."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from prefect import get_run_logger, task
from prefect.input import RunInput
from prefect.runtime import task_run
from pydantic import BaseModel, Field

from models.answers import ANSWER_MODELS, CHOICE_LABELS, choices_of
from models.org import ROLE_LABELS
from models.rules import TaskDeadline, pick_assignee, task_deadline
from models.tables import HumanTask
from models.tokens import make_token
from tasks import replay
from tasks.notify import deliver_now
from tasks.platform import human_codes
from tasks.platform.copies import copy_answer, task_copy
from tasks.platform.mail import OutgoingMail
from tasks.platform.policy import IO_TASK
from tasks.platform.render import render_mail
from tasks.platform.runtime import Services, services
from tasks.platform.waiting import publish_waiting

if TYPE_CHECKING:
    from tasks.platform.store import Store

A = TypeVar("A", bound=RunInput)


class StepRequest(BaseModel):
    """What a flow asks of a person."""

    case_no: str
    # Prefect's run-input keys allow letters, digits and dashes only
    step_key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,79}$")
    title: str  # 部门负责人审批 …
    role: str
    assignee: str | None = None  # default: the first eligible holder of the role
    external_assignee: str | None = None  # someone outside the org (a customer answering a survey)
    escalate_to: str | None = None  # overdue: default the assignee's superior
    requested_by: str | None = None  # never decides on their own request
    recused: list[str] = Field(default_factory=list)  # e.g. the person complained about
    summary: dict[str, Any] = Field(default_factory=dict)  # label -> value, shown to the approver
    defaults: dict[str, Any] = Field(default_factory=dict)  # pre-filled typed fields (e.g. proposed level)
    answer_model: str = "Decision"
    template: str = "decision_request"  # the email asking for the answer
    due_business_days: int | None = 1
    due_hours: float | None = None
    due_at: datetime | None = None  # an exact deadline from the procedure's rules (wins)
    remind_at: datetime | None = None  # with due_at: an exact reminder time from the rules (else halfway there)
    flow_run_id: str | None = None
    # the case's single contact (C20: the complaint's handler), copied on the task and on its answer
    # when someone else holds the step (tasks/platform/copies.py)
    copy_to: str | None = None


class TaskRef(BaseModel):
    id: int
    state: str
    assignee: str
    created: bool


def decision_links(svc: Services, task: HumanTask, person: str, now: datetime) -> dict[str, str]:
    token = make_token(svc.settings.secret_key, task.id, person, now, svc.settings.token_max_age_days)
    base = f"{svc.settings.base_url}/t/{token}"
    return {c: f"{base}?choice={c}" for c in task.choices} | {"page": base}


PURPOSES = {"reminder": "remind", "escalation": "escalate"}


def render_request_mail(svc: Services, task: HumanTask, person: str, now: datetime,
                        template: str = "decision_request") -> OutgoingMail:
    """The email asking `person` to answer `task` (also used for reminders and escalations). It prints
    a new one-time answer code for `person` and `task` (for the Prefect UI's resume form); the code's
    hashed row travels with the email and is stored with it (tasks/platform/human_codes.py)."""
    links = decision_links(svc, task, person, now)
    code, code_row = human_codes.issue(svc.settings.secret_key, task.id, person,
                                       PURPOSES.get(template, "ask"), now)
    mail = render_mail(
        template, [person],
        case_no=task.case_no, title=task.title, summary=task.summary, person_name=display_name(svc, person),
        role_label=ROLE_LABELS.get(task.role, task.role), due_at=task.due_at,
        choices=[{"value": c, "label": CHOICE_LABELS.get(c, c), "url": links[c]} for c in task.choices],
        page_url=links["page"], assignee_name=display_name(svc, task.assignee), answer_code=code,
    )
    coded = human_codes.CodedMail(**dict(mail))
    coded._answer_code = code_row
    return coded


def display_name(svc: Services, email: str) -> str:
    who = svc.org.find(email)
    return who.name if who else email


def open_task(svc: Services, req: StepRequest) -> tuple[HumanTask, bool]:
    """Open the human task for `req` with its email in the outbox, in one transaction — or return
    the task this case + step already has (no second email, ever). Returns (task, created)."""
    now = svc.clock.now()
    exclude = {e.lower() for e in req.recused}
    if req.requested_by:
        exclude.add(req.requested_by.lower())
    person_email = req.external_assignee or pick_assignee(svc.org, req.role, exclude,
                                                         preferred=req.assignee).email
    if req.due_at is not None:
        deadline = TaskDeadline(remind_at=req.remind_at or now + (req.due_at - now) / 2, due_at=req.due_at)
    elif req.due_hours:
        deadline = task_deadline(now, svc.calendar, hours=req.due_hours)
    elif req.due_business_days:
        deadline = task_deadline(now, svc.calendar, business_days=req.due_business_days)
    else:
        deadline = None
    model = ANSWER_MODELS[req.answer_model]
    row = HumanTask(
        case_no=req.case_no, step_key=req.step_key, title=req.title, role=req.role,
        assignee=person_email, requested_by=req.requested_by, recused=sorted(exclude),
        escalate_to=req.escalate_to,
        flow_run_id=req.flow_run_id, answer_model=req.answer_model, choices=choices_of(model),
        summary=req.summary, answer=req.defaults, created_at=now,
        remind_at=deadline.remind_at if deadline else None, due_at=deadline.due_at if deadline else None,
    )
    return svc.store.ensure_task(
        row, lambda t: [render_request_mail(svc, t, t.assignee, now, req.template),
                        *task_copy(svc, t, req.copy_to, external=bool(req.external_assignee))], now)


@task(name="建立待办 open human task", **IO_TASK)
def open_human_task(req: StepRequest) -> TaskRef:
    """Open the task and queue its email, without delivering it (bench/capacity.py seeds tasks so)."""
    svc = services()
    task_row, created = open_task(svc, req)
    if replay.current_run_id():
        show(svc, task_row)
    return TaskRef(id=task_row.id, state=task_row.state, assignee=task_row.assignee, created=created)


def _step_run_name(verb: str) -> Callable[[], str]:
    """`请求决定 request decision · 部门负责人审批《取样出门审批单》 (leader-approval)`: the task run
    names the step it belongs to, as the process owner reads it."""
    def name() -> str:

        params = task_run.parameters
        req = params.get("req")
        title, key = (req.title, req.step_key) if req is not None else (params.get("title"), params.get("step"))
        return f"{verb} · {title} ({key})" if title else verb
    return name


@task(name="请求决定 request decision", task_run_name=_step_run_name("请求决定 request decision"), **IO_TASK)
def ask_for_decision(req: StepRequest) -> TaskRef:
    """The human step up to its wait, in one task run: open the task and write its email to the
    outbox in one transaction (idempotent: the same case + step is the same task, and a re-run
    writes no second email), deliver the case's outbox (SMTP down: the message stays for the
    watchdog), and show in the Prefect UI who the run waits for."""
    svc = services()
    task_row, created = open_task(svc, req)
    if created or svc.store.unsent_count(req.case_no):
        deliver_now(svc, req.case_no)
    if replay.current_run_id():
        show(svc, task_row)
    return TaskRef(id=task_row.id, state=task_row.state, assignee=task_row.assignee, created=created)


def show(svc: Services, task_row: HumanTask) -> None:
    """The Prefect UI says who the run waits for (or, once answered, who answered)."""
    view = publish_waiting(svc.org, task_row, svc.clock.now(), svc.artifacts)
    get_run_logger().info(view["line"])


RETRY = "--retry"
REFUSED = "__refused__"  # what record_answer returns for a refused answer: {REFUSED: reason}
# After this many refused UI answers to one task, no UI answer is taken for it any more (guessing a
# code is bounded to this many tries; the emailed link still answers it)
MAX_UI_REFUSALS = 10
TOO_MANY = "too many refused answers in the Prefect UI; answer through the emailed link"


def pause_key(step_key: str, refused: int) -> str:
    """The key of the wait after `refused` refused answers (Prefect keys are letters, digits and
    dashes; a used key returns its stored input, so every wait after a refusal needs a new one)."""
    return step_key if refused == 0 else f"{step_key}{RETRY}{refused}"


def refusal(task_row: HumanTask, person: str) -> str | None:
    """Who may answer a task — the decision links' rule (webapp/app.py `refusal`), for UI answers."""
    p = person.lower()
    if task_row.requested_by and p == task_row.requested_by.lower():
        return "the requester never decides on their own request"
    if p in {r.lower() for r in task_row.recused or []}:
        return "recused from this case"
    allowed = {task_row.assignee.lower()} | ({task_row.escalated_to.lower()} if task_row.escalated_to else set())
    if p not in allowed:
        return "not the assignee of this task"
    return None


@task(name="记录决定 record decision", task_run_name=_step_run_name("记录决定 record decision"), **IO_TASK)
def record_answer(task_id: int, answer: dict[str, Any], code_digest: str = "", attempt: str = "",
                  copy_to: str | None = None, title: str = "", step: str = "") -> dict[str, Any]:
    """Called after resume. If the web app recorded the answer (email link), that answer stands;
    otherwise this is an answer from the Prefect UI: recorded now if its answer code (`code_digest`,
    never the code itself) proves who gives it, else refused — returns {REFUSED: reason} then, and the
    Prefect UI shows again who the run waits for. `title` and `step` name the task run only."""
    svc = services()
    now = svc.clock.now()
    task_row = svc.store.get_task(task_id)
    assert task_row is not None
    if task_row.state in ("open", "escalated") and answer:
        if svc.store.refused_answers(task_id) >= MAX_UI_REFUSALS:
            outcome, person = f"refused: {TOO_MANY}", None
        else:
            outcome, task_row, person = svc.store.decide_with_code(
                task_id, code_digest, decision=answer["decision"], comment=answer.get("comment", ""),
                answer={k: v for k, v in answer.items() if k not in ("code", "decided_by")}, now=now,
                refusal=refusal)
        if outcome.startswith("refused"):
            reason = outcome.removeprefix("refused: ")
            svc.store.refuse_answer(task_id, attempt=attempt, reason=reason, person=person,
                                    decision=answer.get("decision"), now=now)
            get_run_logger().warning("Prefect UI answer for %s/%s refused: %s; the step keeps waiting",
                                     task_row.case_no, task_row.step_key, reason)
            show(svc, svc.store.get_task(task_id))
            return {REFUSED: reason}
    elif task_row.state == "decided" and answer and answer.get("decision") != task_row.decision \
            and task_row.decided_via != "ui":
        get_run_logger().warning("Prefect UI answer for %s/%s came after the email answer; "
                                 "the first answer stands", task_row.case_no, task_row.step_key)
    svc.store.mark_resumed(task_id, now)
    show(svc, task_row)
    copy_answer(svc, task_row, copy_to, now)
    return answer_of(task_row)


def answer_of(task_row: HumanTask) -> dict[str, Any]:
    return {**task_row.answer, "decision": task_row.decision, "comment": task_row.comment or "",
            "decided_by": task_row.decided_by or ""}


def acted_on_earlier(store: Store, task: HumanTask | None) -> bool:
    """Decided, the run resumed past it, and a later step of the same run exists: a step of an
    earlier cycle of this run (each resume re-runs the flow from the top)."""
    if task is None or task.state != "decided" or task.resumed_at is None:
        return False
    return any(t.id > task.id and t.flow_run_id == task.flow_run_id for t in store.tasks_of(task.case_no))


def request_decision(req: StepRequest) -> RunInput:
    """Ask, wait without holding a process, and return the typed answer (see module doc). A cycle
    of the step is two task runs: 请求决定 request decision (open, mail, show) and 记录决定 record
    decision; the suspension between them is none."""
    if req.flow_run_id is None:
        req = req.model_copy(update={"flow_run_id": replay.current_run_id()})
    model = ANSWER_MODELS[req.answer_model]
    svc = services()
    store = svc.store
    earlier = store.find_task(req.case_no, req.step_key)
    if acted_on_earlier(store, earlier):
        return model.model_validate(answer_of(earlier))  # two reads, no task runs
    replay.reached_new_step(req.flow_run_id)
    if earlier is not None and earlier.flow_run_id == req.flow_run_id and earlier.state == "decided":
        # answered (by a link) since this run opened it: nothing to ask, only the answer to record
        ref = TaskRef(id=earlier.id, state=earlier.state, assignee=earlier.assignee, created=False)
    else:  # new, or opened before and still open (idempotent: no second email), or another run's
        ref = ask_for_decision(req)
    raw: dict[str, Any] = {}
    while True:
        current = store.get_task(ref.id) if ref.state != "decided" else None
        if current is not None and current.state != "decided":
            key = pause_key(req.step_key, store.refused_answers(current))
            replay.forget(req.flow_run_id)
            raw = svc.human.wait(req, model, current, key=key)  # suspends (tasks/platform/human_steps.py)
            replay.reached_new_step(req.flow_run_id)  # answered in this cycle: the run goes on, not replaying
        else:  # decided (by a link, or before this run came here): the database's answer stands
            key, raw = "", {}
        # the code stays here: the recording task gets its keyed digest only (task inputs are no place for it)
        code = str(raw.pop("code", "") or "")
        code_digest = human_codes.digest(svc.settings.secret_key, ref.id, code) if code else ""
        answer = record_answer(ref.id, raw, code_digest=code_digest, attempt=key,  # records, shows who answered
                               copy_to=None if req.external_assignee else req.copy_to,
                               title=req.title, step=req.step_key)
        if REFUSED not in answer:  # refused: the task run showed again who the run waits for
            return model.model_validate(answer)
        ref = TaskRef(id=ref.id, state=store.get_task(ref.id).state, assignee=ref.assignee, created=False)


def request_decisions(reqs: list[StepRequest]) -> list[RunInput]:
    """Parallel human steps (e.g. several departments at once): every task and its email is
    opened first, then the answers are collected one key after another. An answer that arrives
    while the run waits on another key is kept in the database (the resume finds the run "not
    waiting" on it) and read from there when the run reaches that key: answers in any order all
    complete the step, and no email is sent twice."""
    return [request_decision(r) for r in open_steps(reqs)]


def open_steps(reqs: list[StepRequest]) -> list[StepRequest]:
    """Open several human steps at once (tasks and emails, re-run safe) without waiting on any: the
    caller then waits on them in the order it needs (`request_decision` on each returned request)."""
    run_id = replay.current_run_id()
    reqs = [r if r.flow_run_id else r.model_copy(update={"flow_run_id": run_id}) for r in reqs]
    store = services().store
    new = [r for r in reqs if store.find_task(r.case_no, r.step_key) is None]
    if new:
        ask_for_decisions(new)  # one task run: every task and its email (a re-run from the top: none)
    return reqs


@task(name="请求决定 request decisions", **IO_TASK)
def ask_for_decisions(reqs: list[StepRequest]) -> list[TaskRef]:
    """Parallel steps: open every task with its email (idempotent, as `ask_for_decision`) and deliver
    the outbox once; each step's wait then shows who the run waits for."""
    svc = services()
    opened = [open_task(svc, r) for r in reqs]
    if any(created for _t, created in opened) or svc.store.unsent_count(reqs[0].case_no):
        deliver_now(svc, reqs[0].case_no)
    return [TaskRef(id=t.id, state=t.state, assignee=t.assignee, created=c) for t, c in opened]
