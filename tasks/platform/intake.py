"""Filing a case, for every procedure: `file_and_start` around a procedure's own intake (registered with
the platform, tasks/platform/procedures.py), and the refusal every intake raises (`IntakeError`, a 422).
Each case is stored with the request to start its flow run, in one transaction (`start=start_request`);
the run itself is started by a dispatcher (tasks/platform/flow_starts.py), so filing never waits on
Prefect. Used by the web API, the CLI and the flows that open linked cases."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from models.errors import describe
from tasks.platform.flow_starts import ensure_start_request, start_now
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks.platform.runtime import Services

log = logging.getLogger("kefu.intake")


def file_and_start(svc: Services, file: Callable[[], tuple[Any, bool]],
                   wake: Callable[[], None] | None = None, *, here: bool = False,
                   wait: float = 0.0) -> tuple[Any, bool]:
    """Every intake path — the web API, the CLI, a flow opening a linked case: `file()` stores the case
    with its start request (or finds it by its idempotency key); then the run is started — by the
    dispatcher woken with `wake` (the web app: never waits on Prefect), or `here` at once, waiting up
    to `wait` seconds for its run id (the CLI, a flow; if Prefect does not answer, the dispatchers
    deliver it later). Raises IntakeError for refused input (nothing stored). A repeat of a case
    filed before start requests were stored with the case gets its request now."""
    case, created = file()
    if not case.flow_run_id:
        if not created:
            ensure_start_request(svc, case)
        if here:
            case.flow_run_id = start_now(svc, case.case_no, wait=wait)
        elif wake is not None:
            wake()
    return case, created


class IntakeError(ValueError):
    """Bad input found beyond the schema (e.g. a person without the right role): one per field."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(f"{field}：{zh} / {field}: {en}")
        self.field = field
        self.details = [{"field": field, "message": str(self)}]

    @classmethod
    def many(cls, errors: list["IntakeError"]) -> "IntakeError":
        """Several fields at once (the API answers one message per field)."""
        first = errors[0]
        first.details = [d for e in errors for d in e.details]
        return first


def zh_en(exc: ValueError) -> tuple[str, str]:
    """A field's validation error as (Chinese, English)."""
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] != "value_error":
            return describe(err)["message"].split("：", 1)[1].split(" / ", 1)[0], msg
    else:
        msg = str(exc)
    zh, _, en = msg.partition(" / ")
    return zh, en or zh
