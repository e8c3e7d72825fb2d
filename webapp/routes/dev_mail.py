"""The dev mailbox (messages at the local SMTP sink): every decision link is in it, so the app includes
these routes in dev only, unless enabled (KEFU_DEV_MAIL_ENABLED)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from webapp.deps import MailboxDep
from webapp.responses import DB_INT, HTML, INVALID, INVALID_ON_PAGE, html, not_found_page

router = APIRouter(tags=["dev"])


@router.get("/dev/mail.json", summary="开发邮箱 / messages at the local SMTP sink", responses=INVALID)
def dev_mail_json(mailbox: MailboxDep, since_id: int = Query(0, ge=0, le=DB_INT), to: str | None = None) -> JSONResponse:
    return JSONResponse(mailbox.list(since_id=since_id, to=to))


@router.get("/dev/mail", response_class=HTMLResponse, responses=INVALID_ON_PAGE)
def dev_mail(mailbox: MailboxDep, to: str | None = None) -> HTMLResponse:
    msgs = list(reversed(mailbox.list(to=to)))
    return html("mailbox.html.j2", messages=msgs[:500], to=to or "")


@router.get("/dev/mail/{msg_id}", response_class=HTMLResponse, responses={
    404: {"description": "no such message", **HTML}, **INVALID_ON_PAGE})
def dev_mail_one(mailbox: MailboxDep, msg_id: int = PathParam(ge=1, le=DB_INT)) -> Response:
    m = mailbox.get(msg_id)
    if not m:
        return not_found_page()
    return html("mail_one.html.j2", m=m)


@router.get("/dev/mail/{msg_id}/html", response_class=HTMLResponse, include_in_schema=False)
def dev_mail_html(mailbox: MailboxDep, msg_id: int = PathParam(ge=1, le=DB_INT)) -> Response:
    m = mailbox.get(msg_id)
    if not m:
        return not_found_page()
    # A link clicked in the message opens in the whole window, as from a mail client (inside
    # the sandboxed frame the decision form could not be submitted).
    page = m["html"] or f"<pre style=\"white-space:pre-wrap\">{escape(m['text'] or '')}</pre>"
    return HTMLResponse(open_links_on_top(page), headers={"Content-Security-Policy": "script-src 'none'"})


def open_links_on_top(page: str) -> str:
    base = '<base target="_top">'
    head = page.lower().find("<head>")
    return page[:head + 6] + base + page[head + 6:] if head >= 0 else base + page
