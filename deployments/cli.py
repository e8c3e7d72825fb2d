"""The `kefu` command.

    kefu up                 the whole local system: Prefect server, served flows, web app, dev SMTP sink
    kefu sla-check --now T  one pass of the deadline watchdog as of T
    kefu report monthly|weekly|analysis …   a §5 report of any period into a directory
    kefu demo-data --cases N --months M     synthetic complaints for demos and benchmarks
    kefu serve | web | sink | migrate   the pieces `kefu up` starts (one process each)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from collections.abc import Callable
from typing import Any
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import FrameType
    from models.settings import Settings
    from tasks.platform.runtime import Services

LOCAL_API_CA = Path(__file__).with_name("local-api-ca.pem")

app = typer.Typer(help="客服流程 Kefu Flows", no_args_is_help=True, add_completion=False)


def _settings(database: bool = True, own_database: bool = False) -> Settings:
    """The settings; with `database`, the embedded database started when they use it and it is not
    running (deployments/embedded_pg.py); `own_database` (`kefu up`): this process runs it, Prefect's
    database included."""
    from models.settings import get_settings

    s = get_settings()
    if own_database:
        _check_start(s)  # refuse bad settings before a database is made for them
    if database and s.embedded_pg_databases:
        from deployments.embedded_pg import EmbeddedDatabaseError, ensure

        try:
            ensure(s, own=own_database, include_prefect=own_database)
        except EmbeddedDatabaseError as exc:
            _fail(f"启动失败 / cannot start: {exc}")
    return s


def _services() -> Services:
    """The process's services (tasks.platform.runtime), the embedded database started first when it is used."""
    _settings()
    import flows  # noqa: F401 - registers every procedure with the platform (flows/__init__.py)
    from tasks.platform.runtime import services

    return services()


def prefect_env(settings: Settings) -> dict[str, str]:
    """The Prefect settings every child process gets (server, runner, flow runs, clients)."""
    home = settings.home / "prefect"
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": settings.effective_prefect_api_url,
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(settings.prefect_port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": str(max(1, int(settings.runner_poll_seconds))),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PREFECT_API_DATABASE_CONNECTION_URL": settings.prefect_database_url
        or f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_UI_API_URL": settings.effective_prefect_api_url,
    }
    if settings.prefect_api_auth_string:
        # Prefect's own API auth (issue 24): the server checks it, every client (web app, runner, flow
        # runs, workers, the CLI) sends it
        auth = settings.prefect_api_auth_string.get_secret_value()
        env["PREFECT_SERVER_API_AUTH_STRING"] = auth
        env["PREFECT_API_AUTH_STRING"] = auth
    if settings.effective_prefect_api_url.startswith("http://"):
        # No TLS to the API, yet Prefect builds a verifying SSL context for every client it creates
        # (a flow run creates several): with certifi's bundle ≈ 40 ms each under load, measured as a
        # fifth of a flow run's CPU in the 1,000-complaint burst. A one-certificate bundle: 0.5 ms.
        env["PREFECT_API_SSL_CERT_FILE"] = str(LOCAL_API_CA)
    return env


def _use_prefect_env(settings: Settings) -> None:
    """Point this process's Prefect client at our server, before prefect is imported."""
    for k, v in prefect_env(settings).items():
        if k in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_RESULTS_PERSIST_BY_DEFAULT",
                 "PREFECT_LOCAL_STORAGE_PATH", "PREFECT_API_SSL_CERT_FILE", "PREFECT_API_AUTH_STRING"):
            os.environ.setdefault(k, v)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _check_start(settings: Settings) -> None:
    """Refuse to start with unsafe settings or a bad org / calendar file."""
    from models.business_days import BusinessCalendar
    from models.org import load_org
    from tasks.platform.fonts import CJKFontMissing, cjk_font_path

    try:
        settings.check_for_start()
        org = load_org(settings.org_file)
        BusinessCalendar.from_file(settings.calendar_file)
        from models.org import RoleNotHeld

        for role in org.roles_not_held():  # an older org file loads; the steps needing the role refuse
            typer.echo(f"警告 / warning: {RoleNotHeld(role)}", err=True)
        from models.org import ROLES
        from models.returns import load_authority

        load_authority(settings.authority_file, ROLES)
        cjk_font_path(settings.cjk_font)
    except (ValueError, CJKFontMissing) as exc:
        _fail(f"启动失败 / cannot start: {exc}")


