"""The Prefect UI's side of a case — the markdown artifacts on its flow run (the case's form, who the
run waits for) and the tables of a scheduled report — behind a small interface (`Services.artifacts`).
The real one writes them through Prefect's API; the recording fake (tests/flows) keeps the latest
markdown or table per key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate

from models.settings import Settings


class RunArtifacts(Protocol):
    def markdown(self, key: str, markdown: str, description: str, flow_run_id: str | None = None) -> None:
        """Write the markdown artifact `key` on `flow_run_id` (default: the flow run this code runs in)."""

    def table(self, key: str, rows: list[dict[str, Any]], description: str, flow_run_id: str | None = None) -> None:
        """Write the table artifact `key` (one dict per row) on `flow_run_id` (default: this flow run)."""


class PrefectArtifacts:
    def markdown(self, key: str, markdown: str, description: str, flow_run_id: str | None = None) -> None:
        if flow_run_id is None:

            create_markdown_artifact(key=key, markdown=markdown, description=description)
            return

        with get_client(sync_client=True) as client:
            client.create_artifact(ArtifactCreate(key=key, type="markdown", data=markdown,
                                                  flow_run_id=UUID(flow_run_id), description=description))

    def table(self, key: str, rows: list[dict[str, Any]], description: str, flow_run_id: str | None = None) -> None:
        if flow_run_id is None:
            create_table_artifact(key=key, table=rows, description=description)
            return
        with get_client(sync_client=True) as client:
            client.create_artifact(ArtifactCreate(key=key, type="table", data=json.dumps(rows),
                                                  flow_run_id=UUID(flow_run_id), description=description))


@dataclass
class RecordingArtifacts:
    """Fake: the latest markdown and table of every key, its description, and how often each was written."""

    latest: dict[str, str] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)

    def markdown(self, key: str, markdown: str, description: str, flow_run_id: str | None = None) -> None:
        self.latest[key] = markdown
        self._wrote(key, description)

    def table(self, key: str, rows: list[dict[str, Any]], description: str, flow_run_id: str | None = None) -> None:
        self.tables[key] = [dict(r) for r in rows]
        self._wrote(key, description)

    def _wrote(self, key: str, description: str) -> None:
        self.descriptions[key] = description
        self.writes[key] = self.writes.get(key, 0) + 1


def build_artifacts(settings: Settings) -> RunArtifacts:  # noqa: ARG001 - one real implementation
    return PrefectArtifacts()
