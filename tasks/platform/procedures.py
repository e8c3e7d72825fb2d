"""The registry of procedures: what the platform knows of a procedure is what it registered here.

A procedure (complaint, returns, …) describes itself with one `Procedure` and registers it
(`register`); the one module that lists them all is `flows/__init__.py`, so any process that runs a
flow, the web app and the CLI have every procedure registered. The platform (tasks/platform/*) asks
this registry and names no procedure:

- `intake(name)`: the function that files a case of the procedure (`file(svc, body, key, ...)`);
  the shared path around it is `tasks.platform.intake.file_and_start`;
- `start_adapter(case_procedure)`: the Prefect start request of a case (deployment, run name, tags),
  used by the dispatcher (tasks/platform/flow_starts.py);
- `watchdog_checks()`: each procedure's own deadline checks, run by every watchdog pass;
- `case_hooks()`: called in the transaction of every change to a case, `mail_event_hooks()` in that of
  a notice queued with its event (the statistics hooks: a complaint's `complaint_facts` row);
- `notice_checks()`: run before a notice is queued (e.g. a grievance form copy never to a customer);
- `store_extensions()`: procedure-specific methods of `Store` (e.g. the customer archive);
- `config_tables()`: reference tables loaded once per process from a settings file
  (`Services.tables[name]`, e.g. the approval authorities);
- answers: each procedure's answer models register themselves by name (`models.answers.register_answer`);
  the name is what the database stores (`HumanTask.answer_model`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# (svc, now) -> counts, e.g. {"c4_notices": 1}
WatchdogCheck = Callable[[Any, datetime], dict[str, int]]
# (session, case, event kind, now, new) -> None, in the case's own transaction
CaseHook = Callable[[Any, Any, str, datetime, bool], None]
# (session, case number, event kind, now) -> None, in the transaction of a notice queued with its event
MailEventHook = Callable[[Any, str, str, datetime], None]
# (svc, recipients, attachments) -> None: raises to refuse a notice before it is queued
NoticeCheck = Callable[[Any, list[str], list[Any]], None]


@dataclass(frozen=True)
class ConfigTable:
    """A reference table read from a file named by the settings: `file(settings) -> Path`,
    `load(path, settings) -> table`."""

    file: Callable[[Any], Path]
    load: Callable[[Path, Any], Any]


@dataclass(frozen=True)
class Procedure:
    """Everything a procedure hands the platform. `starts` maps a case's `procedure` column value
    (one procedure may file several: "allowance" and "return") to its start request builder."""

    name: str
    intake: Callable[..., Any] | None = None
    starts: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    watchdog_checks: tuple[WatchdogCheck, ...] = ()
    case_hooks: tuple[CaseHook, ...] = ()
    mail_event_hooks: tuple[MailEventHook, ...] = ()
    notice_checks: tuple[NoticeCheck, ...] = ()
    store_extensions: tuple[type, ...] = ()
    config_tables: dict[str, ConfigTable] = field(default_factory=dict)
    # C24 need-to-know: `people -> SELECT case_no` of the cases the people are on in the procedure's own
    # records (beyond requester and tasks, which the platform knows), e.g. a complaint's receiver/handler
    case_people: tuple[Callable[[list[str]], Any], ...] = ()


_REGISTRY: dict[str, Procedure] = {}


def register(procedure: Procedure) -> Procedure:
    """Register (or re-register, e.g. a module reloaded) a procedure under its name. A case procedure
    or config table claimed by another procedure is refused: two owners would be a silent override."""
    for other in _REGISTRY.values():
        if other.name == procedure.name:
            continue
        clash = (set(other.starts) & set(procedure.starts)) | (set(other.config_tables) & set(procedure.config_tables))
        if clash:
            raise ValueError(f"procedure {procedure.name!r} claims {sorted(clash)}, already registered by {other.name!r}")
    _REGISTRY[procedure.name] = procedure
    return procedure


def unregister(name: str) -> Procedure | None:
    """Take a procedure off the registry (a test that registered a probe of its own)."""
    return _REGISTRY.pop(name, None)


def registered() -> tuple[Procedure, ...]:
    return tuple(_REGISTRY.values())


def intake(name: str) -> Callable[..., Any]:
    p = _REGISTRY.get(name)
    if p is None or p.intake is None:
        raise LookupError(f"no intake registered for procedure {name!r} (registered: {sorted(_REGISTRY)})")
    return p.intake


def starts() -> dict[str, Callable[[Any], Any]]:
    """Every case procedure a flow run can be started for, with its start request builder."""
    return {k: v for p in _REGISTRY.values() for k, v in p.starts.items()}


def start_adapter(case_procedure: str) -> Callable[[Any], Any]:
    adapter = starts().get(case_procedure)
    if adapter is None:
        raise KeyError(f"no flow registered for cases of procedure {case_procedure!r}")
    return adapter


def watchdog_checks() -> list[WatchdogCheck]:
    return [c for p in _REGISTRY.values() for c in p.watchdog_checks]


def case_hooks() -> list[CaseHook]:
    return [h for p in _REGISTRY.values() for h in p.case_hooks]


def mail_event_hooks() -> list[MailEventHook]:
    return [h for p in _REGISTRY.values() for h in p.mail_event_hooks]


def notice_checks() -> list[NoticeCheck]:
    return [c for p in _REGISTRY.values() for c in p.notice_checks]


def store_extensions() -> list[type]:
    return [m for p in _REGISTRY.values() for m in p.store_extensions]


def config_tables() -> dict[str, ConfigTable]:
    return {k: v for p in _REGISTRY.values() for k, v in p.config_tables.items()}


def case_people() -> list[Callable[[list[str]], Any]]:
    return [q for p in _REGISTRY.values() for q in p.case_people]
