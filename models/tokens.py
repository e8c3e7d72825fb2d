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


@dataclass(frozen=True)
class LinkClaim:
    task_id: int
    person: str
    expires_at: int  # epoch seconds


class InvalidToken(Exception):
    """Forged, altered, malformed or expired."""


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_SALT)


def make_token(secret: str, task_id: int, person: str, now: datetime, max_age_days: int) -> str:
    exp = int(now.timestamp()) + max_age_days * 86400
    return _serializer(secret).dumps([task_id, person.lower(), exp])


def read_token(secret: str, token: str, now: datetime) -> LinkClaim:
    try:
        task_id, person, exp = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError) as exc:
        raise InvalidToken("bad signature") from exc
    if not isinstance(task_id, int) or not isinstance(person, str) or not isinstance(exp, int):
        raise InvalidToken("bad payload")
    if now.timestamp() > exp:
        raise InvalidToken("expired")
    return LinkClaim(task_id=task_id, person=person, expires_at=exp)


def csrf_for(secret: str, token: str) -> str:
    """The hidden form field that proves a POST comes from the page we rendered for this link."""
    return hmac.new(secret.encode(), f"csrf:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(secret: str, token: str, value: str | None) -> bool:
    # bytes: compare_digest refuses str with non-ASCII characters (a forged field may have them)
    return bool(value) and hmac.compare_digest(csrf_for(secret, token).encode(), (value or "").encode())