@app.command()
def migrate() -> None:
    """Create or upgrade the application schema (Alembic)."""
    from models.db import migrate as run

    s = _settings()
    s.home.mkdir(parents=True, exist_ok=True)
    run(s.database_url)
    typer.echo("schema up to date")


@app.command()
def sink() -> None:
    """Run the local SMTP sink (dev mail)."""
    from deployments.dev_mail import run_sink

    s = _settings(database=False)
    run_sink(s.home, s.sink_port)


@app.command()
def web() -> None:
    """Run the web app (decision pages, API, dev mailbox)."""
    import uvicorn

    s = _settings()
    _use_prefect_env(s)
    _check_start(s)
    uvicorn.run("webapp.app:app_from_env", factory=True, host=s.web_host, port=s.web_port,
                log_level="warning", timeout_graceful_shutdown=10)


@app.command()
def serve() -> None:
    """Serve every deployment (flows run as subprocesses of this one)."""
    s = _settings()
    _use_prefect_env(s)
    _check_start(s)
    from deployments.serve import serve_all

    serve_all(s)


@app.command("sla-check")
def sla_check_cmd(now: Optional[str] = typer.Option(None, "--now", help="ISO-8601, e.g. 2027-01-04T09:00:00+08:00")
                  ) -> None:
    """Run the deadline watchdog once, as of NOW (default: the current time)."""
    s = _settings()
    _use_prefect_env(s)
    if now:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            _fail(f"--now 不是有效的 ISO-8601 时间 / --now is not an ISO-8601 datetime: {now!r}")
        if at.tzinfo is None:
            from models.business_days import TZ

            at = at.replace(tzinfo=TZ)
    else:
        at = datetime.now(timezone.utc)
    import flows  # noqa: F401 - registers every procedure with the platform (flows/__init__.py)
    from tasks.platform.runtime import services
    from tasks.platform.watchdog import sla_check

    counts = sla_check(services(), at)
    typer.echo(json.dumps({"now": at.isoformat(), **counts}, ensure_ascii=False))


@app.command()
def recover() -> None:
    """After a crash: put runs left executing back to SCHEDULED, then one watchdog pass (`kefu up`
    runs this before serving the flows; only for the local single-runner system)."""
    s = _settings()
    _use_prefect_env(s)
    from tasks.platform.recovery import recover as recover_pass
    import flows  # noqa: F401 - registers every procedure with the platform (flows/__init__.py)
    from tasks.platform.runtime import services

    typer.echo(json.dumps(recover_pass(services(), datetime.now(timezone.utc)), ensure_ascii=False))


complaint_app = typer.Typer(help="投诉 complaints", no_args_is_help=True)
app.add_typer(complaint_app, name="complaint")


@complaint_app.command("new")
def complaint_new(file: Path = typer.Option(..., "--file", exists=False, help="complaint.json (the API's body)"),
                  idempotency_key: Optional[str] = typer.Option(None, "--idempotency-key")) -> None:
    """File a complaint from a JSON file (same body as POST /api/complaints) and start its flow."""
    from pydantic import ValidationError

    s = _settings()
    _use_prefect_env(s)
    from models.complaint.handling import ComplaintIn
    from tasks.complaint.intake import file_complaint
    from tasks.platform.intake import IntakeError, file_and_start
    from tasks.platform.store_access import Filing
    from models.errors import describe_all

    try:
        body = ComplaintIn.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"无法读取 {file} / cannot read {file}: {exc}")
    except ValidationError as exc:
        _fail("\n".join(d["message"] for d in describe_all(exc.errors())))
    svc = _services()
    try:
        # stored with its start request: started here if Prefect answers, else by the web app's
        # dispatcher or the watchdog (flow_run_id null here; GET /api/cases/{case_no} shows it later)
        case, created = file_and_start(svc, lambda: file_complaint(svc, body, idempotency_key,
                                                                   filed=Filing(_operator(), "cli")), here=True, wait=5)
    except IntakeError as exc:
        _fail(str(exc))
    if not case.flow_run_id:
        typer.echo(f"流程尚未启动，稍后自动重试 / the flow run is not started yet; it will be retried "
                   f"({case.case_no})", err=True)
    typer.echo(json.dumps({"case_no": case.case_no, "flow_run_id": case.flow_run_id}))


