"""The platform's registry of procedures (issue 22): what each procedure registers is what the platform
uses — the intake, the start adapter, the answers, the watchdog checks, the statistics hooks, the store
extensions and the config tables — and the platform runs a procedure it has never heard of."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

import flows
from deployments import names
from models.answers import ANSWER_MODELS
from models.business_days import TZ
from models.returns import AuthorityTable
from models.settings import Settings
from models.tables import Case, ComplaintFact, FlowStart
from tasks.platform import procedures
from tasks.platform.clock import FixedClock
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import IntakeError, file_and_start
from tasks.platform.mail import MemoryMailer
from tasks.platform.procedures import Procedure
from tasks.platform.runtime import build_services
from tasks.platform.watchdog import sla_check
from tests.dbs import fresh_store

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)


@pytest.fixture
def svc(tmp_path):
    settings = Settings(home=tmp_path, secret_key="x" * 32, env="test",
                        org_file=Path(__file__).resolve().parents[2] / "deployments" / "org.yaml")
    return build_services(settings, store=fresh_store(), mailer=MemoryMailer(), clock=FixedClock(NOW))


@pytest.fixture
def probe():
    """A procedure of the test's own, taken off the registry afterwards."""
    seen: dict[str, list] = {"checks": [], "hooks": []}

    def start(case: Case) -> FlowStart:
        return FlowStart(deployment="probe/probe", run_name=f"probe-{case.case_no}", tags=["procedure:probe"])

    def file(svc, body, idempotency_key=None):  # noqa: ANN001, ANN202
        if not body.get("title"):
            raise IntakeError("title", "必填", "required")
        return svc.store.create_case(procedure="probe", prefix="PB", year=2026, state="filed", title=body["title"],
                                     data={}, idempotency_key=idempotency_key, now=svc.clock.now(),
                                     start=start_request)

    class ProbeStore:
        def probe_count(self) -> int:
            return len(self.list_cases(procedure="probe")[1])

    procedures.register(Procedure(
        name="probe", intake=file, starts={"probe": start},
        watchdog_checks=(lambda svc, now: seen["checks"].append(now) or {"probed": 1},),
        case_hooks=(lambda s, case, kind, now, new: seen["hooks"].append((case.procedure, kind, new)),),
        store_extensions=(ProbeStore,)))
    try:
        yield seen
    finally:
        procedures.unregister("probe")


def test_every_procedure_is_registered_once_by_flows():
    assert [p.name for p in flows.PROCEDURES] == [p.name for p in procedures.registered()][: len(flows.PROCEDURES)]
    assert set(procedures.starts()) == {"complaint", "group_complaint", "grievance", "allowance", "return",
                                        "sample_request", "archive_correction", "new_customer"}
    for p in flows.PROCEDURES:
        assert p.intake is not None, p.name
        assert procedures.intake(p.name) is p.intake


def test_each_start_adapter_names_a_served_deployment():
    case = Case(case_no="X-2026-000001", procedure="", state="s", title="t", level=2,
                data={"form": {"kind": "service", "category": "服务行为", "grievance_class": "quality"},
                      "size_class": "small", "category": "服务行为",
                      "application": {"customer": {"customer_class": "A"}}})
    for case_procedure, adapter in procedures.starts().items():
        case.procedure = case_procedure
        assert adapter(case).deployment in names.PROCEDURES, case_procedure


def test_a_second_owner_of_a_case_procedure_is_refused():
    with pytest.raises(ValueError, match="complaint"):
        procedures.register(Procedure(name="copycat", starts={"complaint": lambda case: None}))
    assert "copycat" not in [p.name for p in procedures.registered()]


def test_unknown_names_fail_clearly():
    with pytest.raises(LookupError, match="no intake registered"):
        procedures.intake("no-such-procedure")
    with pytest.raises(KeyError, match="no flow registered"):
        procedures.start_adapter("no-such-procedure")


def test_the_answers_keep_the_names_the_database_stores():
    """Every answer model registers itself under its class name, as stored in HumanTask.answer_model."""
    stored = {"Decision", "Done", "SampleIssue", "GateCheck", "StockWithdrawal", "WarehouseLedger",
              "SampleRequisition", "ComplaintIntake", "FirstContact", "ComplaintOutcome", "ProgressContact",
              "CustomerConfirmation", "ReturnBooking", "PlanRevision", "DepartmentFeedback", "Certification",
              "GrievanceRegistration", "GrievanceConsolidation", "GrievanceForm", "ShareConfirmation",
              "ArchiveCleanupProposals", "GroupConfirm", "SpecialStudy"}
    assert stored <= set(ANSWER_MODELS)
    assert len(ANSWER_MODELS) == 58  # 50 + C17/C19 (7, grievance) + C23 (1, complaint)
    assert all(name == model.__name__ for name, model in ANSWER_MODELS.items())


def test_the_config_table_and_the_store_extensions_are_the_procedures(svc):
    assert isinstance(svc.tables["authority"], AuthorityTable)
    assert svc.store.first_complaint_with_event("nothing") is None  # the complaint's store extension
    with pytest.raises(AttributeError, match="no_such_query"):
        svc.store.no_such_query()


def test_the_platform_runs_a_procedure_it_never_heard_of(svc, probe):
    """Intake, start request, statistics hook, store extension and watchdog check of a registered probe."""
    with pytest.raises(IntakeError):
        file_and_start(svc, lambda: procedures.intake("probe")(svc, {}))
    assert svc.store.list_cases(procedure="probe")[0] == 0  # refused: nothing stored

    woken = []
    case, created = file_and_start(svc, lambda: procedures.intake("probe")(svc, {"title": "探针"}, "k1"),
                                   wake=lambda: woken.append(1))
    again, created_again = file_and_start(svc, lambda: procedures.intake("probe")(svc, {"title": "探针"}, "k1"))
    assert (created, created_again, again.case_no, woken) == (True, False, case.case_no, [1])
    assert probe["hooks"] == [("probe", "case_created", True)]
    assert svc.store.probe_count() == 1
    with svc.store.session() as s:
        start = s.exec(select(FlowStart).where(FlowStart.case_no == case.case_no)).one()
        assert (start.deployment, start.run_name) == ("probe/probe", f"probe-{case.case_no}")
        assert s.exec(select(ComplaintFact)).all() == []  # the complaint's hook ignores other procedures

    counts = sla_check(svc, NOW + timedelta(hours=1), resume=False)
    assert counts["probed"] == 1 and probe["checks"] == [NOW + timedelta(hours=1)]
