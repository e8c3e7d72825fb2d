"""The database interface. `Store` is the one place that reads and writes the application's tables;
the real store runs on PostgreSQL or a SQLite file, the fake on in-memory SQLite (same code).

Everything that must happen together happens in one transaction here: a case with its audit event
and its flow-run start request; a human task with its email (outbox) and its audit event; a
decision with its event; a reminder with its email."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from hashlib import sha1
from typing import Any, Callable, TypeVar

from sqlalchemy import bindparam, func, or_, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine, select

import models.tables  # noqa: F401 - every table in SQLModel's metadata, for `in_memory`
from models.tables import AnswerCode, Case, Event, FlowStart, HumanTask, OutboxMessage, utcnow
from tasks.platform import procedures
from tasks.platform.human_codes import code_rows
from tasks.platform.mail import Attachment, OutgoingMail
from tasks.platform.store_access import AccessStoreMixin, Filing, on_case
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

T = TypeVar("T", bound=SQLModel)
OPEN_STATES = ("open", "escalated")
# SQLite ≥ 3.35 and PostgreSQL alike; as text, compiled once (the dialects' upsert constructs are not cached)
_NEXT_NUMBER = text("INSERT INTO case_counters (key, value) VALUES (:key, 1) ON CONFLICT (key) "
                    "DO UPDATE SET value = case_counters.value + 1 RETURNING value")

# The statements every human step runs, built once with bound parameters: building a statement and its
# cache key on every call cost as much as running it on SQLite (a task read 0.43 -> 0.24 ms of CPU).
# The hot reads are Core statements over the tables; `_loaded` makes their rows the model objects.
_TASKS, _CASES, _EVENT_ROWS = HumanTask.__table__, Case.__table__, Event.__table__
_TASK = select(_TASKS).where(_TASKS.c.id == bindparam("task_id"))
_TASK_OF_STEP = select(_TASKS).where(_TASKS.c.case_no == bindparam("case_no"), _TASKS.c.step_key == bindparam("step_key"))
_TASKS_OF = select(_TASKS).where(_TASKS.c.case_no == bindparam("case_no")).order_by(_TASKS.c.id)
_CASE_ROW = select(_CASES).where(_CASES.c.case_no == bindparam("case_no"))
_CASE_TO_UPDATE = _CASE_ROW.with_for_update()
_EVENTS = select(_EVENT_ROWS).where(_EVENT_ROWS.c.case_no == bindparam("case_no")).order_by(_EVENT_ROWS.c.id)
_EVENT_OF_KIND = select(Event.id).where(Event.case_no == bindparam("case_no"), Event.kind == bindparam("kind"))
_EVENT_OF_STEP = _EVENT_OF_KIND.where(Event.step_key == bindparam("step_key"))
_REFUSED = select(func.count()).select_from(Event).where(
    Event.case_no == bindparam("case_no"), Event.kind == "answer_refused", Event.step_key == bindparam("step_key"))
_DECIDE = (_TASKS.update().where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.state.in_(OPEN_STATES))
           .values(state="decided", decision=bindparam("b_decision"), comment=bindparam("b_comment"),
                   answer=bindparam("b_answer"), decided_by=bindparam("b_by"), decided_via=bindparam("b_via"),
                   decided_at=bindparam("b_now"))
           .returning(_TASKS))
# The writes of every step as Core statements too: an ORM session's unit of work cost four times a Core
# insert (an event 0.63 -> 0.15 ms of CPU); a step's writes 13.3 -> 6.2 ms (bench/store_writes.py, 2026-11-30)
_OUTBOX = OutboxMessage.__table__
_INSERT_TASK, _INSERT_EVENT, _INSERT_OUTBOX = _TASKS.insert(), _EVENT_ROWS.insert(), _OUTBOX.insert()
_INSERT_CODE = AnswerCode.__table__.insert()
_MARK_RESUMED = (update(HumanTask).where(HumanTask.id == bindparam("task_id"), HumanTask.resumed_at.is_(None))
                 .values(resumed_at=bindparam("b_now")))
_QUEUED = select(_OUTBOX.c.id).where(_OUTBOX.c.dedupe_key == bindparam("dedupe_key"))
_MARK_SENT = (update(OutboxMessage).where(OutboxMessage.id == bindparam("message_id"))
              .values(sent_at=bindparam("b_now"), last_error=None))
_CLAIMABLE = (OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None),
              or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < bindparam("lease_cut")))
# a sender that crashed on its last attempt never released it
_UNRELEASED_LAST = select(OutboxMessage).where(*_CLAIMABLE, OutboxMessage.attempts >= bindparam("max_attempts"))
_ANY_UNRELEASED_LAST = (select(_OUTBOX.c.id).where(*_CLAIMABLE, _OUTBOX.c.attempts >= bindparam("max_attempts"))
                        .limit(1))


def _claim(of_case: bool) -> Any:
    """Claim the oldest claimable messages (of one case) in one statement: the rows still claimable when
    it updates them are this sender's (a row another sender claimed meanwhile no longer matches:
    PostgreSQL re-checks the condition on the updated row, SQLite writes one at a time)."""
    oldest = select(OutboxMessage.id).where(*_CLAIMABLE)
    if of_case:
        oldest = oldest.where(OutboxMessage.case_no == bindparam("b_case_no"))
    oldest = oldest.order_by(OutboxMessage.id).limit(bindparam("limit"))
    return (_OUTBOX.update().where(_OUTBOX.c.id.in_(oldest.scalar_subquery()), *_CLAIMABLE)
            .values(claimed_at=bindparam("b_now"), attempts=_OUTBOX.c.attempts + 1)
            .returning(_OUTBOX))


_CLAIM, _CLAIM_OF_CASE = _claim(False), _claim(True)


class CaseNotFound(LookupError):
    pass


class Store(AccessStoreMixin):
    """The generic store. A procedure's own queries (the customer archive, a complaint's repeat
    lookup) are registered extensions (`Procedure.store_extensions`): their methods are found on the
    store by name, bound to it, as if mixed in."""

    def __init__(self, engine: Engine, *, mail_max_attempts: int = 8, single_connection: bool = False) -> None:
        self.engine = engine
        # attempts before a message is dead-lettered; build_services sets it from the settings
        self.mail_max_attempts = mail_max_attempts
        # the in-memory fake is one shared connection: callers must not use it from parallel threads
        self.single_connection = single_connection

    @classmethod
    def in_memory(cls) -> "Store":
        """The fake: a private in-memory SQLite with the schema created directly."""
        engine = create_engine("sqlite://", connect_args={"check_same_thread": False},
                               poolclass=StaticPool)
        SQLModel.metadata.create_all(engine)
        return cls(engine, single_connection=True)

    def __getattr__(self, name: str) -> Any:
        """A method of a registered store extension, bound to this store."""
        if name.startswith("__"):
            raise AttributeError(name)
        for ext in procedures.store_extensions():
            for klass in ext.__mro__[:-1]:
                if name in klass.__dict__:
                    attr = klass.__dict__[name]
                    return attr.__get__(self, type(self)) if hasattr(attr, "__get__") else attr
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r} (nor any registered store extension)")

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s:
            yield s

    def _write(self, statement: Any, params: dict[str, Any]) -> None:
        """One statement in its own transaction, without an ORM session (a third of the cost of one for
        a single UPDATE by key)."""
        with self.engine.begin() as conn:
            conn.execute(statement, params)

    def _scalar(self, statement: Any, params: dict[str, Any]) -> Any:
        """The first column of the first row of one query (or None), without an ORM session."""
        with self.engine.connect() as conn:
            return conn.execute(statement, params).scalar()

    def _rows(self, model: type[T], statement: Any, params: dict[str, Any]) -> list[T]:
        """The rows of one Core query over `model`'s table as `model` objects (`_loaded`)."""
        with self.engine.connect() as conn:
            return [_loaded(model, row) for row in conn.execute(statement, params).mappings()]

    def _first(self, model: type[T], statement: Any, params: dict[str, Any]) -> T | None:
        """The first row of one Core query over `model`'s table as a `model` object, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(statement, params).mappings().first()
        return None if row is None else _loaded(model, row)

    # ---- cases ---------------------------------------------------------------------
    def _next_number(self, s: Session, prefix: str, year: int) -> str:
        """The next number of this prefix and year, in the caller's transaction: one upsert
        (no read first, no savepoint), so a rolled-back intake uses no number and two concurrent
        ones never get the same."""
        value = s.execute(_NEXT_NUMBER, {"key": f"{prefix}-{year}"}).scalar_one()
        return f"{prefix}-{year}-{value:06d}"

    def create_case(self, *, procedure: str, prefix: str, year: int, state: str, title: str,
                    data: dict[str, Any], requested_by: str | None = None, level: int | None = None,
                    idempotency_key: str | None = None, parent_case_no: str | None = None,
                    actor: str | None = None, now: datetime | None = None,
                    also: Callable[[Session, Case], None] | None = None,
                    request_fingerprint: str | None = None,
                    start: Callable[[Case], FlowStart] | None = None,
                    filed: Filing | None = None) -> tuple[Case, bool]:
        """Create a case with its first audit event and, with `start`, the request to start its
        flow run (delivered by tasks/platform/flow_starts.py), in one transaction. Returns (case, created).
        With an idempotency key, a second call returns the first case and creates nothing (its
        `request_fingerprint`, stored with the first, lets the caller see whether the request was
        the same: webapp/idempotency.py). `filed`: who files it (in the first event); filed with an
        API key, the key is checked live first, in this transaction (KeyRevoked: nothing filed or
        returned)."""
        with self.session() as s:
            if filed is not None and filed.api_key_id is not None:
                self.check_key_in(s, filed.api_key_id, now or utcnow())
            if idempotency_key:
                existing = s.exec(select(Case).where(Case.idempotency_key == idempotency_key)).first()
                if existing:
                    return existing, False
            now = now or utcnow()
            case = Case(case_no=self._next_number(s, prefix, year), procedure=procedure, state=state,
                        title=title, data=data, requested_by=requested_by, level=level,
                        idempotency_key=idempotency_key, parent_case_no=parent_case_no,
                        request_fingerprint=request_fingerprint, created_at=now, updated_at=now)
            s.add(case)
            s.flush()
            _event(s.connection(), case.case_no, "case_created", now, actor=actor or requested_by,
                   data={"state": state, "level": level, "parent": parent_case_no,
                         **(filed.event_data() if filed else {})})
            if also:
                also(s, case)
            if start:
                request = start(case)
                request.case_no, request.created_at, request.next_attempt_at = case.case_no, now, now
                s.add(request)
            _case_hooks(s, case, "case_created", now, new=True)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                if idempotency_key:
                    existing = s.exec(select(Case).where(Case.idempotency_key == idempotency_key)).one()
                    return existing, False
                raise
            return case, True

    def get_case(self, case_no: str) -> Case:
        case = self._first(Case, _CASE_ROW, {"case_no": case_no})
        if case is None:
            raise CaseNotFound(case_no)
        return case

    def set_flow_run(self, case_no: str, flow_run_id: str) -> None:
        with self.session() as s:
            s.execute(update(Case).where(Case.case_no == case_no).values(flow_run_id=flow_run_id))
            s.commit()

    def open_cases_with_run(self) -> list[Case]:
        with self.session() as s:
            return list(s.exec(select(Case).where(Case.flow_run_id.is_not(None), Case.closed_at.is_(None))
                               .order_by(Case.id)).all())

    def count_events(self, case_no: str, kind: str) -> int:
        with self.session() as s:
            return int(s.exec(select(func.count()).select_from(Event)
                              .where(Event.case_no == case_no, Event.kind == kind)).one())

    def flagged_open_cases(self) -> list[str]:
        """Open cases whose run the watchdog gave up restarting (tasks/platform/run_audit.py)."""
        with self.session() as s:
            return sorted(set(s.exec(select(Event.case_no).join(Case, Case.case_no == Event.case_no)
                                     .where(Event.kind == "run_flagged", Case.closed_at.is_(None))).all()))

    def update_case(self, case_no: str, *, actor: str | None, kind: str, now: datetime,
                    state: str | None = None, level: int | None = None,
                    data: dict[str, Any] | None = None, closed: bool = False,
                    event_data: dict[str, Any] | None = None) -> Case:
        """Change a case and append the event, together. Idempotent for an unchanged state."""
        with self.engine.begin() as conn:
            case = _loaded(Case, conn.execute(_CASE_TO_UPDATE, {"case_no": case_no}).mappings().one())
            changes: dict[str, Any] = {}
            values: dict[str, Any] = {"updated_at": now}
            if state is not None and state != case.state:
                changes["state"] = (case.state, state)
                case.state = values["state"] = state
            if level is not None and level != case.level:
                changes["level"] = (case.level, level)
                case.level = values["level"] = level
            if data:
                case.data = values["data"] = {**case.data, **data}
            if closed and case.closed_at is None:
                case.closed_at = values["closed_at"] = now
            case.updated_at = now
            conn.execute(_CASES.update().where(_CASES.c.id == case.id).values(values))
            _event(conn, case_no, kind, now, actor=actor,
                   data={**(event_data or {}), **{k: list(v) for k, v in changes.items()}})
            _case_hooks(conn, case, kind, now)
        return case

    def update_case_once(self, case_no: str, *, kind: str, **kw: Any) -> bool:
        """`update_case` unless an event of this kind was already recorded for the case: a flow
        re-run from the top after a resume must not set the case back to an earlier state nor
        repeat its events. Returns whether it recorded."""
        if self._scalar(_EVENT_OF_KIND, {"case_no": case_no, "kind": kind}) is not None:
            return False
        self.update_case(case_no, kind=kind, **kw)
        return True

    def list_cases(self, *, state: str | None = None, level: int | None = None,
                   procedure: str | None = None, limit: int = 50, offset: int = 0,
                   people: Sequence[str] | None = None) -> tuple[int, list[Case]]:
        """Cases, newest first; with `people`, only those any of them is on (C24 need-to-know)."""
        with self.session() as s:
            q = select(Case)
            cq = select(func.count()).select_from(Case)
            for cond in (on_case(people) if people is not None else None,
                         (Case.state == state) if state else None,
                         (Case.level == level) if level is not None else None,
                         (Case.procedure == procedure) if procedure else None):
                if cond is not None:
                    q, cq = q.where(cond), cq.where(cond)
            total = s.exec(cq).one()
            items = list(s.exec(q.order_by(Case.id.desc()).offset(offset).limit(limit)).all())
            return int(total), items

    def cases_without_start(self, older_than: datetime, procedures: Sequence[str]) -> list[Case]:
        """Open cases of these procedures with neither a flow run nor a start request (filed before
        start requests were stored with the case, revision 0006)."""
        with self.session() as s:
            has_request = select(FlowStart.id).where(FlowStart.case_no == Case.case_no).exists()
            return list(s.exec(select(Case).where(
                Case.flow_run_id.is_(None), Case.closed_at.is_(None), Case.created_at <= older_than,
                Case.procedure.in_(list(procedures)), ~has_request).order_by(Case.id)).all())

    # ---- flow-run start requests ------------------------------------------------------
    def add_flow_start(self, request: FlowStart, now: datetime) -> bool:
        """Store a start request for a case that has none. Returns True if stored now."""
        with self.session() as s:
            if s.exec(select(FlowStart.id).where(FlowStart.case_no == request.case_no)).first():
                return False
            request.created_at, request.next_attempt_at = now, now
            s.add(request)
            try:
                s.commit()
            except IntegrityError:
                s.rollback()
                return False
            return True

    def flow_start_of(self, case_no: str) -> FlowStart | None:
        with self.session() as s:
            return s.exec(select(FlowStart).where(FlowStart.case_no == case_no)).first()

    def claim_flow_starts(self, now: datetime, *, lease: timedelta, limit: int = 50,
                          case_no: str | None = None) -> list[FlowStart]:
        """Claim due start requests: each claimed row's next attempt moves to `now + lease`, so no
        other dispatcher takes it meanwhile (and a crashed dispatcher's rows are due again after
        the lease). Two dispatchers never claim the same row at once."""
        with self.session() as s:
            q = select(FlowStart.id).where(FlowStart.started_at.is_(None), FlowStart.next_attempt_at <= now)
            if case_no:
                q = q.where(FlowStart.case_no == case_no)
            ids = list(s.exec(q.order_by(FlowStart.next_attempt_at, FlowStart.id).limit(limit)).all())
            if not ids:
                return []
            claimed = list(s.execute(
                update(FlowStart).where(FlowStart.id.in_(ids), FlowStart.started_at.is_(None),
                                        FlowStart.next_attempt_at <= now)
                .values(next_attempt_at=now + lease, attempts=FlowStart.attempts + 1)
                .returning(FlowStart.id)).scalars().all())
            s.commit()
            if not claimed:
                return []
            return list(s.exec(select(FlowStart).where(FlowStart.id.in_(claimed)).order_by(FlowStart.id)).all())

    def flows_started(self, started: Sequence[tuple[int, str, str]], now: datetime) -> None:
        """(request id, case number, run id) of runs that exist: on their requests and cases, in one
        transaction of two batched UPDATEs (a dispatcher's bulk start of 50 runs: one commit, not 50)."""
        if not started:
            return
        requests, cases = FlowStart.__table__, Case.__table__
        with self.session() as s:
            conn = s.connection()
            conn.execute(requests.update().where(requests.c.id == bindparam("request_id"))
                         .values(started_at=now, flow_run_id=bindparam("run_id"), last_error=None),
                         [{"request_id": r, "run_id": run} for r, _case, run in started])
            conn.execute(cases.update().where(cases.c.case_no == bindparam("number"))
                         .values(flow_run_id=bindparam("run_id")),
                         [{"number": case, "run_id": run} for _r, case, run in started])
            s.commit()

    def flow_start_failed(self, request_id: int, error: str, next_attempt_at: datetime) -> None:
        with self.session() as s:
            s.execute(update(FlowStart).where(FlowStart.id == request_id, FlowStart.started_at.is_(None))
                      .values(last_error=error[:2000], next_attempt_at=next_attempt_at))
            s.commit()

    def pending_flow_starts(self, now: datetime | None = None) -> dict[str, Any]:
        """For /healthz: start requests not yet delivered — how many, the oldest's age in seconds,
        how many have failed at least once, and the oldest's last error."""
        now = now or utcnow()
        with self.session() as s:
            pending = FlowStart.started_at.is_(None)
            count, oldest = s.execute(select(func.count(), func.min(FlowStart.created_at)).where(pending)).one()
            failing = s.execute(select(func.count()).where(pending, FlowStart.last_error.is_not(None))).scalar_one()
            last_error = s.exec(select(FlowStart.last_error).where(pending)
                                .order_by(FlowStart.created_at, FlowStart.id).limit(1)).first()
        return {"count": int(count), "oldest_age_seconds": _age(oldest, now), "failing": int(failing),
                "oldest_last_error": last_error}

    def children_of(self, case_no: str) -> list[str]:
        with self.session() as s:
            return list(s.exec(select(Case.case_no).where(Case.parent_case_no == case_no)
                               .order_by(Case.id)).all())

    def events(self, case_no: str) -> list[Event]:
        return self._rows(Event, _EVENTS, {"case_no": case_no})

    def add_event(self, case_no: str, kind: str, *, actor: str | None = None, now: datetime,
                  step_key: str | None = None, data: dict[str, Any] | None = None) -> None:
        with self.engine.begin() as conn:
            _event(conn, case_no, kind, now, actor=actor, step_key=step_key, data=data)

    def add_event_once(self, case_no: str, kind: str, *, now: datetime, actor: str | None = None,
                       step_key: str | None = None, data: dict[str, Any] | None = None) -> bool:
        """Append an event unless one of this kind (and step) exists: for re-run safe steps."""
        with self.engine.begin() as conn:
            q, params = _EVENT_OF_KIND, {"case_no": case_no, "kind": kind}
            if step_key is not None:
                q, params = _EVENT_OF_STEP, params | {"step_key": step_key}
            if conn.execute(q, params).first() is not None:
                return False
            _event(conn, case_no, kind, now, actor=actor, step_key=step_key, data=data)
            return True

    # ---- human tasks ---------------------------------------------------------------
    def get_task(self, task_id: int) -> HumanTask | None:
        return self._first(HumanTask, _TASK, {"task_id": task_id})

    def find_task(self, case_no: str, step_key: str) -> HumanTask | None:
        return self._first(HumanTask, _TASK_OF_STEP, {"case_no": case_no, "step_key": step_key})

    def tasks_of(self, case_no: str) -> list[HumanTask]:
        return self._rows(HumanTask, _TASKS_OF, {"case_no": case_no})

    def ensure_task(self, task: HumanTask, render: Callable[[HumanTask], Sequence[OutgoingMail]],
                    now: datetime) -> tuple[HumanTask, bool]:
        """Create the task, its email(s) and its event in one transaction — or, if the task for this
        case + step already exists, return it and write nothing (no second email, ever). An open task
        asked again by another run of the case (the watchdog replaced a lost run) is adopted by that run,
        so the answer resumes the run that waits for it."""
        existing = self.find_task(task.case_no, task.step_key)
        if existing:
            if (existing.decided_at is None and task.flow_run_id
                    and existing.flow_run_id != task.flow_run_id):
                with self.session() as s:
                    s.execute(update(HumanTask).where(HumanTask.id == existing.id, HumanTask.decided_at.is_(None))
                              .values(flow_run_id=task.flow_run_id))
                    s.commit()
                existing = self.find_task(task.case_no, task.step_key)
            return existing, False
        try:
            with self.engine.begin() as conn:
                task.id = conn.execute(_INSERT_TASK, _values(task)).inserted_primary_key[0]
                mails = list(render(task))
                _queue(conn, [(f"task:{task.id}:ask:{i}", mail) for i, mail in enumerate(mails)], task.case_no, now)
                _event(conn, task.case_no, "task_created", now, actor=task.requested_by, step_key=task.step_key,
                       data={"role": task.role, "assignee": task.assignee,
                             "due_at": task.due_at.isoformat() if task.due_at else None})
        except IntegrityError:  # another run opened it meanwhile
            task.id = None
            found = self.find_task(task.case_no, task.step_key)
            if found is None:
                raise
            return found, False
        return task, True

    def decide(self, task_id: int, *, decision: str, comment: str, answer: dict[str, Any], by: str,
               via: str, now: datetime) -> tuple[bool, HumanTask]:
        """Record the first valid answer. Returns (won, task): won is False if it was already decided."""
        with self.engine.begin() as conn:
            row = conn.execute(_DECIDE, {"task_id": task_id, "b_decision": decision, "b_comment": comment,
                                         "b_answer": answer, "b_by": by, "b_via": via, "b_now": now}).mappings().first()
            if row is not None:  # this answer is the first (committed as the block ends)
                _event(conn, row["case_no"], "task_decided", now, actor=by, step_key=row["step_key"],
                       data={"decision": decision, "comment": comment, "via": via, "answer": answer})
                return True, _loaded(HumanTask, row)
        task = self.get_task(task_id)
        assert task is not None
        return False, task

    def decide_with_code(self, task_id: int, code_hash: str, *, decision: str, comment: str,
                         answer: dict[str, Any], now: datetime,
                         refusal: Callable[[HumanTask, str], str | None]) -> tuple[str, HumanTask, str | None]:
        """A Prefect UI answer with its one-time code (tasks/platform/human_codes.py), in one transaction:
        the code must be one issued for this task and unused, the task open, and the person it was
        issued to allowed to decide (`refusal`, the links' rule). Returns (outcome, task, person):
        outcome "decided" (recorded via=ui by that person, the code used up), "already" (the task was
        decided or cancelled before: nothing written) or "refused: <reason>" (nothing written; the
        caller records the refusal)."""
        with self.session() as s:
            task = s.get(HumanTask, task_id)
            assert task is not None
            if task.state not in OPEN_STATES:
                return "already", task, None
            code = s.exec(select(AnswerCode).where(AnswerCode.task_id == task_id,
                                                   AnswerCode.code_hash == code_hash)).first() if code_hash else None
            if code is None:
                return "refused: wrong or missing answer code", task, None
            if code.used_at is not None:
                return "refused: the answer code was used before", task, code.person
            reason = refusal(task, code.person)
            if reason:
                return f"refused: {reason}", task, code.person
            used = s.execute(update(AnswerCode).where(AnswerCode.id == code.id, AnswerCode.used_at.is_(None))
                             .values(used_at=now))
            res = s.execute(
                update(HumanTask)
                .where(HumanTask.id == task_id, HumanTask.state.in_(OPEN_STATES))
                .values(state="decided", decision=decision, comment=comment, answer=answer,
                        decided_by=code.person, decided_via="ui", decided_at=now))
            if used.rowcount != 1 or res.rowcount != 1:
                s.rollback()
                task = s.get(HumanTask, task_id)
                return ("already" if task.state not in OPEN_STATES
                        else "refused: the answer code was used before"), task, code.person
            s.add(Event(case_no=task.case_no, at=now, kind="task_decided", actor=code.person,
                        step_key=task.step_key,
                        data={"decision": decision, "comment": comment, "via": "ui", "answer": answer}))
            s.commit()
            s.refresh(task)
            return "decided", task, code.person

    def refuse_answer(self, task_id: int, *, attempt: str, reason: str, person: str | None,
                      decision: str | None, now: datetime) -> bool:
        """Record a refused answer (event `answer_refused`: the reason, never the code), once per
        attempt (the pause key it came with: a re-run of the flow finds it recorded)."""
        with self.session() as s:
            task = s.get(HumanTask, task_id)
            assert task is not None
            for data in s.exec(select(Event.data).where(Event.case_no == task.case_no, Event.kind == "answer_refused",
                                                        Event.step_key == task.step_key)).all():
                if data.get("attempt") == attempt:
                    return False
            s.add(Event(case_no=task.case_no, at=now, kind="answer_refused", actor=person, step_key=task.step_key,
                        data={"reason": reason, "via": "ui", "attempt": attempt, "decision": decision}))
            s.commit()
            return True

    def refused_answers(self, task: int | HumanTask) -> int:
        """How many answers to this task (its id, or the row read already) were refused (each made the
        run suspend again)."""
        if isinstance(task, int):
            task = self.get_task(task)
        if task is None:
            return 0
        return int(self._scalar(_REFUSED, {"case_no": task.case_no, "step_key": task.step_key}))

    def answer_codes(self, task_id: int) -> list[AnswerCode]:
        with self.session() as s:
            return list(s.exec(select(AnswerCode).where(AnswerCode.task_id == task_id)
                               .order_by(AnswerCode.id)).all())

    def mark_resumed(self, task_id: int, now: datetime) -> None:
        self._write(_MARK_RESUMED, {"task_id": task_id, "b_now": now})

    def cancel_open_tasks(self, case_no: str, now: datetime, actor: str | None = None) -> int:
        with self.session() as s:
            res = s.execute(update(HumanTask).where(HumanTask.case_no == case_no,
                                                    HumanTask.state.in_(OPEN_STATES))
                            .values(state="cancelled"))
            if res.rowcount:
                s.add(Event(case_no=case_no, at=now, kind="tasks_cancelled", actor=actor,
                            data={"count": res.rowcount}))
            s.commit()
            return res.rowcount

    def tasks_to_remind(self, now: datetime) -> list[HumanTask]:
        with self.session() as s:
            return list(s.exec(select(HumanTask).where(
                HumanTask.state == "open", HumanTask.reminded_at.is_(None),
                HumanTask.remind_at.is_not(None), HumanTask.remind_at <= now)).all())

    def tasks_to_escalate(self, now: datetime) -> list[HumanTask]:
        with self.session() as s:
            return list(s.exec(select(HumanTask).where(
                HumanTask.state == "open", HumanTask.due_at.is_not(None), HumanTask.due_at <= now)).all())

    def tasks_to_resume(self, older_than: datetime) -> list[HumanTask]:
        with self.session() as s:
            return list(s.exec(select(HumanTask).where(
                HumanTask.state == "decided", HumanTask.resumed_at.is_(None),
                HumanTask.flow_run_id.is_not(None), HumanTask.decided_at <= older_than)).all())

    def remind(self, task: HumanTask, mails: Sequence[OutgoingMail], now: datetime) -> bool:
        """Mark one reminder (催办) and queue its email, once."""
        with self.session() as s:
            res = s.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "open",
                                                    HumanTask.reminded_at.is_(None))
                            .values(reminded_at=now))
            if res.rowcount != 1:
                s.rollback()
                return False
            conn = s.connection()
            _queue(conn, [(f"task:{task.id}:remind:{i}", mail) for i, mail in enumerate(mails)], task.case_no, now)
            _event(conn, task.case_no, "task_reminded", now, actor="watchdog", step_key=task.step_key,
                   data={"to": task.assignee})
            s.commit()
            return True

    def escalate(self, task: HumanTask, superior: str, mails: Sequence[OutgoingMail],
                 now: datetime) -> bool:
        """Escalate an overdue task to the assignee's superior, once; both may then answer."""
        with self.session() as s:
            res = s.execute(update(HumanTask).where(HumanTask.id == task.id, HumanTask.state == "open")
                            .values(state="escalated", escalated_to=superior, escalated_at=now))
            if res.rowcount != 1:
                s.rollback()
                return False
            conn = s.connection()
            _queue(conn, [(f"task:{task.id}:escalate:{i}", mail) for i, mail in enumerate(mails)], task.case_no, now)
            _event(conn, task.case_no, "task_escalated", now, actor="watchdog", step_key=task.step_key,
                   data={"from": task.assignee, "to": superior})
            s.commit()
            return True

    # ---- outbox --------------------------------------------------------------------
    def queue_mail(self, dedupe_key: str, case_no: str | None, mail: OutgoingMail, now: datetime,
                   event: tuple[str, dict[str, Any]] | None = None) -> bool:
        """Queue one message unless this key was queued before. Returns True if queued now."""
        try:
            with self.engine.begin() as conn:
                if conn.execute(_QUEUED, {"dedupe_key": dedupe_key}).first():
                    return False
                _queue(conn, [(dedupe_key, mail)], case_no, now)
                if event and case_no:
                    _event(conn, case_no, event[0], now, actor="system", data=event[1])
                    for hook in procedures.mail_event_hooks():  # e.g. a complaint's statistics row
                        hook(conn, case_no, event[0], now)
        except IntegrityError:  # queued by another sender meanwhile
            return False
        return True

    def claim_unsent(self, now: datetime, *, case_no: str | None = None, limit: int = 50,
                     lease: timedelta = timedelta(minutes=2)) -> list[OutboxMessage]:
        """Claim unsent messages for delivery (a claim expires after `lease`, so a crashed sender's
        messages are taken up again; two live senders never send the same message)."""
        last = {"lease_cut": now - lease, "max_attempts": self.mail_max_attempts}
        if self._scalar(_ANY_UNRELEASED_LAST, last) is not None:
            with self.session() as s:
                # a sender that crashed on its last attempt never released it: dead-lettered here
                for row in s.exec(_UNRELEASED_LAST, params=last).all():
                    self._dead_letter(s, row, now, row.last_error or "sender did not finish its last attempt")
                s.commit()
        params = {"lease_cut": now - lease, "limit": limit, "b_now": now}
        with self.engine.begin() as conn:
            rows = conn.execute(_CLAIM_OF_CASE if case_no else _CLAIM,
                                params | ({"b_case_no": case_no} if case_no else {})).mappings().all()
        return sorted((_loaded(OutboxMessage, r) for r in rows), key=lambda m: m.id)

    def mark_sent(self, message_id: int, now: datetime) -> None:
        self._write(_MARK_SENT, {"message_id": message_id, "b_now": now})

    def release(self, message_id: int, error: str, now: datetime | None = None) -> bool:
        """A failed attempt: the message waits for the next one — or, after `mail_max_attempts`, is
        dead-lettered (an event on its case, `dead_letter_count`), never tried again. Returns
        whether it was dead-lettered."""
        with self.session() as s:
            row = s.get(OutboxMessage, message_id)
            if row is None or row.sent_at is not None or row.dead_at is not None:
                return False
            if row.attempts >= self.mail_max_attempts:
                self._dead_letter(s, row, now or utcnow(), error)
                s.commit()
                return True
            s.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                      .values(claimed_at=None, last_error=error[:2000]))
            s.commit()
            return False

    def _dead_letter(self, s: Session, row: OutboxMessage, now: datetime, error: str) -> None:
        row.dead_at, row.claimed_at, row.last_error = now, None, error[:2000]
        s.add(row)
        if row.case_no:
            s.add(Event(case_no=row.case_no, at=now, kind="mail_dead_lettered", actor="system",
                        data={"to": row.to.split(","), "subject": row.subject, "attempts": row.attempts,
                              "error": error[:500], "key": row.dedupe_key}))

    def dead_letter_count(self) -> int:
        """Messages given up on (for /healthz): each is an event `mail_dead_lettered` on its case."""
        with self.session() as s:
            return int(s.exec(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.dead_at.is_not(None))).one())

    def unsent_count(self, case_no: str | None = None) -> int:
        with self.session() as s:
            q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
            if case_no:
                q = q.where(OutboxMessage.case_no == case_no)
            return int(s.exec(q).one())

    def outbox_backlog(self) -> tuple[int, datetime | None]:
        """Undelivered messages still to be tried: how many, and when the oldest was queued."""
        with self.session() as s:
            count, oldest = s.exec(select(func.count(), func.min(OutboxMessage.created_at))
                                   .where(OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None))).one()
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=timezone.utc)
            return int(count), oldest

    def ping(self) -> None:
        with self.session() as s:
            s.exec(select(1)).one()