case_app = typer.Typer(help="案件 cases", no_args_is_help=True)
app.add_typer(case_app, name="case")


@case_app.command("cancel")
def case_cancel(case_no: str = typer.Argument(..., help="案件编号, e.g. TS-2026-000001"),
                by: str = typer.Option(..., "--by", help="who cancels (客服部经理 or 总经理, org directory)"),
                reason: str = typer.Option(..., "--reason", help="撤销原因 / why")) -> None:
    """Cancel a case: closed as `cancelled` (with who and why), then its flow run is cancelled.
    The only way a case's run is cancelled on purpose; the watchdog restarts runs cancelled otherwise."""
    s = _settings()
    _use_prefect_env(s)
    import flows  # noqa: F401 - registers every procedure with the platform (flows/__init__.py)
    from tasks.platform.runtime import services
    from tasks.platform.store import CaseNotFound

    svc = services()
    person = svc.org.find(by)
    if person is None or not ({"cs_manager", "general_manager"} & set(svc.org.roles_of(person.email))):
        _fail(f"{by} 无权撤销案件（需客服部经理或总经理）/ {by} may not cancel cases (CS manager or GM only)")
    if not reason.strip():
        _fail("须说明撤销原因 / --reason must not be empty")
    try:
        case = svc.store.get_case(case_no)
    except CaseNotFound:
        _fail(f"案件 {case_no} 不存在 / no case {case_no}")
    if case.closed_at is not None:
        _fail(f"案件 {case_no} 已结束（{case.state}）/ case {case_no} is already closed ({case.state})")
    svc.store.update_case(case_no, actor=person.email, kind="case_cancelled", now=svc.clock.now(),
                          state="cancelled", closed=True, event_data={"reason": reason.strip()})
    if case.flow_run_id:
        svc.flows.cancel(case.flow_run_id, f"案件已撤销 / case cancelled by {person.email}")
    typer.echo(json.dumps({"case_no": case_no, "state": "cancelled", "flow_run_id": case.flow_run_id}))


