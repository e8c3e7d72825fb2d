"""The application's own tables (SQLModel). Alembic migrations in `models/migrations` create them.

Times are stored as timezone-aware UTC datetimes; they are shown in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, Column, Date, DateTime, Index, Numeric, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out — also on SQLite, which keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _dt(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class Case(SQLModel, table=True):
    """One case of any procedure (complaint, sample request, correction, …)."""

    __tablename__ = "cases"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(index=True, unique=True, max_length=32)
    procedure: str = Field(index=True, max_length=32)  # complaint / sample_request / …
    state: str = Field(index=True, max_length=32)
    level: Optional[int] = Field(default=None, index=True)
    title: str = Field(default="", max_length=200)
    requested_by: Optional[str] = Field(default=None, max_length=200)
    flow_run_id: Optional[str] = Field(default=None, max_length=64)
    idempotency_key: Optional[str] = Field(default=None, unique=True, max_length=200)
    # sha-256 of the canonical request body filed under an API Idempotency-Key (webapp/idempotency.py)
    request_fingerprint: Optional[str] = Field(default=None, max_length=64)
    parent_case_no: Optional[str] = Field(default=None, index=True, max_length=32)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _dt(nullable=False, default=utcnow)
    updated_at: datetime = _dt(nullable=False, default=utcnow)
    closed_at: Optional[datetime] = _dt(nullable=True)


class CaseCounter(SQLModel, table=True):
    """Sequence per case-number prefix and year (TS-2026-…)."""

    __tablename__ = "case_counters"
    key: str = Field(primary_key=True, max_length=32)
    value: int = 0


class HumanTask(SQLModel, table=True):
    """A decision asked of a person. One row per case + step key."""

    __tablename__ = "human_tasks"
    __table_args__ = (UniqueConstraint("case_no", "step_key", name="uq_task_case_step"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(index=True, max_length=32)
    step_key: str = Field(max_length=80)
    title: str = Field(default="", max_length=200)
    role: str = Field(max_length=40)
    assignee: str = Field(index=True, max_length=200)
    requested_by: Optional[str] = Field(default=None, max_length=200)
    escalate_to: Optional[str] = Field(default=None, max_length=200)  # default: the assignee's superior
    recused: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flow_run_id: Optional[str] = Field(default=None, max_length=64)
    answer_model: str = Field(default="Decision", max_length=80)
    choices: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _dt(nullable=False, default=utcnow)
    remind_at: Optional[datetime] = _dt(nullable=True)
    due_at: Optional[datetime] = _dt(nullable=True)
    state: str = Field(default="open", index=True, max_length=16)  # open/decided/escalated/cancelled
    escalated_to: Optional[str] = Field(default=None, max_length=200)
    reminded_at: Optional[datetime] = _dt(nullable=True)
    escalated_at: Optional[datetime] = _dt(nullable=True)
    decision: Optional[str] = Field(default=None, max_length=40)
    comment: Optional[str] = None
    answer: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decided_by: Optional[str] = Field(default=None, max_length=200)
    decided_via: Optional[str] = Field(default=None, max_length=16)  # email / ui
    decided_at: Optional[datetime] = _dt(nullable=True)
    resumed_at: Optional[datetime] = _dt(nullable=True)


class AnswerCode(SQLModel, table=True):
    """A one-time answer code printed in a request email (ask, reminder, escalation) for one person
    and one task: the proof a Prefect UI answer carries (tasks/platform/human_codes.py). Only its keyed hash
    is stored; it is good while the task is open, once."""

    __tablename__ = "answer_codes"
    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(index=True)
    person: str = Field(max_length=200)
    code_hash: str = Field(max_length=64, index=True)
    purpose: str = Field(default="ask", max_length=16)  # ask / remind / escalate
    issued_at: datetime = _dt(nullable=False, default=utcnow)
    used_at: Optional[datetime] = _dt(nullable=True)


class ApiKey(SQLModel, table=True):
    """A system's key to the intake API (issue 24): only its SHA-256 is stored (models/access.py says
    why), with the scopes it may use; revoked, never deleted (the audit trail names it)."""

    __tablename__ = "api_keys"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    key_hash: str = Field(unique=True, max_length=64)
    # the key's first characters, to tell keys apart in `kefu apikey list` (never enough to use it)
    hint: str = Field(max_length=16)
    scopes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _dt(nullable=False, default=utcnow)
    created_by: str = Field(default="", max_length=200)
    # a key bound to a person (`kefu apikey create --person`) files as that person only; None: a
    # system key, which may name any holder of the endpoint's role (webapp/auth.py `filer_for`)
    person: Optional[str] = Field(default=None, max_length=200)
    last_used_at: Optional[datetime] = _dt(nullable=True)
    revoked_at: Optional[datetime] = _dt(nullable=True)


class StaffPassword(SQLModel, table=True):
    """A staff member's local password (the embedded sign-in; people come from the org directory):
    its argon2id hash, and the failed attempts that lock the sign-in for a while."""

    __tablename__ = "staff_passwords"
    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(unique=True, max_length=200)
    password_hash: str = Field(max_length=200)
    set_at: datetime = _dt(nullable=False, default=utcnow)
    failed_attempts: int = 0
    locked_until: Optional[datetime] = _dt(nullable=True)


class StaffSession(SQLModel, table=True):
    """A signed-in staff member. The signed session cookie holds a random id; only its SHA-256 is
    stored, so a session ends on sign-out (or a new password) whatever the cookie says."""

    __tablename__ = "staff_sessions"
    id: Optional[int] = Field(default=None, primary_key=True)
    sid_hash: str = Field(unique=True, max_length=64)
    email: str = Field(index=True, max_length=200)
    via: str = Field(max_length=16)  # password / oidc
    created_at: datetime = _dt(nullable=False, default=utcnow)
    expires_at: datetime = _dt(nullable=False, index=True)  # expired rows are deleted (remove_dead_sessions)
    ended_at: Optional[datetime] = _dt(nullable=True)


class Event(SQLModel, table=True):
    """Append-only audit trail: every state change of every case."""

    __tablename__ = "events"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(index=True, max_length=32)
    at: datetime = _dt(nullable=False, default=utcnow)
    kind: str = Field(max_length=60)
    actor: Optional[str] = Field(default=None, max_length=200)
    step_key: Optional[str] = Field(default=None, max_length=80)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class OutboxMessage(SQLModel, table=True):
    """Transactional outbox: written with the row it belongs to, delivered exactly once."""

    __tablename__ = "outbox"
    id: Optional[int] = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    case_no: Optional[str] = Field(default=None, index=True, max_length=32)
    to: str = Field(max_length=1000)
    subject: str = Field(max_length=300)
    text: str
    html: str
    attachments: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _dt(nullable=False, default=utcnow)
    claimed_at: Optional[datetime] = _dt(nullable=True)
    sent_at: Optional[datetime] = _dt(nullable=True, index=True)
    attempts: int = 0
    last_error: Optional[str] = None
    # dead-lettered: not sent after the most attempts allowed (KEFU_MAIL_MAX_ATTEMPTS), never tried again
    dead_at: Optional[datetime] = _dt(nullable=True)


class FlowStart(SQLModel, table=True):
    """A case's flow run to be started: written in the case's own transaction (like the mail outbox),
    delivered by the dispatcher (tasks/platform/flow_starts.py) with Prefect's idempotency key = the case number.

    Pending while `started_at` is empty; a dispatcher claims a row by moving `next_attempt_at` past
    its lease, and a failed attempt moves it on by an exponential back-off."""

    __tablename__ = "flow_starts"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(unique=True, max_length=32)
    deployment: str = Field(max_length=200)  # "flow-name/deployment-name"
    run_name: str = Field(max_length=200)
    tags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    parameters: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = _dt(nullable=False, default=utcnow)
    last_error: Optional[str] = None
    flow_run_id: Optional[str] = Field(default=None, max_length=64)
    created_at: datetime = _dt(nullable=False, default=utcnow)
    started_at: Optional[datetime] = _dt(nullable=True)


class SampleLedgerEntry(SQLModel, table=True):
    """The workshop sample ledger (车间样品台账), P3."""

    __tablename__ = "sample_ledger"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(index=True, unique=True, max_length=32)
    issued_at: datetime = _dt(nullable=False, default=utcnow)
    product: str = Field(max_length=200)
    spec: str = Field(max_length=200)
    size_class: str = Field(max_length=16)
    quantity: int
    weight_kg: Decimal = Field(sa_column=Column(Numeric(12, 3), nullable=False))
    taker: str = Field(max_length=100)
    recorded_by: str = Field(max_length=200)


class PenaltyRecord(SQLModel, table=True):
    """A recorded violation (负激励, C12) of a handler, for the monthly statistics."""

    __tablename__ = "penalties"
    __table_args__ = (UniqueConstraint("case_no", "rule", name="uq_penalty_case_rule"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(index=True, max_length=32)
    handler: str = Field(index=True, max_length=200)
    rule: str = Field(max_length=40)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    reason: str
    at: datetime = _dt(nullable=False, default=utcnow)


class ReceivableExclusion(SQLModel, table=True):
    """R7: an amount excluded from the salesperson's collection-rate figure (by 料号)."""

    __tablename__ = "receivable_exclusions"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(index=True, unique=True, max_length=32)
    complaint_case_no: Optional[str] = Field(default=None, max_length=32)
    salesperson: str = Field(index=True, max_length=200)
    product_code: str = Field(max_length=50)
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    at: datetime = _dt(nullable=False, default=utcnow)


