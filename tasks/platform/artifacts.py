"""The Prefect UI's side of a case — the markdown artifacts on its flow run (the case's form, who the
run waits for) — behind a small interface (`Services.artifacts`). The real one writes them through
Prefect's API; the recording fake (tests/flows) keeps the latest markdown per key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import ArtifactCreate

from models.settings import Settings


class RunArtifacts(Protocol):
    def markdown(self, key: str, markdown: str, description: str, flow_run_id: str | None = None) -> None:
        """Write the markdown artifact `key` on `flow_run_id` (default: the flow run this code runs in)."""


class PrefectArtifacts:
    def markdown(self, key: str, markdown: str, description: str, flow_run_id: str | None = None) -> None:
        if flow_run_id is None:

            create_markdown_artifact(key=key, markdown=markdown, description=description)
            return

        with get_client(sync_client=True) as client:
            client.create_artifact(ArtifactCreate(key=key, type="markdown", data=markdown,
                                                  flow_run_id=UUID(flow_run_id), description=description))


@dataclass
class RecordingArtifacts:
    """Fake: the latest markdown of every key, and how often each was written."""

    latest: dict[str, str] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)

    def markdown(self, key: str, markdown: str, description: str, flow_run_id: str | None = None) -> None:
        self.latest[key] = markdown
        self.writes[key] = self.writes.get(key, 0) + 1


def build_artifacts(settings: Settings) -> RunArtifacts:  # noqa: ARG001 - one real implementation
    return PrefectArtifacts()
