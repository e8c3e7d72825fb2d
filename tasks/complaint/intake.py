"""C1: filing a complaint (the complaint's intake, registered with the platform). The rules propose
its level (C3) and compute its deadlines; the case is stored with its flow-run start request."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from models.business_days import TZ
from models.complaint.handling import KIND_LABELS, complaint_deadlines, propose_level, recused_people
from models.grievance import routed_from_complaint
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import IntakeError
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.complaint.handling import ComplaintIn, Deadlines
    from models.tables import Case
    from tasks.platform.runtime import Services
    from tasks.platform.store_access import Filing


def _event_key(body: ComplaintIn) -> str | None:
    """C3 "same customer, same event": the complainant's phone with the event's time and place; a
    complaint whose time and place are both blank names no event, so it is nobody's repeat (None)."""
    phone = re.sub(r"\D", "", body.complainant.phone)
    ev = body.event
    if not ev.time.strip() and not ev.place.strip():
        return None
    return hashlib.sha1(f"{phone}|{ev.time.strip()}|{ev.place.strip()}".encode()).hexdigest()[:16]


def deadline_record(dl: Deadlines) -> dict[str, str]:
    """The case's C4/C6/C8 deadlines as stored in its data (ISO-8601, Shanghai time)."""
    return {k: getattr(dl, k).astimezone(TZ).isoformat()
            for k in ("received_at", "first_contact", "plan", "gm_report", "close", "remind_before_close")}


BACKFILL_FLOOR_YEAR = 2000  # even a backfill: no complaint received before this year


def file_complaint(svc: Services, body: ComplaintIn, idempotency_key: str | None = None, *,
                   request_fingerprint: str | None = None, backfill: bool = False,
                   filed: Filing | None = None) -> tuple[Case, bool]:
    """C1: a complaint received; the rules propose a level (C3) and compute its deadlines. `received_at`
    older than the window only with `backfill` (a caller allowed to: webapp/auth.py)."""
    receiver = body.received_by or svc.org.first_for_role("l1_handler").email
    if not svc.org.find(receiver) or not svc.org.has_role(receiver, "l1_handler"):
        raise IntakeError("received_by", f"{receiver} 不是一级受理人", f"{receiver} is not an L1 handler")
    now = svc.clock.now()
    received_at = body.received_at or now
    if received_at > now:
        raise IntakeError("received_at", "不能晚于当前时间", "must not be in the future")
    window = svc.settings.received_at_window_days
    if received_at < now - timedelta(days=window) and not backfill:
        raise IntakeError("received_at", f"不能早于 {window} 天前（补录须有 backfill 权限）",
                          f"must not be more than {window} days ago (older only with the backfill permission)")
    if received_at.astimezone(TZ).year < BACKFILL_FLOOR_YEAR:
        raise IntakeError("received_at", f"不能早于 {BACKFILL_FLOOR_YEAR} 年", f"must not be before {BACKFILL_FLOOR_YEAR}")
    key = _event_key(body)
    repeat = svc.store.first_complaint_with_event(key) if key is not None else None
    level, reasons = propose_level(body, same_customer_same_event=bool(repeat))
    dl = complaint_deadlines(received_at, level, body.category, body.foreign, svc.calendar)
    deadlines = deadline_record(dl)
    recused = sorted(recused_people(body.persons_involved,
                                    lambda s: (svc.org.find(s).email if svc.org.find(s) else None)))
    data = {"form": body.model_dump(mode="json"), "received_by": receiver, "proposed_level": level,
            "level_reasons": reasons, "deadlines": deadlines, "recused": recused, "event_key": key,
            "repeat_of": repeat, "close_rule": dl.close_rule,
            # C15's reading: a product-quality complaint naming an order is handled as a grievance (§7)
            "route": "grievance" if routed_from_complaint(body.category, body.order_no) else "complaint"}
    return svc.store.create_case(
        procedure="complaint", prefix="TS", year=received_at.astimezone(TZ).year, state="received",
        title=f"{KIND_LABELS[body.kind]} · {body.category} · {body.complainant.name}", data=data, level=level,
        idempotency_key=idempotency_key, request_fingerprint=request_fingerprint, actor=receiver, now=now,
        start=start_request, filed=filed)
