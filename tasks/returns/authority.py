"""The approval authorities (核决权限, R2, deployments/approval_authority.yaml): a config table the
returns procedure registers with the platform (`Services.tables["authority"]`), read by the returns,
the complaint's handling decision and the grievance's approvals."""

from __future__ import annotations

from pathlib import Path

from models.org import ROLES
from models.returns import AuthorityTable, load_authority
from tasks.platform.procedures import ConfigTable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.settings import Settings
    from tasks.platform.runtime import Services

AUTHORITY = "authority"


def _file(settings: Settings) -> Path:
    return settings.authority_file


def _load(path: Path, settings: Settings) -> AuthorityTable:  # noqa: ARG001 - ConfigTable's signature
    return load_authority(path, ROLES)


AUTHORITY_TABLE = ConfigTable(file=_file, load=_load)


def authority(svc: Services) -> AuthorityTable:
    """The approval authorities of these services."""
    return svc.tables[AUTHORITY]
