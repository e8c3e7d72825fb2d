"""The customer archive (§2: the archive itself, A2's corrections) as the platform knows it."""

from __future__ import annotations

from deployments.names import ARCHIVE_CORRECTION
from models.archive import answers  # noqa: F401 - the procedure's answers register themselves by name
from models.tables import Case, FlowStart
from tasks.archive.intake import file_correction
from tasks.archive.store import ArchiveStoreMixin
from tasks.platform.procedures import Procedure


def start_archive_correction(case: Case) -> FlowStart:
    return FlowStart(deployment=ARCHIVE_CORRECTION, run_name=f"archive-correction-{case.case_no}",
                     tags=["procedure:archive-correction"])


PROCEDURE = Procedure(
    name="archive_correction",
    intake=file_correction,
    starts={"archive_correction": start_archive_correction},
    store_extensions=(ArchiveStoreMixin,),
)