class Customer(SQLModel, table=True):
    """A customer archive record (客户档案, A3): the current version; history in customer_versions.

    ID-card and phone numbers are stored whole (the authorised full read needs them) and are
    masked by every listing, page and email (models.archive.records.masked_record)."""

    __tablename__ = "customers"
    id: Optional[int] = Field(default=None, primary_key=True)
    archive_no: str = Field(index=True, unique=True, max_length=32)
    name: str = Field(index=True, max_length=200)
    customer_class: str = Field(index=True, max_length=32)
    invoicing_name: str = Field(default="", index=True, max_length=200)
    contact_name: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)
    id_card: str = Field(default="", max_length=18)
    legal_representative: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=300)
    registration: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    salesperson: str = Field(default="", index=True, max_length=200)
    version: int = 1
    created_at: datetime = _dt(nullable=False, default=utcnow)
    updated_at: datetime = _dt(nullable=False, default=utcnow)


class CustomerVersion(SQLModel, table=True):
    """Every version of an archive record: who, when, why, before/after, and the approving case."""

    __tablename__ = "customer_versions"
    __table_args__ = (UniqueConstraint("archive_no", "version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    archive_no: str = Field(index=True, max_length=32)
    version: int
    changed_by: str = Field(max_length=200)
    changed_at: datetime = _dt(nullable=False, default=utcnow)
    reason: str = ""
    source: str = Field(max_length=32)  # import / correction / certification
    case_no: Optional[str] = Field(default=None, index=True, max_length=32)
    before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ArchiveAccess(SQLModel, table=True):
    """查阅登记: every read of a full (unmasked) archive record."""

    __tablename__ = "archive_access_log"
    id: Optional[int] = Field(default=None, primary_key=True)
    archive_no: str = Field(index=True, max_length=32)
    reader: str = Field(max_length=200)
    role: str = Field(max_length=40)
    purpose: str = ""
    at: datetime = _dt(nullable=False, default=utcnow)


class Transaction(SQLModel, table=True):
    """Transaction history (N1, N2): sales, sample shipments and returns by customer and invoicing name."""

    __tablename__ = "transactions"
    id: Optional[int] = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=64)  # document number, or the case number
    customer: str = Field(index=True, max_length=200)
    invoicing_name: str = Field(index=True, max_length=200)
    on: date = Field(sa_column=Column(Date, nullable=False, index=True))
    amount: Decimal = Field(sa_column=Column(Numeric(14, 2), nullable=False))
    kind: str = Field(index=True, max_length=16)  # sale / sample / return
    case_no: Optional[str] = Field(default=None, index=True, max_length=32)
    created_at: datetime = _dt(nullable=False, default=utcnow)
class ComplaintFact(SQLModel, table=True):
    """One row per complaint: the figures the statistics (§5) group by, as real indexed columns.

    Kept current by the store from the case (`Store.update_case` / `create_case` / notices), so the
    monthly report is a handful of grouped queries, never a load of the cases' JSON."""

    __tablename__ = "complaint_facts"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_no: str = Field(index=True, unique=True, max_length=32)
    parent_case_no: Optional[str] = Field(default=None, max_length=32)
    state: str = Field(max_length=32)
    level: Optional[int] = None
    kind: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    category: str = Field(max_length=16)
    receiver: str = Field(default="", max_length=200)
    handler: Optional[str] = Field(default=None, max_length=200)
    established: Optional[bool] = None
    responsible_department: Optional[str] = Field(default=None, max_length=100)
    our_fault: Optional[bool] = None
    handling: Optional[str] = Field(default=None, max_length=16)
    loss_amount: Optional[Decimal] = Field(default=None, sa_column=Column(Numeric(14, 2), nullable=True))
    satisfaction: Optional[int] = None
    received_at: datetime = _dt(nullable=False, index=True)
    first_contact_due: Optional[datetime] = _dt(nullable=True)
    first_contact_at: Optional[datetime] = _dt(nullable=True)
    plan_due: Optional[datetime] = _dt(nullable=True)
    plan_at: Optional[datetime] = _dt(nullable=True)
    close_due: Optional[datetime] = _dt(nullable=True)
    closed_at: Optional[datetime] = _dt(nullable=True, index=True)
    urge_notice_at: Optional[datetime] = _dt(nullable=True)
    inquiry_notice_at: Optional[datetime] = _dt(nullable=True)
    # C21 hour deadlines (001): due and done, for S1's on-time rates (revision 0009_rules21)
    major_report_due: Optional[datetime] = _dt(nullable=True)
    major_report_at: Optional[datetime] = _dt(nullable=True)
    dept_analysis_due: Optional[datetime] = _dt(nullable=True)
    dept_analysis_at: Optional[datetime] = _dt(nullable=True)
    feedback_due: Optional[datetime] = _dt(nullable=True)
    feedback_at: Optional[datetime] = _dt(nullable=True)
    solution_due: Optional[datetime] = _dt(nullable=True)
    solution_at: Optional[datetime] = _dt(nullable=True)
    # C3 "same customer, same event": the intake's repeat lookup is this index, not a scan of the JSON
    event_key: Optional[str] = Field(default=None, index=True, max_length=32)


# The month's violations are grouped by when they were recorded.
Index("ix_penalties_at", PenaltyRecord.__table__.c.at)
# The dispatcher's query: pending starts whose next attempt is due.
Index("ix_flow_starts_pending", FlowStart.__table__.c.started_at, FlowStart.__table__.c.next_attempt_at)
# Allowances, returns and certifications closed in a month, by procedure.
Index("ix_cases_procedure_closed_at", Case.__table__.c.procedure, Case.__table__.c.closed_at)
