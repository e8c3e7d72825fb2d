"""Staff passwords (the embedded sign-in, issue 24): argon2id through argon2-cffi — the first choice of
OWASP's password-storage cheat sheet, memory-hard, its parameters stored in each hash so they can be
raised later (`needs_rehash`). argon2-cffi's defaults are RFC 9106's low-memory profile (t=3, 64 MiB,
p=4): about 50 ms a sign-in on this machine.

A password is checked only when the person exists and the sign-in is not locked; an unknown address
still costs one hash (a fixed dummy), so the answer's time does not tell who has a password."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks.platform.store import Store

MIN_LENGTH = 10
MAX_LENGTH = 256

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("kefu-dummy-password-for-unknown-addresses")


class PasswordRejected(ValueError):
    pass


def check_new_password(password: str) -> None:
    """ASVS V2.1: at least 10 characters (any characters, spaces and Chinese included), at most 256."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"密码至少 {MIN_LENGTH} 个字符 / the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"密码不能超过 {MAX_LENGTH} 个字符 / at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_new_password(password)
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no stored hash, the dummy is checked (same time) and False."""
    try:
        ok = _hasher.verify(stored_hash or _DUMMY, password[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def sign_in(store: Store, email: str, password: str, now: datetime, *, max_failures: int,
            lock_for: timedelta) -> str | None:
    """None when the password is right; else the reason (Chinese / English), the same for an unknown
    person and a wrong password. A locked sign-in is refused without checking the password."""
    row = store.password_of(email)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        return ("尝试次数过多，请稍后再试 / too many failed attempts; try again later")
    ok = verify(row.password_hash if row else None, password)
    store.sign_in_result(email, ok, now, max_failures=max_failures, lock_for=lock_for)
    return None if ok else "邮箱或密码错误 / wrong email or password"
