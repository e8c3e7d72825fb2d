"""Flows under test, in-process: a procedure's flow body runs as a real Prefect flow run (Prefect's
test harness, tests/flows/conftest.py) on fake services — the store on a private SQLite, the
recording mailer, a fixed clock that scripted answers move on, the recording flow starts — with the
answers to its human steps scripted by step key.

    office = Office(tmp_path)                          # the fictional company on fakes
    case_no = office.complaint(category="服务行为")     # filed through the real intake (C1–C3)
    run = office.run(complaint, case_no, {
        "intake": ComplaintIntake(decision="stands", level=2),
        "first-contact": answer(FirstContact(contact_note="…"), hours=2),   # two hours later
        "responsible-department": ResponsibleDepartment(department="生产部"),  # its head writes the plan
        "plan-1": InvestigationPlan(…),
        …,
        "outcome": PENDING,                            # the run stops here, waiting
    })
    assert run.steps[:2] == ["intake", "first-contact"] and run.waiting_on == "outcome"
    assert run.mails_to(L2_HANDLER, "转交") and run.case.state == "accepted"

A step the script does not answer fails the test, naming the step. Answers go through the same
bookkeeping as an answer through the emailed link (tasks/platform/human_steps.py `ScriptedAnswers`);
`ui(answer, code=…)` answers as the Prefect UI's resume form does (the code read from the person's
email unless given), through the flow's own check and record path; a list answers successive waits
of one step (after a refused UI answer the step waits again).

Scenarios that differ only from a late step on can share the run up to it, as the served system does
after an answer — Prefect resumes the same flow run and it re-runs from the top, reading the earlier
answers from the database (tasks/replay.py):

    consolidation = prepared("grievance-chain:consolidation",        # once per session (conftest.py)
                             lambda o: o.prepare(grievance, file(o), chain(consolidation=PENDING)))
    run = office.resume(consolidation, chain(consolidation=supplier_liability))
    assert run.steps[0] == "consolidation"                       # this run's steps; earlier ones: consolidation.steps

`test_harness.py` checks that a resumed scenario ends with the same mails, tasks, events and state as the
one run answering every step."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow
from prefect.states import Scheduled

from models.business_days import TZ
from models.settings import Settings
from models.tables import Case, Event, HumanTask
from tasks import replay
from tasks.platform.artifacts import RecordingArtifacts
from tasks.platform.clock import FixedClock
from tasks.platform.flow_runs import RecordingFlowRuns
from tasks.platform.human_steps import PENDING, Asked, ScriptedAnswers, StepPending, UnscriptedStep, answer, ui  # noqa: F401
from tasks.platform.mail import MemoryMailer, OutgoingMail
from tasks.platform.runtime import Services, build_services, use_services
from tests.dbs import fresh_store

# Wednesday 2026-11-25, 10:00 in Shanghai: a business day with business days around it
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)

# who holds which role (deployments/org.yaml)
GM = "wang.jianguo@huajin.example"
DEPUTY_GM = "liu.yang@huajin.example"
L3_SALES_DIRECTOR = "zhao.lei@huajin.example"
L3_ADMIN_DIRECTOR = "qian.hui@huajin.example"
L2_HANDLER = CS_MANAGER = "zhou.min@huajin.example"
L1_HANDLER = RECEIVER = "li.na@huajin.example"
CS_STAFF = "chen.jing@huajin.example"
ARCHIVE_CLERK = "huang.li@huajin.example"
AREA_MANAGER = "ma.chao@huajin.example"
SALES_MANAGER = "sun.qiang@huajin.example"
DEPUTY_SALES_MANAGER = "he.ping@huajin.example"
SALESPERSON = "lin.tao@huajin.example"
MARKET_BRANCH = "wu.jing@huajin.example"
BACK_OFFICE = "zheng.yan@huajin.example"
QUALITY_LEAD = "feng.tao@huajin.example"
WAREHOUSE = "chu.gang@huajin.example"
ACCOUNTING = "wei.li@huajin.example"
MARKETING_LEADER = "jiang.hua@huajin.example"
MARKETING = "yang.mei@huajin.example"
PRODUCTION = "han.xue@huajin.example"
PRODUCTION_HEAD = "shen.bo@huajin.example"
CUSTOMER = "zhang.san@customer.example"


@dataclass
class Run:
    """One in-process run of a flow: what it returned (or the step it waits on) and what it did."""

    office: "Office" = field(repr=False)
    case_no: str
    result: Any
    waiting_on: str | None
    asked: list[Asked] = field(repr=False)
    mails: list[OutgoingMail] = field(repr=False)  # sent during this run
    flow_run_id: str | None = None  # the Prefect flow run (its name, tags and state are on the server)

    @property
    def steps(self) -> list[str]:
        """The step keys the run waited on, in order."""
        return [a.step for a in self.asked]

    def step(self, key: str) -> Asked:
        for a in self.asked:
            if a.step == key:
                return a
        raise AssertionError(f"step {key!r} was not asked; asked: {self.steps}")

    def flow_run(self) -> Any:
        """This run's flow run as the Prefect server has it (its name, tags and state)."""
        with get_client(sync_client=True) as client:
            return client.read_flow_run(UUID(self.flow_run_id))

    def task(self, key: str) -> HumanTask:
        t = self.office.svc.store.find_task(self.case_no, key)
        assert t is not None, f"no task {key!r} on {self.case_no}"
        return t

    @property
    def case(self) -> Case:
        return self.office.svc.store.get_case(self.case_no)

    def events(self, kind: str | None = None) -> list[Event]:
        return [e for e in self.office.svc.store.events(self.case_no) if kind is None or e.kind == kind]

    @property
    def event_kinds(self) -> list[str]:
        return [e.kind for e in self.office.svc.store.events(self.case_no)]

    def mails_to(self, person: str, subject_has: str = "") -> list[OutgoingMail]:
        """The mails of this run to `person` whose subject (or text) contains `subject_has`."""
        return [m for m in self.mails if person in m.to and (subject_has in m.subject or subject_has in m.text)]

    def notices_to(self, person: str, title: str) -> list[OutgoingMail]:
        """The notices (templates/email/notice) of this run to `person` titled exactly `title`, on this
        run's case (the subject names the case)."""
        return [m for m in self.mails if person in m.to and m.subject == f"【通知】{self.case_no} {title}"]


