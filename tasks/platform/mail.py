"""The mail interface: one small protocol, a real implementation (yagmail over SMTP, also used
for the local dev sink) and a recording fake for unit tests. Chosen by settings."""

from __future__ import annotations

import base64
import mimetypes
import threading
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from typing import Protocol

from pydantic import BaseModel, Field

from models.settings import Settings


class Attachment(BaseModel):
    filename: str
    content_b64: str
    mime_type: str | None = None

    @classmethod
    def from_bytes(cls, filename: str, data: bytes, mime_type: str | None = None) -> "Attachment":
        return cls(filename=filename, content_b64=base64.b64encode(data).decode(), mime_type=mime_type)

    @property
    def content(self) -> bytes:
        return base64.b64decode(self.content_b64)


class OutgoingMail(BaseModel):
    """A rendered message, ready to send."""

    to: list[str]
    subject: str
    text: str
    html: str
    message_id: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    inline_images: dict[str, Attachment] = Field(default_factory=dict)  # cid -> image


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Deliver or raise. Never returns having silently dropped the message."""


def build_mime(mail: OutgoingMail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(mail.to)
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = mail.message_id or make_msgid(domain="kefu.local")
    msg.set_content(mail.text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(mail.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if mail.inline_images:
        html_part = msg.get_payload()[1]
        for cid, img in mail.inline_images.items():
            maintype, subtype = (img.mime_type or "image/png").split("/", 1)
            html_part.add_related(img.content, maintype=maintype, subtype=subtype, cid=f"<{cid}>",
                                  filename=img.filename)
    for att in mail.attachments:
        mime = att.mime_type or mimetypes.guess_type(att.filename)[0] or "application/octet-stream"
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(att.content, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg


class SmtpMailer:
    """Real SMTP through yagmail's connection handling (login, STARTTLS/SSL)."""

    def __init__(self, host: str, port: int, sender: str, user: str | None = None,
                 password: str | None = None, starttls: bool = False, ssl: bool = False,
                 timeout: float = 15.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password = user, password
        self.starttls, self.ssl, self.timeout = starttls, ssl, timeout

    def send(self, mail: OutgoingMail) -> None:
        import yagmail  # lazy: production SMTP only (≈ 120 ms)

        client = yagmail.SMTP(
            user=self.user or self.sender,
            password=self.password,
            host=self.host,
            port=self.port,
            smtp_ssl=self.ssl,
            smtp_starttls=self.starttls,
            smtp_skip_login=not self.user,
            soft_email_validation=False,
            timeout=self.timeout,
        )
        # yagmail appends "@gmail.com" to a login without "@"; SMTP logins are often plain names
        client.user = self.user or self.sender
        try:
            client.login()
            msg = build_mime(mail, self.sender)
            refused = client.smtp.sendmail(self.sender, mail.to, msg.as_bytes(policy=SMTP_POLICY))
            if refused:
                raise RuntimeError(f"SMTP refused recipients: {sorted(refused)}")
        finally:
            client.close()


class MemoryMailer:
    """Recording fake: keeps every message; can be told to fail the next N sends."""

    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []
        self.fail_next = 0
        self._lock = threading.Lock()

    def send(self, mail: OutgoingMail) -> None:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                raise ConnectionRefusedError("MemoryMailer: simulated SMTP outage")
            self.sent.append(mail)


def build_mailer(settings: Settings) -> Mailer:
    if settings.mail_backend == "memory":
        return MemoryMailer()
    if settings.uses_sink:
        return SmtpMailer("127.0.0.1", settings.sink_port, settings.mail_from)
    return SmtpMailer(
        settings.effective_smtp_host, settings.effective_smtp_port, settings.mail_from,
        user=settings.smtp_user, password=settings.smtp_password,
        starttls=settings.smtp_starttls and not settings.smtp_ssl, ssl=settings.smtp_ssl,
    )
