"""The services every step uses — store, mailer, clock, org directory, calendar, flow runs, the wait of
a human step, the run's artifacts in the Prefect UI — built from settings and passed in. Real or fake implementations are chosen by settings
(or by tests constructing them).

A flow's tasks reach them through `services()`: the services in use for this context when a caller
provided them (`with use_services(svc): complaint(case_no)` — a test running a flow in-process on
fakes), else the process's, built once from the environment (flow-run processes, the web app, the CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.business_days import BusinessCalendar
from models.db import make_engine
from models.org import OrgDirectory, load_org
from models.settings import Settings, get_settings
from tasks.platform.artifacts import RunArtifacts, build_artifacts
from tasks.platform.pdf import CopyDocument, TextCopy, build_documents
from tasks.platform.clock import Clock, SystemClock
from tasks.platform.flow_runs import FlowRuns, build_flow_runs
from tasks.platform.human_steps import HumanSteps, build_human_steps
from tasks.platform.mail import Mailer, build_mailer
from tasks.platform.procedures import config_tables, registered
from tasks.platform.store import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    mailer: Mailer
    clock: Clock
    org: OrgDirectory
    calendar: BusinessCalendar
    flows: FlowRuns
    human: HumanSteps
    artifacts: RunArtifacts
    # how a document issued in copies is written: `CopyDocument` (PDF) or its fake `TextCopy` (tasks/platform/pdf.py)
    documents: type[CopyDocument] | type[TextCopy]
    # the procedures' reference tables by name (`Procedure.config_tables`, e.g. "authority")
    tables: dict[str, Any]


def build_services(settings: Settings, *, store: Store | None = None, mailer: Mailer | None = None,
                   clock: Clock | None = None, flows: FlowRuns | None = None,
                   human: HumanSteps | None = None, artifacts: RunArtifacts | None = None) -> Services:
    if not registered():
        raise RuntimeError("no procedure is registered with the platform: import flows (flows/__init__.py "
                           "registers them) before building the services")
    org, calendar = reference_data(settings.org_file, settings.calendar_file)
    store = store or Store(make_engine(settings.database_url))
    store.mail_max_attempts = settings.mail_max_attempts
    return Services(
        settings=settings,
        store=store,
        mailer=mailer or build_mailer(settings),
        clock=clock or SystemClock(),
        org=org,
        calendar=calendar,
        flows=flows or build_flow_runs(settings),
        human=human or build_human_steps(settings),
        artifacts=artifacts or build_artifacts(settings),
        documents=build_documents(settings),
        tables=load_tables(settings),
    )


@lru_cache(maxsize=8)
def reference_data(org_file: Path, calendar_file: Path | None) -> tuple[OrgDirectory, BusinessCalendar]:
    """The org directory and the business calendar, parsed once per process (and once for every flow
    run, in the warm process they are forked from: deployments/warm_start)."""
    return load_org(org_file), BusinessCalendar.from_file(calendar_file)


def load_tables(settings: Settings) -> dict[str, Any]:
    """The registered config tables (tasks/platform/procedures.py), each parsed once per process and file."""
    return {name: _table(name, table.file(settings), settings) for name, table in config_tables().items()}


def _table(name: str, path: Path, settings: Settings) -> Any:
    key = (name, path)
    if key not in _TABLES:
        _TABLES[key] = config_tables()[name].load(path, settings)
    return _TABLES[key]


_TABLES: dict[tuple[str, Path], Any] = {}


_in_use: ContextVar[Services | None] = ContextVar("kefu_services", default=None)


@contextmanager
def use_services(svc: Services) -> Iterator[Services]:
    """Run the code inside (a flow called in-process, its tasks) on `svc` instead of the process's
    services. Prefect runs a sync flow's tasks in the caller's context, so they see them too."""
    token = _in_use.set(svc)
    try:
        yield svc
    finally:
        _in_use.reset(token)


def services() -> Services:
    """The services in use: those given to `use_services`, else the process's, from the environment."""
    given = _in_use.get()
    return given if given is not None else process_services()


@lru_cache(maxsize=1)
def process_services() -> Services:
    """The process's services, from the environment (flow-run processes, the web app, the CLI)."""
    return build_services(get_settings())