@contextmanager
def _sqlite(store: Any) -> Iterator[sqlite3.Connection]:
    """The in-memory store's own SQLite connection (to copy its database with SQLite's backup)."""
    raw = store.engine.raw_connection()
    try:
        yield raw.driver_connection
    finally:
        raw.close()


def _copied(fake: Any) -> Any:
    """A copy of a recording fake whose lists, dicts and sets are its own (what it recorded so far)."""
    import copy

    new = copy.copy(fake)
    for name, value in vars(fake).items():
        if isinstance(value, (list, dict, set)):
            setattr(new, name, copy.copy(value))
    return new


@dataclass
class Prepared:
    """A case run up to a step and stopped there (`Office.prepare`): what several scenarios go on from."""

    flow: Callable[..., Any]
    case_no: str
    flow_run_id: str
    waiting_on: str
    params: dict[str, Any]
    db: Any  # a copy of the store's database (sqlite3)
    now: datetime
    sent: list[OutgoingMail]
    asked: list[Asked]
    used: set[str]
    flows: RecordingFlowRuns
    artifacts: RecordingArtifacts

    @property
    def steps(self) -> list[str]:
        """The steps asked up to where the case waits (that one last)."""
        return [a.step for a in self.asked]


@dataclass
class Office:
    """The company on fakes, for one test: services built as in production but with the fake
    store, mailer, clock, flow starts and human steps passed in."""

    home: Path
    now: datetime = NOW
    # the copies a procedure issues (C17's five, P4's three) as their text, which scenarios read; "fpdf" for
    # the scenarios that read the PDFs themselves (laying them out was a seventh of the suite's CPU)
    pdf_backend: str = "text"
    svc: Services = field(init=False)

    def __post_init__(self) -> None:
        settings = Settings(env="test", secret_key="fake-secret-key-0123456789abcdef", home=self.home,
                            mail_backend="memory", flow_backend="memory", base_url="http://kefu.test",
                            pdf_backend=self.pdf_backend)
        self.clock = FixedClock(self.now)
        self.mailer = MemoryMailer()
        self.flows = RecordingFlowRuns()
        self.human = ScriptedAnswers()
        self.artifacts = RecordingArtifacts()
        self.svc = build_services(settings, store=fresh_store(), mailer=self.mailer, clock=self.clock,
                                  flows=self.flows, human=self.human, artifacts=self.artifacts)
        self.human.store, self.human.clock = self.svc.store, self.clock

    # ---- running ---------------------------------------------------------------------------
    def run(self, flow: Callable[..., Any], case_no: str, answers: dict[str, Any], *,
            stop_at_unscripted: bool = False, **params: Any) -> Run:
        """Run `flow(case_no)` in-process on this office's services, the human steps answered from
        `answers` (step key -> typed answer, `answer(…, by=, hours=)`, or PENDING). A step without an
        answer fails the test — or, with `stop_at_unscripted`, stops the run there like PENDING (to
        see what a flow asks next without knowing its step key)."""
        return self._run(lambda: flow(case_no, return_state=True, **params), case_no, answers,
                         stop_at_unscripted=stop_at_unscripted)

    def prepare(self, flow: Callable[..., Any], case_no: str, answers: dict[str, Any], **params: Any) -> "Prepared":
        """Run the case up to the step scripted PENDING and keep everything as it is then — the
        database, the mail, the steps asked, the clock, the flow starts and artifacts — for several
        scenarios to go on from (`resume`), as the served run goes on after an answer."""
        run = self.run(flow, case_no, answers, **params)
        assert run.waiting_on, f"the run did not stop at a PENDING step: {run.steps}"
        db = sqlite3.connect(":memory:", check_same_thread=False)
        with _sqlite(self.svc.store) as conn:
            conn.backup(db)
        return Prepared(flow=flow, case_no=case_no, flow_run_id=run.flow_run_id, waiting_on=run.waiting_on,
                        params=params, db=db, now=self.clock.now(), sent=list(self.mailer.sent),
                        asked=list(self.human.asked), used=set(self.human.used),
                        flows=_copied(self.flows), artifacts=_copied(self.artifacts))

    def resume(self, prepared: "Prepared", answers: dict[str, Any], *, stop_at_unscripted: bool = False) -> Run:
        """Go on from a prepared case (this office takes its state) as Prefect resumes a run: the same
        flow run again from the top — the steps answered before are read from the database (two reads,
        no task runs: tasks/replay.py), the step it waited on is answered from `answers`, and so on."""
        with _sqlite(self.svc.store) as conn:
            prepared.db.backup(conn)
        self.clock.at = prepared.now
        self.mailer.sent = list(prepared.sent)
        self.human.asked, self.human.used = list(prepared.asked), set(prepared.used)
        self.flows, self.artifacts = _copied(prepared.flows), _copied(prepared.artifacts)
        self.svc = dataclasses.replace(self.svc, flows=self.flows, artifacts=self.artifacts)
        run_id = prepared.flow_run_id
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(UUID(run_id), Scheduled(name="Resuming"), force=True)
            flow_run = client.read_flow_run(UUID(run_id))
        replay.forget(run_id)
        return self._run(lambda: run_flow(prepared.flow, flow_run=flow_run, return_type="state",
                                          parameters={"case_no": prepared.case_no, **prepared.params}),
                         prepared.case_no, answers, stop_at_unscripted=stop_at_unscripted)

    def _run(self, start: Callable[[], Any], case_no: str, answers: dict[str, Any], *,
             stop_at_unscripted: bool = False) -> Run:
        self.human.script = dict(answers)
        self.human.keys = []  # a list in `answers` scripts the waits of its step in this run
        asked_before, sent_before = len(self.human.asked), len(self.mailer.sent)
        result, waiting, run_id = None, None, None
        with use_services(self.svc):
            try:
                state = start()
                run_id = str(state.state_details.flow_run_id)
                result = state.result()  # the flow's exception, raised again: a wait, an unscripted step, a failure
            except StepPending as stop:
                waiting = stop.step
            except UnscriptedStep:
                if not stop_at_unscripted:
                    raise
                waiting = self.human.asked[-1].step
        return Run(self, case_no, result, waiting, self.human.asked[asked_before:], self.mailer.sent[sent_before:],
                   run_id)

    def edit_org(self, old: str, new: str) -> None:
        """From now on, the org directory is the shipped one with `old` replaced by `new` (e.g. another first
        holder of a role)."""
        from models.org import load_org

        text = self.svc.settings.org_file.read_text(encoding="utf-8")
        assert old in text, f"not in the org directory: {old!r}"
        path = self.home / "org-edited.yaml"
        path.write_text(text.replace(old, new), encoding="utf-8")
        self.svc = dataclasses.replace(self.svc, org=load_org(path))

    def later(self, **delta: float) -> None:
        """Move the clock on (hours=…, days=…)."""
        self.clock.advance(**delta)

    def watchdog(self) -> dict[str, Any]:
        """One pass of the deadline watchdog as of the clock, without talking to Prefect."""
        from tasks.platform.watchdog import sla_check

        with use_services(self.svc):
            return sla_check(self.svc, self.clock.now(), resume=False)

    # ---- filing cases through the real intake ----------------------------------------------
    def complaint(self, *, email: str | None = CUSTOMER, **over: Any) -> str:
        """C1: a complaint received by RECEIVER (l1_handler) now; `over` sets any ComplaintIn field
        (category 服务行为 / emotional proposes level 2; media / hotline_12315 level 3)."""
        from models.complaint.handling import ComplaintIn
        from tasks.complaint.intake import file_complaint

        body = {"complainant": {"name": "张女士", "phone": "13812345678", "email": email},
                "kind": "consumer", "channel": "phone", "category": "维修服务",
                "description": "报修后三天无人上门", "event": {"time": "2026-11-20 09:00", "place": "苏州园区店"},
                "products": [{"name": "精梳棉纱 40S", "code": "CY-40S"}], "demand": "尽快维修",
                "received_by": RECEIVER} | over
        case, _ = file_complaint(self.svc, ComplaintIn.model_validate(body))
        return case.case_no

    def allowance_or_return(self, kind: str = "allowance", amount: str = "3000.00", **over: Any) -> str:
        """R1: an allowance or a return decided outside the system, filed by the salesperson."""
        from models.returns import ReturnRequestIn
        from tasks.returns.intake import file_return

        body = {"kind": kind, "customer": "无锡华美服饰有限公司", "customer_email": CUSTOMER,
                "product_code": "CY-40S", "product_name": "精梳棉纱 40S", "amount": amount,
                "reason": "色差", "salesperson": SALESPERSON} | over
        if kind == "return":
            body.setdefault("quantity", {"value": 100, "unit": "件"})
        case, _ = file_return(self.svc, ReturnRequestIn.model_validate(body))
        return case.case_no

    def customer_on_file(self, archive_no: str = "DA-2026-000001", **over: Any) -> str:
        from models.archive.records import CustomerIn

        row = {"archive_no": archive_no, "name": "甲公司", "customer_class": "enterprise",
               "phone": "13812345678"} | over
        self.svc.store.create_customer(CustomerIn.model_validate(row), by="t", reason="导入", source="import",
                                       now=self.clock.now())
        return archive_no

    def correction(self, **over: Any) -> str:
        """A2 step 1: CS staff's remedy plan for a customer on file (filed if not yet)."""
        from models.archive.corrections import CorrectionIn
        from tasks.archive.intake import file_correction
        from tasks.archive.store import CustomerNotFound

        body = {"archive_no": "DA-2026-000001", "changes": {"phone": "13987654321"}, "reason": "电话变更",
                "drafted_by": CS_STAFF, "departments": ["sales", {"department": "accounting", "due_business_days": 2}]} | over
        try:
            self.svc.store.get_customer(body["archive_no"])
        except CustomerNotFound:
            self.customer_on_file(body["archive_no"])
        case, _ = file_correction(self.svc, CorrectionIn.model_validate(body))
        return case.case_no

    def new_customer(self, **over: Any) -> str:
        """N3: the salesperson's 《新客户开发申请表》 (first transaction 15 days ago)."""
        from models.new_customers import NewCustomerApplicationIn
        from tasks.new_customer.steps import file_new_customer_application

        first = (self.clock.now().astimezone(TZ) - timedelta(days=15)).date().isoformat()
        body = {
            "customer": {"name": "苏州新锦纺织有限公司", "invoicing_name": "苏州新锦纺织有限公司",
                         "customer_class": "enterprise", "contact_name": "陈先生", "phone": "13912345678",
                         "registration": {"credit_code": "91320500MA1XYZ1234"}, "address": "苏州工业园区"},
            "first_transaction": {"date": first, "amount": "35600.00", "reference": "XS-FIRST-01"},
            "development_history": "展会结识，三次拜访，报价后试单",
            "evaluation": {"contribution": "年采购约 200 万", "long_term_impact": "带动华东经销", "credit": "预付款"},
            "salesperson": SALESPERSON} | over
        case, _ = file_new_customer_application(self.svc, NewCustomerApplicationIn.model_validate(body))
        return case.case_no

    def trade(self, reference: str, days_ago: int, kind: str = "sale", customer: str = "苏州新锦纺织有限公司") -> None:
        """A transaction in the company's history (N1)."""
        from models.archive.records import TransactionIn

        on = (self.clock.now().astimezone(TZ) - timedelta(days=days_ago)).date()
        self.svc.store.import_transactions([TransactionIn(reference=reference, customer=customer, on=on,
                                                          amount=Decimal("1000.00"), kind=kind)])

    def sample_request(self, **over: Any) -> str:
        """P2: marketing's 《取样出门审批单》."""
        from models.samples import SampleRequestIn
        from tasks.samples.intake import file_sample_request

        body = {"customer": "无锡华美服饰有限公司", "product": "精梳棉纱", "spec": "40S", "size_class": "half",
                "quantity": 6, "reason": "新品打样", "requested_by": MARKETING} | over
        case, _ = file_sample_request(self.svc, SampleRequestIn.model_validate(body))
        return case.case_no
