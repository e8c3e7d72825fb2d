"""The clock interface: the real one and a settable fake. Rules take `now`; this is where it comes from.
The waits between the tries of a task done in place (mail delivery, bookkeeping: `tasks/replay.py`,
`tasks/notify.py`) are on the clock too, so that the fake moves on instead of sleeping."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FixedClock:
    """A fake clock for tests: stands still until moved."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at = self.at + timedelta(**kw)

    def sleep(self, seconds: float) -> None:
        """A wait between tries: the time passes at once (a retried step costs no real time in tests)."""
        self.advance(seconds=seconds)