apikey_app = typer.Typer(help="API 密钥 keys of the systems that file cases (issue 24)", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
user_app = typer.Typer(help="员工登录 staff sign-in (people from the org directory)", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _operator() -> str:
    """The operator at the command line, for a case's audit trail (filed_by, filed_via=cli)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container)
        return f"uid {os.getuid()}"


@apikey_app.command("create")
def apikey_create(name: str = typer.Option(..., "--name", help="the system's name, e.g. crm"),
                  scope: str = typer.Option(..., "--scope", help="comma-separated: complaints, sample_requests, "
                                            "returns, archive_corrections, new_customers, grievances, read_cases, read_customers, "
                                            "backfill; all = every scope but backfill"),
                  by: str = typer.Option("", "--by", help="who creates it (for the record)"),
                  person: Optional[str] = typer.Option(None, "--person", help="bind the key to a person of the org "
                                                       "directory: it files as that person only (without: a system "
                                                       "key, which may name any holder of the role)")) -> None:
    """Make a key; it is printed once (only its SHA-256 is stored): give it to the system now."""
    from models.access import ScopeError, new_api_key, parse_scopes
    from models.guard import ONE_LINE_FORBIDDEN
    from tasks.platform.store_access import AccessError

    if not name.strip() or len(name) > 100 or ONE_LINE_FORBIDDEN.search(name):
        _fail("--name 须为一行文字（最多 100 字符）/ --name must be one line of text (100 characters at most)")
    try:
        scopes = parse_scopes(scope)
    except ScopeError as exc:
        _fail(str(exc))
    svc = _services()
    bound = svc.org.find(person) if person is not None and "@" in person else None
    if person is not None and bound is None:
        _fail(f"--person {person} 不在组织架构中 / --person {person} is not in the org directory")
    key = new_api_key()
    try:
        row = svc.store.add_api_key(name=name.strip(), key=key, scopes=scopes, by=by, now=svc.clock.now(),
                                    person=bound.email if bound else None)
    except AccessError as exc:
        _fail(str(exc))
    typer.echo("请立即保存此密钥，它不会再次显示 / store this key now: it is not shown again", err=True)
    typer.echo(json.dumps({"id": row.id, "name": row.name, "scopes": row.scopes, "person": row.person, "key": key},
                          ensure_ascii=False))


@apikey_app.command("list")
def apikey_list() -> None:
    """Every key: id, name, scopes, its first characters, created, last used, revoked (never the key)."""
    svc = _services()
    for k in svc.store.api_keys():
        typer.echo(json.dumps({"id": k.id, "name": k.name, "scopes": k.scopes, "person": k.person, "hint": k.hint + "…",
                               "created_at": k.created_at.isoformat(), "created_by": k.created_by,
                               "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
                               "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None},
                              ensure_ascii=False))


@apikey_app.command("revoke")
def apikey_revoke(key: str = typer.Argument(..., help="the key's name or id")) -> None:
    """Revoke a key at once: its next request answers 401."""
    from tasks.platform.store_access import AccessError

    svc = _services()
    try:
        row = svc.store.revoke_api_key(key, svc.clock.now())
    except AccessError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"id": row.id, "name": row.name, "revoked_at": row.revoked_at.isoformat()}))


@user_app.command("set-password")
def user_set_password(email: str = typer.Argument(..., help="a person of the org directory"),
                      password_stdin: bool = typer.Option(False, "--password-stdin",
                                                          help="read the password from standard input (scripts)")
                      ) -> None:
    """Set a staff member's sign-in password (argon2id); their open sessions end."""
    from tasks.platform.passwords import PasswordRejected, hash_password

    svc = _services()
    person = svc.org.find(email)
    if person is None or "@" not in email:
        _fail(f"{email} 不在组织架构中 / {email} is not in the org directory")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("新密码 / new password", hide_input=True, confirmation_prompt=True)
    try:
        hashed = hash_password(password)
    except PasswordRejected as exc:
        _fail(str(exc))
    ended = svc.store.set_password_hash(person.email, hashed, svc.clock.now())
    typer.echo(json.dumps({"email": person.email, "password": "set", "sessions_ended": ended}))


archive_app = typer.Typer(help="客户档案 customer archive", no_args_is_help=True)
app.add_typer(archive_app, name="archive")
import_app = typer.Typer(help="导入 imports", no_args_is_help=True)
app.add_typer(import_app, name="import")


def _import_csv(file: Path, model: type, key: str, existing: Callable[[Any], bool], load: Callable[[list[Any]], Any],
                all_or_nothing: bool = False) -> None:
    """Parse, report bad rows by line (also duplicates in the file or already stored), load the
    good ones in one transaction. Exit 2 when any row was bad: the good rows are loaded, or, with
    `all_or_nothing`, nothing is (the corrected file is then loaded whole)."""
    from tasks.archive.imports import RowError, parse_csv

    rows, errors = parse_csv(file, model)
    stored = existing([getattr(r, key) for _, r in rows if getattr(r, key)])
    seen: set[str] = set()
    good = []
    for line, r in rows:
        value = getattr(r, key)
        if value and (value in seen or value in stored):
            errors.append(RowError(line=line, message=f"{key} 重复 / duplicate {key}: {value}"))
            continue
        seen.add(value)
        good.append(r)
    for e in sorted(errors, key=lambda e: e.line):
        typer.echo(str(e), err=True)
    loaded = load(good) if good and not (all_or_nothing and errors) else 0
    typer.echo(json.dumps({"loaded": loaded, "rejected": len(errors)}))
    if errors:
        raise typer.Exit(2)


@archive_app.command("import")
def archive_import(file: Path = typer.Argument(..., help="customers.csv (UTF-8, header line)")) -> None:
    """Load customers (档案); bad rows are reported with their line numbers and not loaded."""
    from models.archive.records import CustomerIn

    svc = _services()
    _import_csv(file, CustomerIn, "archive_no", svc.store.existing_archive_numbers,
                lambda good: len(svc.store.import_customers(good, by="import", now=svc.clock.now())))


@archive_app.command("show")
def archive_show(archive_no: str = typer.Argument(..., help="档案编号, e.g. DA-2026-000001"),
                 full: bool = typer.Option(False, "--full", help="the unmasked record (authorised roles; logged)"),
                 reader: Optional[str] = typer.Option(None, "--reader", help="your email (org directory)"),
                 purpose: Optional[str] = typer.Option(None, "--purpose", help="查阅事由 / why you read it")) -> None:
    """Print a customer record: masked; with --full the whole record for an authorised role
    (查阅权限: the reader's role in the org directory), and the read is logged (查阅登记)."""
    from models.archive.records import FULL_READ_ROLES, masked_record
    from tasks.archive.store import CustomerNotFound, record_of

    svc = _services()
    try:
        record = record_of(svc.store.get_customer(archive_no))
    except CustomerNotFound:
        _fail(f"档案 {archive_no} 不存在 / customer archive {archive_no} not found")
    if not full:
        typer.echo(json.dumps(masked_record(record), ensure_ascii=False, default=str))
        return
    if not reader or not (purpose or "").strip():
        _fail("查阅完整档案须提供 --reader 和 --purpose / a full read needs --reader and --purpose")
    person = svc.org.find(reader)
    roles = [r for r in svc.org.roles_of(person.email) if r in FULL_READ_ROLES] if person else []
    if not roles:
        _fail(f"{reader} 无权查阅完整档案（需客服部经理、总经理、事务文员或内勤分部）/ "
              f"{reader} may not read full archives (CS manager, GM, archive clerk or back office only)")
    full_record = svc.store.read_full_customer(archive_no, reader=person.email, role=roles[0],
                                               purpose=purpose.strip(), now=svc.clock.now())
    typer.echo(json.dumps(full_record, ensure_ascii=False, default=str))


@archive_app.command("handover")
def archive_handover(from_person: str = typer.Option(..., "--from", help="the leaving employee's email"),
                     to_person: str = typer.Option(..., "--to", help="the successor's email (org directory)"),
                     by: Optional[str] = typer.Option(None, "--by", help="who records it (default: the successor)")
                     ) -> None:
    """Hand a leaving employee's customers over to a successor (A3): a new version per customer."""

    svc = _services()
    successor = svc.org.find(to_person)
    if successor is None:
        _fail(f"接手人 {to_person} 不在组织架构中 / successor {to_person} is not in the org directory")
    if successor.email.lower() == from_person.strip().lower():
        _fail("交接双方不能是同一人 / --from and --to must differ")
    moved = svc.store.hand_over_customers(from_person.strip(), successor.email, by=by or successor.email,
                                          now=svc.clock.now())
    typer.echo(json.dumps({"handed_over": moved, "to": successor.email}, ensure_ascii=False))


@app.command()
def backup() -> None:
    """Back the application database up now (SQLite online backup or pg_dump); keeps KEFU_BACKUP_KEEP."""
    from tasks.platform.backup import BackupError, backup_database

    s = _settings()
    try:
        path = backup_database(s.database_url, s.backup_dir, s.backup_keep)
    except BackupError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"backup": str(path)}))


