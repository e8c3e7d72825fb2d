"""Signed, expiring decision links. A token binds one human task to one person.

Single use is enforced by the task's state in the database (a decided task accepts nothing more);
the signature makes forged or altered tokens worthless. Pure: `now` is passed in."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "kefu.decision-link.v1"
MAX_TASK_ID = 2**31 - 1  # human_tasks.id is an INTEGER (32-bit on PostgreSQL)
MAX_AGE_DAYS = 3650  # no link lives longer, whatever it says


@dataclass(frozen=True)
class LinkClaim:
    task_id: int
    person: str
    expires_at: int  # epoch seconds


class InvalidToken(Exception):
    """Forged, altered, malformed or expired."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT)


ISSUED_AHEAD_DAYS = 7


def make_token(secret: str, task_id: int, person: str, now: datetime, max_age_days: int) -> str:
    exp = int(now.timestamp()) + max_age_days * 86400
    return _serializer(secret).dumps([task_id, person.lower(), exp])


def read_token(secret: str, token: str, now: datetime, max_age_days: int | None = None) -> LinkClaim:
    """The link's claim, strictly typed: a task id within the database's integer range (never true/false),
    a person's address, an expiry no further ahead than `max_age_days` (the setting; at most
    MAX_AGE_DAYS) from `now`. Anything else is InvalidToken, as a forged link is."""
    try:
        task_id, person, exp = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("bad signature") from exc
    if type(task_id) is not int or type(exp) is not int or not isinstance(person, str):
        raise InvalidToken("bad payload")
    if not 1 <= task_id <= MAX_TASK_ID or not 0 < len(person) <= 200 or any(ord(c) < 32 for c in person):
        raise InvalidToken("bad payload")
    # a link may have been issued as of a later time than the reader's clock: a watchdog pass run with
    # `kefu sla-check --now` ahead (up to ISSUED_AHEAD_DAYS), or another machine's clock
    if exp > now.timestamp() + (min(max_age_days or MAX_AGE_DAYS, MAX_AGE_DAYS) + ISSUED_AHEAD_DAYS) * 86400:
        raise InvalidToken("expiry beyond the longest a link lives")
    if now.timestamp() > exp:
        raise InvalidToken("expired")
    return LinkClaim(task_id=task_id, person=person, expires_at=exp)


def csrf_for(secret: str, token: str) -> str:
    """The hidden form field that proves a POST comes from the page we rendered for this link."""
    return hmac.new(secret.encode(), f"csrf:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(secret: str, token: str, value: str | None) -> bool:
    # bytes: compare_digest refuses str with non-ASCII characters (a forged field may have them)
    return bool(value) and hmac.compare_digest(csrf_for(secret, token).encode(), (value or "").encode())
