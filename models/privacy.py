"""Masking of personal data (000 «客户管理制度5»): ID-card and phone numbers never appear in full
where a person reads them (emails, pages, reports, logs, Prefect artifacts)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Mainland ID card: 17 digits + digit/X (18), or the old 15-digit form.
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3})([0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<!\d)(\d{6})(\d{6})(\d{3})(?!\d)")
# Mobile: 1[3-9]x xxxx xxxx, optionally +86 / separators.
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Landline: 0xx(x)-xxxxxxx(x)
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{3,4})(\d{4})(?!\d)")
# A UUID (a flow run's id, a task's key) is a machine identifier, never personal data, though its hex
# groups may hold a run of digits shaped like a mobile or ID number: no number is read inside one.
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


def _outside_uuids(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """The matches of `pattern` in `text` that overlap no UUID."""
    uuids = [m.span() for m in _UUID.finditer(text)]
    return [m for m in pattern.finditer(text) if not any(s < m.end() and m.start() < e for s, e in uuids)]


def _sub(pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str], text: str) -> str:
    """`pattern.sub(repl, text)`, leaving what lies in a UUID as it is."""
    out, at = [], 0
    for m in _outside_uuids(pattern, text):
        out += [text[at:m.start()], repl(m)]
        at = m.end()
    return "".join(out) + text[at:]


def mask_phone(value: str | None) -> str:
    """13812345678 → 138****5678: the first 3 and last 4 digits kept, at least one hidden; a number of 7
    digits or fewer is hidden whole (3 + 4 would show all of it)."""
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) > 7:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    return "*" * len(digits)


def mask_id_card(value: str | None) -> str:
    """110101199003071234 → 110101********1234: the first 6 and last 4 kept, at least one hidden; a value of 10
    characters or fewer is hidden whole (6 + 4 would show all of it)."""
    if not value:
        return ""
    v = value.strip()
    if len(v) <= 10:
        return "*" * len(v)
    return f"{v[:6]}{'*' * (len(v) - 10)}{v[-4:]}"


def mask_text(text: str) -> str:
    """Mask every ID-card and phone number found in free text."""
    if not text:
        return text
    # most text holds no UUID (and masking makes none): the plain substitution — mask_text runs on every page
    sub = _sub if _UUID.search(text) else (lambda pattern, repl, t: pattern.sub(repl, t))
    text = sub(_ID18, lambda m: f"{m.group(1)}********{m.group(3)}{m.group(4)}", text)
    text = sub(_ID15, lambda m: f"{m.group(1)}*****{(m.group(2) + m.group(3))[-4:]}", text)
    text = sub(_MOBILE, lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = sub(_LANDLINE, lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return text


# Values under these keys are machine tokens (signed links, CSRF fields), never personal data:
# masking a digit run inside one would break the link.
UNMASKED_KEYS = frozenset({"url", "page_url", "token", "csrf", "links"})


def mask_data(value: Any) -> Any:
    """Mask recursively: dict keys named like phone/id_card are masked, strings are scanned."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = str(k).lower()
            if key in UNMASKED_KEYS:
                out[k] = v
            elif isinstance(v, str) and ("phone" in key or "mobile" in key or key in {"tel", "fax"}):
                out[k] = mask_phone(v)
            elif isinstance(v, str) and ("id_card" in key or key in {"idcard", "id_no", "id_number"}):
                out[k] = mask_id_card(v)
            else:
                out[k] = mask_data(v)
        return out
    if isinstance(value, list):
        return [mask_data(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def find_unmasked(text: str) -> list[str]:
    """Full ID-card or mobile numbers in a text (for privacy scans in tests)."""
    return [m.group(0) for m in _outside_uuids(_ID18, text) + _outside_uuids(_MOBILE, text)]


def mask_email(value: str | None) -> str:
    """wang.fang@example.com → w***@example.com (a customer's address where staff read it)."""
    if not value or "@" not in value:
        return "*" * len(value or "")
    local, domain = value.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"
