"""Issue 9 / 000 «客户管理制度5»: no full ID-card or phone number anywhere a person reads.

Runs last (file order): scans every email, page and API answer, log line and Prefect artifact and
flow-run log produced by the end-to-end tests before it, across every stack they started."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from deployments.dev_mail import mailbox_path
from tests.e2e.stack import HOMES, SEEN_RESPONSES

pytestmark = pytest.mark.e2e

_URL = re.compile(r"https?://\S+|/t/[A-Za-z0-9._-]+")
_FULL = re.compile(r"(?<![0-9A-Za-z])(?:1[3-9]\d{9}|\d{17}[\dXx])(?![0-9A-Za-z])")


def full_numbers(text: str) -> list[str]:
    """Full mobile or 18-digit ID-card numbers in `text` (links are machine tokens: left out)."""
    return _FULL.findall(_URL.sub(" ", text or ""))


def test_the_scanner_finds_what_it_must():
    assert full_numbers("客户电话 13812345678，身份证 11010519491231002X") == ["13812345678", "11010519491231002X"]
    assert full_numbers("138****5678 110105********002X http://x/t/13812345678.abc") == []


def _messages(text: str) -> list[dict] | None:
    """The messages of a /dev/mail.json answer, or None when it is not a list of them."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, list) and all(isinstance(m, dict) for m in data) else None


def test_a_mailbox_answer_is_judged_message_by_message_and_anything_else_whole():
    assert _messages('[{"subject": "a", "text": "b"}]') == [{"subject": "a", "text": "b"}]
    assert _messages('{"detail": "13812345678"}') is None and _messages("not json") is None


def _sources(stack) -> list[tuple[str, str]]:
    out = []
    for url, text in SEEN_RESPONSES:
        messages = _messages(text) if "/dev/mail.json" in url else None
        if messages is not None:  # the dev mailbox's API: each message judged as the mail it is
            out += [(f"mail {m.get('subject', '')}", "\n".join(str(v) for v in m.values())) for m in messages]
        else:  # any other response, and the mailbox API's refusals ({"detail": …}), as a whole
            out.append((f"response {url}", text))
    for home in HOMES:
        for log in [*home.glob("logs/*.log"), home / "kefu-up.out"]:
            if log.exists():
                out.append((str(log), log.read_text(errors="replace")))
        box = mailbox_path(home)
        if box.exists():
            with sqlite3.connect(box) as db:
                for subject, text, html in db.execute("SELECT subject, text, html FROM messages"):
                    out.append((f"mail {subject}", f"{subject}\n{text}\n{html}"))
    offset = 0
    while True:  # every Prefect artifact of the session's stack
        page = stack.prefect("POST", "/artifacts/filter", json={"limit": 200, "offset": offset}).json()
        out += [(f"artifact {a.get('key')}", str(a.get("data")) + str(a.get("description"))) for a in page]
        if len(page) < 200:
            break
        offset += 200
    offset = 0
    while True:  # and every flow-run log line
        page = stack.prefect("POST", "/logs/filter", json={"limit": 200, "offset": offset}).json()
        out += [("prefect log", entry["message"]) for entry in page]
        if len(page) < 200 or offset > 200_000:
            break
        offset += 200
    return out


def _work_phones() -> set[str]:
    """The staff's work phones (deployments/org.yaml): C20 gives the handler's to the customer."""
    from pathlib import Path

    from models.org import load_org

    org = load_org(Path(__file__).resolve().parents[2] / "deployments" / "org.yaml")
    return {p.phone for p in org.people if p.phone}


def given_to_the_customer(where: str, number: str, work_phones: set[str]) -> bool:
    """C20: the handler's direct phone, unmasked in the customer's own process notice (受理告知) only."""
    return where.startswith("mail 【受理告知】") and number in work_phones


def test_the_handlers_work_phone_is_allowed_only_in_the_customers_notice():
    phones = {"13900000006"}
    assert given_to_the_customer("mail 【受理告知】您的投诉 TS-2026-000001", "13900000006", phones)
    assert not given_to_the_customer("mail 【通知】TS-2026-000001 抄送", "13900000006", phones)
    assert not given_to_the_customer("mail 【受理告知】您的投诉 TS-2026-000001", "13812345678", phones)


def test_no_full_id_card_or_phone_number_anywhere_a_person_reads(stack):
    sources = _sources(stack)
    assert len(sources) > 50, "the scan must run after the end-to-end tests (file order)"
    work = _work_phones()
    leaks = [(where, n) for where, text in sources for n in full_numbers(text)
             if not given_to_the_customer(where, n, work)]
    assert not leaks, leaks[:20]
