"""The local SMTP sink for development: an aiosmtpd server on 127.0.0.1 that keeps every message
in a SQLite mailbox under $KEFU_HOME/mail, so a person can read it at /dev/mail (survives restarts)."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import threading
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

URL_RE = re.compile(r"https?://[^\s\"'<>]+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT,
    mail_from TEXT,
    rcpt TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT NOT NULL,
    links TEXT NOT NULL,
    attachments TEXT NOT NULL,
    received_at TEXT NOT NULL,
    raw BLOB NOT NULL
)"""


def parse_message(raw: bytes) -> dict[str, Any]:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part else ""
    html = html_part.get_content() if html_part else ""
    links: list[str] = []
    for url in URL_RE.findall(text) + URL_RE.findall(html):
        url = url.replace("&amp;", "&").rstrip(".,;)")
        if url not in links:
            links.append(url)
    attachments = [
        {"filename": part.get_filename(), "content_type": part.get_content_type(),
         "size": len(part.get_payload(decode=True) or b"")}
        for part in msg.iter_attachments() if part.get_filename()
    ]
    return {"message_id": msg.get("Message-ID"), "subject": str(msg.get("Subject", "")),
            "text": text, "html": html, "links": links, "attachments": attachments}


class Mailbox:
    """The dev mailbox (SQLite, thread-safe enough for a dev server)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as con:
            con.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.row_factory = sqlite3.Row
        return con

    def store(self, raw: bytes, mail_from: str, rcpt: list[str]) -> int:
        parsed = parse_message(raw)
        with self._lock, self._connect() as con:
            cur = con.execute(
                "INSERT INTO messages (message_id, mail_from, rcpt, subject, text, html, links,"
                " attachments, received_at, raw) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (parsed["message_id"], mail_from, json.dumps(rcpt), parsed["subject"], parsed["text"],
                 parsed["html"], json.dumps(parsed["links"]), json.dumps(parsed["attachments"]),
                 datetime.now(timezone.utc).isoformat(), raw),
            )
            return int(cur.lastrowid)

    def _row(self, r: sqlite3.Row) -> dict[str, Any]:
        return {"id": r["id"], "to": json.loads(r["rcpt"]), "from": r["mail_from"],
                "subject": r["subject"], "text": r["text"], "html": r["html"],
                "links": json.loads(r["links"]), "attachments": json.loads(r["attachments"]),
                "message_id": r["message_id"], "received_at": r["received_at"]}

    def list(self, since_id: int = 0, to: str | None = None) -> list[dict[str, Any]]:
        with self._connect() as con:
            rows = con.execute("SELECT * FROM messages WHERE id > ? ORDER BY id", (since_id,)).fetchall()
        out = [self._row(r) for r in rows]
        if to:
            out = [m for m in out if to.lower() in [t.lower() for t in m["to"]]]
        return out

    def get(self, msg_id: int) -> dict[str, Any] | None:
        with self._connect() as con:
            r = con.execute("SELECT * FROM messages WHERE id = ?", (msg_id,)).fetchone()
        return self._row(r) if r else None

    def raw(self, msg_id: int) -> bytes | None:
        with self._connect() as con:
            r = con.execute("SELECT raw FROM messages WHERE id = ?", (msg_id,)).fetchone()
        return bytes(r["raw"]) if r else None


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # aiosmtpd API
        self.mailbox.store(envelope.original_content or envelope.content, envelope.mail_from,
                           list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def mailbox_path(home: Path) -> Path:
    return Path(home) / "mail" / "mailbox.db"


def run_sink(home: Path, port: int, host: str = "127.0.0.1") -> None:
    """Run the sink until SIGTERM/SIGINT."""

    from aiosmtpd.controller import Controller  # lazy: the dev SMTP sink only

    mailbox = Mailbox(mailbox_path(home))
    controller = Controller(_Handler(mailbox), hostname=host, port=port, decode_data=False,
                            data_size_limit=50 * 1024 * 1024)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"dev SMTP sink on {host}:{port}, mailbox {mailbox.path}", flush=True)
    stop.wait()
    controller.stop()