def _age(oldest: datetime | str | None, now: datetime) -> float | None:
    """Seconds since `oldest` (an aggregate bypasses the column type: SQLite answers naive UTC text)."""
    if oldest is None:
        return None
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)
    return round(max(0.0, (now - oldest).total_seconds()), 3)


def _loaded(model: type[T], row: Any) -> T:
    """A row as the object an ORM session returns and then lets go of (every column loaded, detached, with
    its identity), built as the ORM builds it but without a session (a task read by id 0.28 -> 0.15 ms of CPU,
    by step 0.30 -> 0.18 ms: median of 5 x 1000 reads, 2026-11-30)."""
    mapper = model.__mapper__
    if not mapper.configured:  # as a session's first query would (a fresh process reading before any ORM use)
        configure_mappers()
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(row)
    make_transient_to_detached(obj)
    return obj


def _case_hooks(s: Connection | Session, case: Case, kind: str, now: datetime, new: bool = False) -> None:
    """The registered hooks (`Procedure.case_hooks`), in the transaction of the change to the case."""
    for hook in procedures.case_hooks():
        hook(s, case, kind, now, new)


def _values(obj: SQLModel) -> dict[str, Any]:
    """A model object's columns, for a Core insert of its row: an id not yet given, or a column with a default
    left unset, is left to the database and the column's default (as the ORM's insert does)."""
    values = {}
    for c in obj.__table__.columns:
        value = getattr(obj, c.key, None)
        if value is not None or not (c.primary_key or c.default is not None):
            values[c.key] = value
    return values


