"""Script injection (issue 9): case text shown on the decision page, in the request email's HTML and
in the dev mailbox is escaped — in-process, down to the text-only fallback of the mailbox's HTML view.
The whole path through real flows is tests/e2e/test_bad_input.py."""

from __future__ import annotations

from email.message import EmailMessage

from starlette.testclient import TestClient

from deployments.dev_mail import Mailbox, mailbox_path
from models.tokens import csrf_for
from tasks.human import render_request_mail
from tests.fakes import SECRET, fake_services, open_task, token_for
from webapp.app import create_app

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "<svg/onload=alert(1)>",
            "javascript:alert(1)//'\"><iframe src=javascript:alert(1)>"]
RAW_MARKERS = ["<script>alert", "<img src=x", "<svg/onload", "<iframe src=javascript"]
LEADER = "jiang.hua@huajin.example"


def assert_escaped(page: str, shown: bool = True) -> None:
    for raw in RAW_MARKERS:
        assert raw not in page, raw
    if shown:  # the text is there, as text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_case_text_is_escaped_on_the_page_in_the_email_and_in_the_mailbox(tmp_path):
    svc = fake_services(tmp_path)
    client = TestClient(create_app(svc))
    summary = {"客户": PAYLOADS[0], "规格": PAYLOADS[1], "原因": PAYLOADS[2] + PAYLOADS[3]}
    task = open_task(svc, "YP-2026-000001", "leader-approval", LEADER, summary=summary)
    token = token_for(svc, task, LEADER)

    assert_escaped(client.get(f"/t/{token}?choice=approve").text)
    # an invalid answer shows the page again with what was typed: escaped too
    again = client.post(f"/t/{token}", data={"csrf": csrf_for(SECRET, token), "choice": PAYLOADS[0],
                                              "comment": PAYLOADS[1]})
    assert again.status_code == 422 and '"><img' not in again.text and "<script>alert" not in again.text

    mail = render_request_mail(svc, task, LEADER, svc.clock.now())
    assert_escaped(mail.html)

    # the dev mailbox: the list, one message, its HTML view — and a text-only mail's fallback
    box = Mailbox(mailbox_path(svc.settings.home))
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = f"YP-2026-000001 {PAYLOADS[0]}", "kefu@example.com", LEADER
    msg.set_content("\n".join(PAYLOADS))
    text_only = box.store(msg.as_bytes(), "kefu@example.com", [LEADER])
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = mail.subject, "kefu@example.com", LEADER
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    rich = box.store(msg.as_bytes(), "kefu@example.com", [LEADER])
    assert_escaped(client.get("/dev/mail").text)
    for msg_id in (text_only, rich):
        assert_escaped(client.get(f"/dev/mail/{msg_id}").text)
        view = client.get(f"/dev/mail/{msg_id}/html")
        assert_escaped(view.text)
        assert view.headers["content-security-policy"] == "script-src 'none'"
