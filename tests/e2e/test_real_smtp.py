"""Issue 9: production mail — yagmail against an SMTP server that requires STARTTLS and login, and the
outbox when that server is down for a while: every message arrives once it is back, none twice."""

from __future__ import annotations

import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from deployments.dev_mail import parse_message
from tests.e2e.stack import Stack, free_port

pytestmark = pytest.mark.e2e

USER, PASSWORD = "kefu-mailer", "s3cret-pass"
SAMPLE = {"customer": "上海某纺织公司", "product": "32S 精梳棉纱", "spec": "32S/1", "size_class": "small",
          "quantity": 1, "reason": "客户打样"}


def _tls_context() -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1 (smtplib's STARTTLS does not verify it)."""
    d = Path(tempfile.mkdtemp(prefix="kefu-tls-"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(d / "cert.pem", d / "key.pem")
    return ctx


class AuthSmtp:
    """An SMTP server on 127.0.0.1 that refuses mail unless the client says STARTTLS and logs in;
    it can go down and come back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.tls = _tls_context()
        self.messages: list[dict] = []
        self.logins: list[str] = []
        self.failed_logins = 0
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    def _auth(self, server, session, envelope, mechanism, auth_data):  # aiosmtpd API
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER \
            and auth_data.password.decode() == PASSWORD
        with self._lock:
            if ok:
                self.logins.append(mechanism)
            else:
                self.failed_logins += 1
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd API
        assert session.authenticated and session.ssl is not None
        with self._lock:
            self.messages.append({**parse_message(envelope.original_content or envelope.content),
                                  "to": list(envelope.rcpt_tos)})
        return "250 OK"

    def up(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, authenticator=self._auth,
                                     auth_required=True, auth_require_tls=True, require_starttls=True,
                                     tls_context=self.tls)
        self.controller.start()

    def down(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    def wait(self, subject: str, count: int = 1, timeout: float = 120) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [m for m in self.messages if subject in m["subject"]]
            if len(found) >= count:
                return found
            time.sleep(0.25)
        raise AssertionError(f"no mail {subject!r}; have {[m['subject'] for m in self.messages]}")


@pytest.fixture(scope="module")
def smtp_stack(tmp_path_factory):
    smtp = AuthSmtp()
    smtp.up()
    stack = Stack.start(tmp_path_factory.mktemp("kefu-smtp"), extra_env={
        "KEFU_SMTP_HOST": "127.0.0.1", "KEFU_SMTP_PORT": str(smtp.port), "KEFU_SMTP_USER": USER,
        "KEFU_SMTP_PASSWORD": PASSWORD, "KEFU_SMTP_STARTTLS": "true", "KEFU_MAIL_FROM": "kefu@corp.example"})
    yield smtp, stack
    stack.stop()
    smtp.down()


def test_mail_goes_through_an_smtp_server_that_requires_starttls_and_login(smtp_stack):
    smtp, stack = smtp_stack
    r = stack.client.post(f"{stack.web}/api/sample-requests", json=SAMPLE)
    assert r.status_code == 201, r.text
    no = r.json()["case_no"]
    ask = smtp.wait(f"{no} 部门负责人审批")[0]
    assert smtp.logins and smtp.failed_logins == 0
    assert stack.submit(stack.link(ask, "approve")).status_code == 200
    smtp.wait(f"{no} 总经理审批")
    # the dev mailbox is not there in production mode: nothing went to a sink
    assert stack.client.get(f"{stack.web}/dev/mail.json").status_code == 404


def test_smtp_down_for_a_while_loses_nothing_and_sends_nothing_twice(smtp_stack):
    smtp, stack = smtp_stack
    smtp.down()
    numbers = []
    for _ in range(3):
        r = stack.client.post(f"{stack.web}/api/sample-requests", json=SAMPLE)
        assert r.status_code == 201, r.text
        numbers.append(r.json()["case_no"])
    time.sleep(6)  # the flows try, fail and back off while the server is down
    assert not [m for m in smtp.messages if any(n in m["subject"] for n in numbers)]
    smtp.up()
    # Prefect's retries (backoff), or the watchdog's pass for what outlived them, deliver the outbox
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if all(any(f"{n} 部门负责人审批" in m["subject"] for m in smtp.messages) for n in numbers):
            break
        stack.kefu("sla-check", timeout=120)
        time.sleep(1)
    for n in numbers:
        assert len(smtp.wait(f"{n} 部门负责人审批")) == 1
    time.sleep(3)  # a late retry would show up now
    subjects = [m["subject"] for m in smtp.messages]
    assert len(subjects) == len(set(subjects)), subjects