@app.command()
def restore(file: Path = typer.Argument(..., help="a file written by `kefu backup`")) -> None:
    """Restore the application database from a backup (the current contents are backed up first)."""
    from tasks.platform.backup import BackupError, restore_database

    s = _settings()
    try:
        saved = restore_database(s.database_url, file, s.backup_dir, s.backup_keep)
    except BackupError as exc:
        _fail(f"恢复被拒绝 / restore refused: {exc}")
    typer.echo(json.dumps({"restored": str(file), "previous_contents_saved_as": str(saved)}))


@import_app.command("transactions")
def import_transactions(file: Path = typer.Argument(..., help="transactions.csv (UTF-8, header line)")) -> None:
    """Load the transaction history (N1, N2): all rows or, if any is bad, none; every bad row is
    reported with its line number."""
    from models.archive.records import TransactionIn

    svc = _services()
    _import_csv(file, TransactionIn, "reference", svc.store.existing_references, svc.store.import_transactions,
                all_or_nothing=True)
report_app = typer.Typer(help="统计报表 the §5 reports, for any period", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _report(kind: str, period: str, out: Path) -> None:
    from models.statistics import period_bounds

    try:
        period_bounds(kind, period)
    except ValueError as exc:
        _fail(str(exc))
    from tasks.reports.steps import build_report, person_name

    from sqlalchemy.exc import OperationalError, ProgrammingError

    svc = _services()
    try:
        built = build_report(svc.store.engine, kind, period, out, person_name(svc), font_file=svc.settings.cjk_font)
    except (OperationalError, ProgrammingError) as exc:
        _fail(f"数据库结构不是最新（请先运行 kefu migrate） / the schema is not up to date (run kefu migrate): {exc.orig}")
    typer.echo(json.dumps({"report": kind, "period": period, "html": str(built.html_path),
                           "xlsx": str(built.xlsx_path), "figures": str(built.json_path)}, ensure_ascii=False))


@report_app.command("monthly")
def report_monthly(month: str = typer.Option(..., "--month", help="e.g. 2026-10"),
                   out: Path = typer.Option(..., "--out", help="directory for report.html, report.xlsx, figures.json")
                   ) -> None:
    """《客诉案件统计表》 (S1) of a month, written to OUT."""
    _report("monthly", month, out)


@report_app.command("weekly")
def report_weekly(week: str = typer.Option(..., "--week", help="ISO week, e.g. 2026-W44"),
                  out: Path = typer.Option(..., "--out")) -> None:
    """《投诉周报》 (S2) of an ISO week, written to OUT."""
    _report("weekly", week, out)


@report_app.command("analysis")
def report_analysis(month: str = typer.Option(..., "--month", help="e.g. 2026-10"),
                    out: Path = typer.Option(..., "--out")) -> None:
    """《客户投诉分析报告表》 (S3) of a month, written to OUT."""
    _report("analysis", month, out)


@app.command("demo-data")
def demo_data(cases: int = typer.Option(..., "--cases", min=1, help="number of complaints"),
              months: int = typer.Option(..., "--months", min=1, help="spread over this many months"),
              until: Optional[str] = typer.Option(None, "--until", help="last month, e.g. 2026-10 (default: last month)"),
              seed: int = typer.Option(8, "--seed")) -> None:
    """Fill an empty database with synthetic complaints (seeded: the same arguments, the same data)."""
    from models.db import migrate as run_migrate
    from models.statistics import month_period, previous_month_key
    from tasks.reports.demo_data import fill

    until = until or previous_month_key(datetime.now(timezone.utc))
    try:
        month_period(until)
    except ValueError as exc:
        _fail(str(exc))
    s = _settings()
    s.home.mkdir(parents=True, exist_ok=True)
    run_migrate(s.database_url)
    svc = _services()
    try:
        counts = fill(svc.store.engine, cases, months, until, svc.org, svc.calendar, seed=seed)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(json.dumps({"until": until, "seed": seed, "rows": counts}, ensure_ascii=False))


# ---- kefu up ---------------------------------------------------------------------------
def _wait_http(url: str, timeout: float, procs: list[subprocess.Popen], ok_below: int = 500) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            if httpx.get(url, timeout=2).status_code < ok_below:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def _pdeathsig() -> None:
    """Children die with `kefu up` even if it is killed hard (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


class Child:
    """One process `kefu up` runs; restarted with back-off when it dies (1 s doubling to 60 s)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.cmd, self.env, self.logs = name, cmd, env, logs
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.next_start = 0.0
        self.backoff = 1.0

    def start(self) -> None:
        out = open(self.logs / f"{self.name}.log", "ab")  # noqa: SIM115 - closed when the process ends
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=_pdeathsig)
        self.started_at = time.monotonic()

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def restart_if_dead(self) -> None:
        code = self.exited()
        if code is None:
            if self.proc is not None and time.monotonic() - self.started_at > 120:
                self.backoff = 1.0  # ran long enough: the next crash restarts quickly again
            return
        now = time.monotonic()
        if self.next_start == 0.0:
            typer.echo(f"{self.name} exited with {code}; restarting in {self.backoff:.0f} s "
                       f"(see {self.logs}/{self.name}.log)", err=True)
            self.next_start = now + self.backoff
            self.backoff = min(60.0, self.backoff * 2)
        elif now >= self.next_start:
            self.next_start = 0.0
            self.restarts += 1
            self.start()


