"""Notify: render a message from a template, queue it in the outbox under a stable key (so a re-run
queues nothing twice), then deliver the outbox with retries and backoff."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.tasks import exponential_backoff

from tasks.platform import procedures
from tasks.platform.mail import Attachment, Mailer
from tasks.platform.policy import IO_TASK, MAIL_TASK
from tasks.platform.render import render_mail
from tasks.platform.runtime import Services, services
from tasks.platform.store import Store, outbox_to_mail
from tasks.replay import replayed, replaying, run_logger
from datetime import datetime


def deliver_outbox(store: Store, mailer: Mailer, now: datetime, *, case_no: str | None = None,
                   limit: int = 100) -> tuple[int, int]:
    """Send claimed messages; returns (sent, failed). A failed message is released for a later try —
    or, after the store's `mail_max_attempts`, dead-lettered and never tried again."""
    sent = failed = 0
    for row in store.claim_unsent(now, case_no=case_no, limit=limit, lease=timedelta(minutes=2)):
        try:
            mailer.send(outbox_to_mail(row))
        except Exception as exc:  # noqa: BLE001 - any SMTP failure: keep the message, retry later
            store.release(row.id, f"{type(exc).__name__}: {exc}", now)
            failed += 1
        else:
            store.mark_sent(row.id, now)
            sent += 1
    return sent, failed


class MailNotDelivered(RuntimeError):
    pass


# inside a task that does more than mail (tasks/human.py `ask_for_decision`): the mail task's
# retries and backoff, made in place, so that SMTP being down neither fails nor repeats the rest
MAIL_RETRY_DELAYS = exponential_backoff(backoff_factor=1)(MAIL_TASK["retries"])


def deliver_now(svc: Services, case_no: str | None, delays: list[float] | None = None) -> int:
    """Deliver this case's outbox with retries and backoff; returns how many were sent. What still
    fails stays in the outbox for the watchdog (logged, never raised)."""
    sent = 0
    for delay in [*(MAIL_RETRY_DELAYS if delays is None else delays), None]:
        done, failed = deliver_outbox(svc.store, svc.mailer, svc.clock.now(), case_no=case_no)
        sent += done
        if not failed:
            return sent
        if delay is None:
            break
        svc.clock.sleep(delay * (1 + random.uniform(-MAIL_TASK["retry_jitter_factor"], MAIL_TASK["retry_jitter_factor"])))
    run_logger().warning("mail for %s stays in the outbox; the watchdog will retry", case_no)
    return sent


@replayed("skip")
@task(name="发送邮件 deliver mail", **MAIL_TASK)
def deliver_mail(case_no: str | None = None) -> int:
    """Deliver this case's queued messages. Raises (and so retries with backoff) while SMTP fails;
    what still fails afterwards stays in the outbox for the watchdog."""
    svc = services()
    sent, failed = deliver_outbox(svc.store, svc.mailer, svc.clock.now(), case_no=case_no)
    if failed:
        raise MailNotDelivered(f"{failed} message(s) not delivered for {case_no}")
    return sent


@task(name="通知 notify", **IO_TASK)
def queue_notice(case_no: str, key: str, template: str, to: list[str], context: dict[str, Any],
                 attachments: list[Attachment] | None = None, event: str | None = None) -> bool:
    """Render and queue one notice, once per (case, key)."""
    svc = services()
    for check in procedures.notice_checks():  # e.g. C17: a grievance form copy never to a customer
        check(svc, to, attachments or [])
    mail = render_mail(template, to, **context)
    if attachments:
        mail.attachments = attachments
    return svc.store.queue_mail(f"notice:{case_no}:{key}", case_no, mail, svc.clock.now(),
                                event=(event, {"to": to, "key": key}) if event else None)


def notify(case_no: str, key: str, template: str, to: list[str], context: dict[str, Any],
           attachments: list[Attachment] | None = None, event: str | None = None) -> None:
    """Render, queue, deliver. Safe to re-run: the same key never sends twice (and a replayed
    cycle of the run, tasks/replay.py, does neither: it was done before)."""
    if replaying(case_no):
        return
    queue_notice(case_no, key, template, to, context, attachments, event)
    state = deliver_mail(case_no, return_state=True)
    if state.is_failed():
        get_run_logger().warning("mail for %s stays in the outbox; the watchdog will retry", case_no)
