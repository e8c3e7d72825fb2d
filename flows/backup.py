"""定期备份 — the scheduled backup of the application database (§2 A4)."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from prefect import flow, get_run_logger, task

from deployments.names import ARCHIVE_BACKUP, flow_name
from tasks.platform.policy import IO_TASK
from models.settings import get_settings
from tasks.platform.backup import backup_database


@task(name="备份数据库 back up the database", **IO_TASK)
def back_up() -> str:
    s = get_settings()
    return str(backup_database(s.database_url, s.backup_dir, s.backup_keep))


@flow(name=flow_name(ARCHIVE_BACKUP), log_prints=True)
def archive_backup() -> str:
    path = back_up()
    get_run_logger().info("backup written: %s", path)
    return path
