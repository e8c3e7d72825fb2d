"""Steps of the free-sample procedure: the slip, the workshop sample ledger, the month's totals."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from prefect import task
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.business_days import TZ
from models.samples import GATE_ITEMS, SIZE_CLASS_KG, SIZE_CLASS_LABELS, SLIP_COPIES, gate_decision, gate_pass_code, sample_weight_kg
from models.tables import Case, SampleLedgerEntry
from tasks.platform.mail import Attachment
from tasks.platform.policy import IO_TASK
from tasks.platform.render import render, render_mail
from tasks.platform.runtime import services
from tasks.platform.pdf import CopyDocument
from tasks.replay import replayed
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tasks.platform.store import Store



@replayed("read")  # bookkeeping: called in place, no task run of its own (tasks/replay.py)
@task(name="生成取样出门审批单 render slip", **IO_TASK)
def slip_context(case_no: str) -> dict[str, Any]:
    svc = services()
    case = svc.store.get_case(case_no)
    tasks = {t.step_key: t for t in svc.store.tasks_of(case_no)}
    form = case.data
    signatures = []
    for key, label in (("leader-approval", "部门负责人"), ("gm-approval", "总经理")):
        t = tasks.get(key)
        if t and t.decided_by:
            who = svc.org.find(t.decided_by)
            signatures.append({"label": label, "name": who.name if who else t.decided_by,
                               "at": t.decided_at.isoformat() if t.decided_at else ""})
    return {
        "recipients": [p.email for p in svc.org.people_for_role("production")],
        "case_no": case_no, "title": "取样出门审批单（已生效）",
        "form": {**form, "size_label": SIZE_CLASS_LABELS[form["size_class"]],
                 "unit_kg": str(SIZE_CLASS_KG[form["size_class"]]),
                 "weight_kg": str(sample_weight_kg(form["size_class"], form["quantity"]))},
        "requester": case.requested_by, "signatures": signatures, "summary": {},
    }


@replayed("skip")
@task(name="登记车间样品台账 record in sample ledger", **IO_TASK)
def record_sample_issue(case_no: str, taker: str, quantity: int, recorded_by: str) -> None:
    svc = services()
    case = svc.store.get_case(case_no)
    entry = SampleLedgerEntry(case_no=case_no, issued_at=svc.clock.now(), product=case.data["product"],
                              spec=case.data["spec"], size_class=case.data["size_class"],
                              quantity=quantity, weight_kg=sample_weight_kg(case.data["size_class"], quantity),
                              taker=taker, recorded_by=recorded_by or "")
    with svc.store.session() as s:
        if s.exec(select(SampleLedgerEntry.id).where(SampleLedgerEntry.case_no == case_no)).first():
            return  # recorded by an earlier run
        s.add(entry)
        try:
            s.commit()
        except IntegrityError:
            s.rollback()


def slip_copy_text(slip: dict[str, Any], copy_no: int, code: str = "") -> str:
    """P4: one copy of the valid slip, rendered (templates/samples/forms/sample_slip_copy.txt.j2)."""
    name, for_whom = SLIP_COPIES[copy_no]
    return render("forms/sample_slip_copy.txt.j2", copy_no_cn="一二三"[copy_no - 1], copy_name=name, copy_for=for_whom,
                  code=code, **{k: slip[k] for k in ("case_no", "form", "requester", "signatures")})


def slip_pdf(case_no: str, copy_no: int, text: str, document: type = CopyDocument) -> bytes:
    """P4: one copy of the slip as a PDF (A5) by the shared copy-document helper (tasks/platform/pdf.py): the
    rendered text under its heading, the copy's mark (第n联 name) on every page; written with `document` (the
    services' `documents`: a PDF, or its text in the flow tests)."""
    name, _for = SLIP_COPIES[copy_no]
    title, mark, *rest = text.splitlines()
    pdf = document(title=f"取样出门审批单 {case_no} 第{'一二三'[copy_no - 1]}联", mark=f"第{'一二三'[copy_no - 1]}联 {name}",
                   ref=case_no, page_format=(148, 210),  # A5
                   shared_text="".join(f"第{'一二三'[n - 1]}联{nm}{f}" for n, (nm, f) in SLIP_COPIES.items()))
    pdf.heading(title, mark)
    pdf.lines([line for line in rest if line.strip()])
    return pdf.bytes()


@task(name="出具三联单 issue the slip's three copies", **IO_TASK)
def issue_slip_copies(case_no: str) -> list[str]:
    """P4: the valid slip as three PDFs marked with copy and slip number — 留存 to marketing, 生产部 to
    production, 出门证 (with its one-time code) to the requester, who carries it to the gate. Each
    delivery is logged (event `slip_copy_sent`), once."""
    svc = services()
    slip = slip_context.fn(case_no)
    requester = slip["requester"]
    to = {1: [requester], 2: slip["recipients"], 3: [requester]}
    code = gate_pass_code(svc.settings.secret_key, case_no)
    sent = []
    for copy_no, (name, _for) in SLIP_COPIES.items():
        text = slip_copy_text(slip, copy_no, code if copy_no == 3 else "")
        mail = render_mail("notice", to[copy_no], case_no=case_no, title=f"《取样出门审批单》第{'一二三'[copy_no - 1]}联 {name}",
                           message=text, summary={})
        mail.attachments = [Attachment.from_bytes(f"{case_no}-{copy_no}-{name}.pdf", slip_pdf(case_no, copy_no, text, svc.documents),
                                                   "application/pdf")]
        if svc.store.queue_mail(f"notice:{case_no}:slip-copy-{copy_no}", case_no, mail, svc.clock.now(),
                                event=("slip_copy_sent", {"copy": copy_no, "name": name, "to": to[copy_no]})):
            sent.append(name)
    return sent


