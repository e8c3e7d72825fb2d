"""The access part of `Store` (mixed into it, issue 24): API keys, staff passwords and sessions, and the
case list a staff member may see (C24 need-to-know).

Secrets are never stored: an API key and a session id as their SHA-256, a password as its argon2id
hash (hashed by the caller, tasks/platform/passwords.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.access import key_hash
from models.tables import ApiKey, Case, HumanTask, StaffPassword, StaffSession
from tasks.platform import procedures
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Delete
    from sqlmodel import Session

# a key's last use is written at most this often (not a database write per request)
LAST_USED_EVERY = timedelta(minutes=1)


class AccessError(ValueError):
    """A request the access store refuses; the message is Chinese / English."""


class KeyRevoked(Exception):
    """The API key a case is filed with was revoked (or is gone): nothing is filed (webapp: 401)."""


@dataclass(frozen=True)
class Filing:
    """Who files a case, recorded in its first event (`filed_by`, `filed_via`): an API key's name
    (`via="api_key"`, its id in `api_key_id`), a signed-in staff member (`via="staff"`), an operator
    at the command line (`via="cli"`). With an `api_key_id` the key is checked live in the filing's
    own transaction (`Store.create_case`): a key revoked a moment ago, by any process, files nothing."""
    by: str
    via: str
    api_key_id: int | None = None

    def event_data(self) -> dict[str, str]:
        return {"filed_by": self.by, "filed_via": self.via}


class AccessStoreMixin:
    # ---- API keys ----------------------------------------------------------------------------------
    def add_api_key(self, *, name: str, key: str, scopes: list[str], by: str, now: datetime,
                    person: str | None = None) -> ApiKey:
        """A new key; with `person` (an org-directory email) it files as that person only."""
        row = ApiKey(name=name, key_hash=key_hash(key), hint=key[:9], scopes=list(scopes), created_by=by,
                     created_at=now, person=person)
        with self.session() as s:
            s.add(row)
            try:
                s.commit()
            except IntegrityError:
                raise AccessError(f"已有名为 {name} 的密钥 / a key named {name} exists already") from None
            s.refresh(row)
            return row

    def api_keys(self) -> list[ApiKey]:
        with self.session() as s:
            return list(s.exec(select(ApiKey).order_by(ApiKey.id)).all())

    def revoke_api_key(self, name_or_id: str, now: datetime) -> ApiKey:
        with self.session() as s:
            cond = ApiKey.name == name_or_id
            if name_or_id.isdigit() and len(name_or_id) < 10:
                cond = or_(cond, ApiKey.id == int(name_or_id))
            row = s.exec(select(ApiKey).where(cond)).first()
            if row is None:
                raise AccessError(f"没有此密钥 {name_or_id} / no such key {name_or_id}")
            if row.revoked_at is None:
                row.revoked_at = now
                s.add(row)
                s.commit()
                s.refresh(row)
            return row

    def api_key_for(self, key: str, now: datetime) -> ApiKey | None:
        """The live key with this value (its hash), noting when it was last used; None if unknown or revoked."""
        with self.session() as s:
            row = s.exec(select(ApiKey).where(ApiKey.key_hash == key_hash(key))).first()
            if row is None or row.revoked_at is not None:
                return None
            if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
                row.last_used_at = now
                s.add(row)
                s.commit()
                s.refresh(row)
            return row

    def check_key_in(self, s: Session, key_id: int, now: datetime) -> None:
        """Inside a caller's transaction (the intake's own: no connection, pre-ping or transaction of
        its own): KeyRevoked unless the key is live; its last use noted at most every LAST_USED_EVERY."""
        row = s.execute(select(ApiKey.revoked_at, ApiKey.last_used_at).where(ApiKey.id == key_id)).first()
        if row is None or row.revoked_at is not None:
            raise KeyRevoked(key_id)
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            s.execute(update(ApiKey).where(ApiKey.id == key_id, or_(ApiKey.last_used_at.is_(None),
                                                                    ApiKey.last_used_at <= now - LAST_USED_EVERY))
                      .values(last_used_at=now))

    # ---- staff passwords ---------------------------------------------------------------------------
    def set_password_hash(self, email: str, password_hash: str, now: datetime) -> int:
        """Store a new password hash (unlocking the sign-in) and end the person's sessions; returns how many ended."""
        with self.session() as s:
            row = s.exec(select(StaffPassword).where(StaffPassword.email == email.lower())).first()
            row = row or StaffPassword(email=email.lower(), password_hash="")
            row.password_hash, row.set_at, row.failed_attempts, row.locked_until = password_hash, now, 0, None
            s.add(row)
            s.commit()
        return self.end_sessions(email, now)

    def password_of(self, email: str) -> StaffPassword | None:
        with self.session() as s:
            return s.exec(select(StaffPassword).where(StaffPassword.email == email.lower())).first()

    def sign_in_result(self, email: str, ok: bool, now: datetime, *, max_failures: int,
                       lock_for: timedelta) -> None:
        """A success resets the failures; the `max_failures`-th failure in a row locks the sign-in for `lock_for`."""
        with self.session() as s:
            row = s.exec(select(StaffPassword).where(StaffPassword.email == email.lower())).first()
            if row is None:
                return
            if ok:
                row.failed_attempts, row.locked_until = 0, None
            else:
                row.failed_attempts += 1
                if row.failed_attempts >= max_failures:
                    row.failed_attempts, row.locked_until = 0, now + lock_for
            s.add(row)
            s.commit()

    # ---- staff sessions ----------------------------------------------------------------------------
    def start_session(self, email: str, sid: str, via: str, now: datetime, lifetime: timedelta) -> None:
        """A new session; the dead ones (expired or ended) are deleted in the same transaction."""
        with self.session() as s:
            s.execute(_dead_sessions(now))
            s.add(StaffSession(sid_hash=_sha(sid), email=email.lower(), via=via, created_at=now,
                               expires_at=now + lifetime))
            s.commit()

    def session_email(self, sid: str, now: datetime) -> str | None:
        with self.session() as s:
            row = s.exec(select(StaffSession).where(StaffSession.sid_hash == _sha(sid))).first()
            if row is None or row.ended_at is not None or row.expires_at <= now:
                return None
            return row.email

    def end_session(self, sid: str, now: datetime) -> None:
        with self.session() as s:
            row = s.exec(select(StaffSession).where(StaffSession.sid_hash == _sha(sid))).first()
            if row is not None and row.ended_at is None:
                row.ended_at = now
                s.add(row)
                s.commit()

    def remove_dead_sessions(self, now: datetime) -> int:
        """Delete the sessions that expired or ended (one DELETE on an index; the watchdog and every
        sign-in run it); returns how many."""
        with self.session() as s:
            n = s.execute(_dead_sessions(now)).rowcount
            s.commit()
            return int(n or 0)

    def end_sessions(self, email: str, now: datetime) -> int:
        with self.session() as s:
            rows = s.exec(select(StaffSession).where(StaffSession.email == email.lower(),
                                                     StaffSession.ended_at.is_(None))).all()
            for row in rows:
                row.ended_at = now
                s.add(row)
            s.commit()
            return len(rows)


def _dead_sessions(now: datetime) -> Delete:  # a DELETE statement
    return delete(StaffSession).where(or_(StaffSession.expires_at <= now, StaffSession.ended_at.is_not(None)))


def on_case(people: Iterable[str]) -> ColumnElement[bool]:  # a SQL condition on Case
    """The cases any of `people` is on (C24): as requester, or as a task's assignee, escalation target
    or decider, or as the procedures' own records say (a complaint's receiver or handler:
    `Procedure.case_people`)."""
    people = sorted({p.lower() for p in people})
    tasks = select(HumanTask.case_no).where(or_(
        func.lower(HumanTask.assignee).in_(people), func.lower(HumanTask.escalated_to).in_(people),
        func.lower(HumanTask.decided_by).in_(people)))
    own = [Case.case_no.in_(query(people)) for query in procedures.case_people()]  # the procedures' records
    return or_(func.lower(Case.requested_by).in_(people), Case.case_no.in_(tasks), *own)


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
