"""The approval authorities (核决权限, R2, deployments/approval_authority.yaml): a config table the
returns procedure registers with the platform (`Services.tables["authority"]`), read by the returns,
the complaint's handling decision and the grievance's approvals."""

from __future__ import annotations

from pathlib import Path

from models.org import ROLES
from models.returns import AuthorityTable, load_authority
from tasks.platform.procedures import ConfigTable

AUTHORITY = "authority"


def _file(settings) -> Path:  # noqa: ANN001 - models.settings.Settings
    return settings.authority_file


def _load(path: Path, settings) -> AuthorityTable:  # noqa: ANN001, ARG001
    return load_authority(path, ROLES)


AUTHORITY_TABLE = ConfigTable(file=_file, load=_load)


def authority(svc) -> AuthorityTable:  # noqa: ANN001 - tasks.platform.runtime.Services
    """The approval authorities of these services."""
    return svc.tables[AUTHORITY]