@replayed("read")  # a check already recorded is returned as it was
@task(name="记录门卫核验 record the gate check", **IO_TASK)
def record_gate_check(case_no: str, step: str, check: dict[str, Any]) -> tuple[str, str]:
    """P4: the gate's result for one check (`step`) — released (the pass is used from then on) or refused
    with the reason. A check already recorded is returned as it was (a re-run decides nothing again)."""
    svc = services()
    case = svc.store.get_case(case_no)
    checks = dict(case.data.get("gate_checks") or {})
    if step in checks:
        return checks[step]["result"], checks[step]["reason"]
    used = bool((case.data.get("gate_pass") or {}).get("used_at"))
    result, reason = gate_decision(gate_pass_code(svc.settings.secret_key, case_no), check["pass_code"], used,
                                   {k: bool(check.get(k)) for k in GATE_ITEMS}, check["decision"], check.get("note", ""))
    now = svc.clock.now()
    record = {"result": result, "reason": reason, "by": check.get("decided_by"), "at": now.astimezone(TZ).isoformat()}
    data = {"gate_check": record, "gate_checks": {**checks, step: record}}
    if result == "released":
        data["gate_pass"] = {"used_at": record["at"], "by": record["by"]}
    svc.store.update_case(case_no, actor=check.get("decided_by"), kind=f"gate_{result}", now=now, data=data,
                          event_data=record)
    return result, reason


def month_bounds(first: date) -> tuple[datetime, datetime]:
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return (datetime.combine(first, time(), TZ), datetime.combine(nxt, time(), TZ))


def stock_mismatch(case_no: str, data: dict[str, Any], counted: int) -> dict[str, Any] | None:
    """P5: a stock sample whose counted quantity, warehouse-ledger quantity and 《领用单》 quantity do not all
    agree (or with no ledger entry at all) — an exception of the month-end totals; else None."""
    ledger = (data.get("warehouse_ledger") or {}).get("quantity")
    requisition = (data.get("requisition") or {}).get("quantity")
    if ledger is not None and ledger == counted == requisition:
        return None
    return {"case_no": case_no, "counted": counted, "warehouse_ledger": ledger, "requisition": requisition}


def sample_month_totals(store: Store, first: date) -> dict[str, Any]:
    """P3: the month's issued samples from the workshop ledger, by product and size class."""
    start, end = month_bounds(first)
    with store.session() as s:
        rows = s.exec(
            select(SampleLedgerEntry.product, SampleLedgerEntry.size_class,
                   func.count(), func.sum(SampleLedgerEntry.quantity), func.sum(SampleLedgerEntry.weight_kg))
            .where(SampleLedgerEntry.issued_at >= start, SampleLedgerEntry.issued_at < end)
            .group_by(SampleLedgerEntry.product, SampleLedgerEntry.size_class)
            .order_by(SampleLedgerEntry.product, SampleLedgerEntry.size_class)
        ).all()
    lines = [{"product": p, "size_class": sc, "size_label": SIZE_CLASS_LABELS.get(sc, sc),
              "issues": int(n), "quantity": int(q or 0), "weight_kg": str(Decimal(w or 0).quantize(Decimal("0.001")))}
             for p, sc, n, q, w in rows]
    # reconcile the approved slips of the month with the ledger: issued quantity differing from the
    # slip, or a valid slip never issued

    with store.session() as s:
        slips = s.exec(select(Case).where(Case.procedure == "sample_request",
                                          Case.state.in_(("approved", "issued")),
                                          Case.created_at >= start, Case.created_at < end)).all()
        issued = {e.case_no: e for e in s.exec(select(SampleLedgerEntry).where(
            SampleLedgerEntry.case_no.in_([c.case_no for c in slips]))).all()} if slips else {}
    differences = [{"case_no": c.case_no, "approved": c.data["quantity"], "issued": issued[c.case_no].quantity}
                   for c in slips if c.case_no in issued and issued[c.case_no].quantity != c.data["quantity"]]
    unissued = [c.case_no for c in slips if c.case_no not in issued]
    # P4: an issue whose pass was never released at the gate is an exception
    no_gate_check = [c.case_no for c in slips if c.case_no in issued and not (c.data.get("gate_pass") or {}).get("used_at")]
    # P5: a sample from stock is reconciled with the storekeeper's warehouse ledger — the quantity counted
    # here, the ledger's and the GM-approved 《领用单》's must agree
    stock_mismatches = [m for c in slips if c.data.get("from_stock") and c.case_no in issued
                        for m in [stock_mismatch(c.case_no, c.data, issued[c.case_no].quantity)] if m]
    return {"month": first.strftime("%Y-%m"), "lines": lines, "differences": differences, "unissued": unissued,
            "no_gate_check": no_gate_check, "stock_mismatches": stock_mismatches,
            "issues": sum(x["issues"] for x in lines), "quantity": sum(x["quantity"] for x in lines),
            "weight_kg": str(sum((Decimal(x["weight_kg"]) for x in lines), Decimal("0.000")))}
