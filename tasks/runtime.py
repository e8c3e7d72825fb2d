"""The services every step uses — store, mailer, clock, org directory, calendar, flow runs — built from settings
and passed in. Real or fake implementations are chosen by settings (or by tests constructing them)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
    return Services(
        settings=settings,
        store=store or Store(make_engine(settings.database_url)),
        mailer=mailer or build_mailer(settings),
        clock=clock or SystemClock(),
        org=load_org(settings.org_file),
        calendar=BusinessCalendar.from_file(settings.calendar_file),
        authority=load_authority(settings.authority_file, ROLES),
        flows=flows or build_flow_runs(settings),
    )


@lru_cache(maxsize=1)
def services() -> Services:
    """The process's services, from the environment (flow-run processes, the web app, the CLI)."""
    return build_services(get_settings())