def _stop(children: list[Child], budget: float = 25.0) -> None:
    """Stop children in reverse order of start, each gracefully (SIGTERM), then SIGKILL what is left."""
    deadline = time.monotonic() + budget
    for child in reversed(children):
        p = child.proc
        if p is None:
            continue
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=max(1.0, min(12.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                typer.echo(f"{child.name} did not stop in time; killing", err=True)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)


def _health(url: str) -> tuple[int, dict]:
    import httpx

    try:
        r = httpx.get(url, timeout=5)
        return r.status_code, r.json()
    except (httpx.HTTPError, ValueError):
        return 0, {}


@app.command()
def up() -> None:
    """Start the whole local system and wait; Ctrl-C or SIGTERM stops everything gracefully.

    `ready` is printed once `/healthz` answers 200: the database and Prefect answer and every
    deployment is served by the runner, which is polling. A child that dies is restarted with back-off."""
    s = _settings(own_database=True)  # the embedded database: started here, stopped at exit
    _check_start(s)
    s.home.mkdir(parents=True, exist_ok=True)
    logs = s.home / "logs"
    logs.mkdir(exist_ok=True)
    env = {**os.environ, **prefect_env(s), "KEFU_HOME": str(s.home), "KEFU_DATABASE_URL": s.database_url,
           "PYTHONUNBUFFERED": "1"}
    exe = [sys.executable, "-m", "deployments.cli"]
    children: list[Child] = []
    stopping = {"flag": False}

    def start(name: str, cmd: list[str]) -> Child:
        child = Child(name, cmd, env, logs)
        child.start()
        children.append(child)
        return child

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def check_children() -> None:
        for child in children:
            child.restart_if_dead()

    def wait_until(what: str, ok: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ok():
            if stopping["flag"]:
                raise InterruptedError
            if time.monotonic() > deadline:
                raise RuntimeError(what)
            check_children()
            time.sleep(0.2)

    health_url = f"http://{s.web_host}:{s.web_port}/healthz"
    try:
        subprocess.run([*exe, "migrate"], env=env, check=True, capture_output=True)
        if not s.prefect_api_url:
            start("prefect-server", [str(Path(sys.executable).with_name("prefect")), "server", "start",
                                     "--host", "127.0.0.1", "--port", str(s.prefect_port)])
        if s.uses_sink:
            start("smtp-sink", [*exe, "sink"])
        start("web", [*exe, "web"])
        wait_until(f"Prefect server did not become healthy; see {logs}/prefect-server.log",
                   lambda: _wait_http(f"{s.effective_prefect_api_url}/health", 0.5, []), 120)
        if not s.prefect_api_url:
            # a crash left runs executing: back to SCHEDULED before the flows are served again (only on
            # our own server: on a shared one a RUNNING run may be alive on another machine)
            recovered = subprocess.run([*exe, "recover"], env=env, capture_output=True, text=True, timeout=300)
            (logs / "recover.log").write_text(recovered.stdout + recovered.stderr, encoding="utf-8")
            if recovered.returncode:
                typer.echo(f"恢复失败，见 / recovery failed, see {logs}/recover.log", err=True)
        start("serve", [*exe, "serve"])
        last: dict = {}

        def healthy() -> bool:
            code, body = _health(health_url)
            last.update(body)
            return code == 200

        try:
            wait_until("not ready", healthy, 180)
        except RuntimeError:
            raise RuntimeError(f"not ready after 180 s: {json.dumps(last, ensure_ascii=False)}; "
                               f"see {logs}/serve.log and {logs}/web.log") from None
        ui = s.effective_prefect_api_url.removesuffix("/api")
        docs = f"API docs {s.base_url}/docs, " if s.serves_api_docs else ""
        typer.echo(f"Prefect UI   {ui}\nweb app      {s.base_url}  ({docs}health {health_url})")
        if s.serves_dev_mail:
            typer.echo(f"dev mailbox  {s.base_url}/dev/mail  (SMTP sink 127.0.0.1:{s.sink_port})")
        typer.echo(f"logs         {logs}\nready — Ctrl-C to stop", err=False)
        while not stopping["flag"]:
            check_children()
            time.sleep(0.5)
    except InterruptedError:
        pass
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        typer.echo(f"启动失败 / start-up failed: {exc}", err=True)
        _stop(children)
        raise typer.Exit(1) from None
    typer.echo("stopping …")
    _stop(children)
    typer.echo("stopped")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
