"""The services every step uses — store, mailer, clock, org directory, calendar, flow runs — built from settings
and passed in. Real or fake implementations are chosen by settings (or by tests constructing them)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from models.business_days import BusinessCalendar
from models.db import make_engine
from models.org import ROLES, OrgDirectory, load_org
from models.returns import AuthorityTable, load_authority
from models.settings import Settings, get_settings
from tasks.clock import Clock, SystemClock
from tasks.flow_runs import FlowRuns, build_flow_runs
from tasks.mail import Mailer, build_mailer
from tasks.store import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    mailer: Mailer
    clock: Clock
    org: OrgDirectory
    calendar: BusinessCalendar
    authority: AuthorityTable
    flows: FlowRuns


def build_services(settings: Settings, *, store: Store | None = None, mailer: Mailer | None = None,
                   clock: Clock | None = None, flows: FlowRuns | None = None) -> Services:
    org, calendar, authority = reference_data(settings.org_file, settings.calendar_file, settings.authority_file)
    store = store or Store(make_engine(settings.database_url))
    store.mail_max_attempts = settings.mail_max_attempts
    return Services(
        settings=settings,
        store=store,
        mailer=mailer or build_mailer(settings),
        clock=clock or SystemClock(),
        org=org,
        calendar=calendar,
        authority=authority,
        flows=flows or build_flow_runs(settings),
    )


@lru_cache(maxsize=8)
def reference_data(org_file: Path, calendar_file: Path | None,
                   authority_file: Path) -> tuple[OrgDirectory, BusinessCalendar, AuthorityTable]:
    """The org directory, the business calendar and the approval authorities, parsed once per process
    (and once for every flow run, in the warm process they are forked from: deployments/warm_start)."""
    return (load_org(org_file), BusinessCalendar.from_file(calendar_file),
            load_authority(authority_file, ROLES))


@lru_cache(maxsize=1)
def services() -> Services:
    """The process's services, from the environment (flow-run processes, the web app, the CLI)."""
    return build_services(get_settings())