def _event(conn: Connection, case_no: str, kind: str, at: datetime, *, actor: str | None = None,
           step_key: str | None = None, data: dict[str, Any] | None = None) -> None:
    """Append an audit event in the caller's transaction."""
    conn.execute(_INSERT_EVENT, {"case_no": case_no, "at": at, "kind": kind, "actor": actor,
                                 "step_key": step_key, "data": data or {}})


def _queue(conn: Connection, mails: Sequence[tuple[str, OutgoingMail]], case_no: str | None, now: datetime) -> None:
    """Write (key, email) pairs to the outbox in the caller's transaction, with the answer codes they print."""
    if not mails:
        return
    conn.execute(_INSERT_OUTBOX, [_outbox_values(key, case_no, mail, now) for key, mail in mails])
    codes = code_rows([mail for _key, mail in mails])
    if codes:
        conn.execute(_INSERT_CODE, [_values(c) for c in codes])


def _outbox_values(key: str, case_no: str | None, mail: OutgoingMail, now: datetime) -> dict[str, Any]:
    return {"dedupe_key": key, "case_no": case_no, "to": ",".join(mail.to), "subject": mail.subject,
            "text": mail.text, "html": mail.html,
            "attachments": [a.model_dump() for a in mail.attachments]
            + [{**img.model_dump(), "cid": cid} for cid, img in mail.inline_images.items()],
            "created_at": now, "claimed_at": None, "sent_at": None, "attempts": 0, "last_error": None,
            "dead_at": None}


def _outbox_row(key: str, case_no: str | None, mail: OutgoingMail, now: datetime) -> OutboxMessage:
    return OutboxMessage(**_outbox_values(key, case_no, mail, now))


def outbox_to_mail(row: OutboxMessage) -> OutgoingMail:
    return OutgoingMail(to=row.to.split(","), subject=row.subject, text=row.text, html=row.html,
                        message_id=f"<kefu-{row.id}-{sha1(row.dedupe_key.encode()).hexdigest()[:12]}@kefu.local>",
                        attachments=[Attachment(**a) for a in row.attachments if not a.get("cid")],
                        inline_images={a["cid"]: Attachment(**a) for a in row.attachments if a.get("cid")})
