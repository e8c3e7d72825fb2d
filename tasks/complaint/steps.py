"""Steps of complaint handling (§1): the 《投诉处理单》 artifact, notices to people and customers,
violations, outcome, linked cases, closing and archiving. Each is idempotent (safe on re-run)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from prefect import get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.business_days import TZ
from models.complaint.group import suggest_groups
from models.complaint.handling import (
    CHANNEL_LABELS,
    FORWARDER_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    OUTCOME_LABELS,
    SATISFACTION_LABELS,
    Penalty,
    closing_without_satisfaction_penalty,
    complaint_deadlines,
    first_contact_penalty,
    retention_until,
    routing_penalty,
    starts_return_flow,
)
from models.complaint.hours import (
    department_analysis_due,
    hour_deadlines,
    major_report_due,
    major_solution_due,
    met,
    minor_feedback_due,
    process_steps,
)
from models.complaint.library import library_entry, search
from models.privacy import mask_data
from models.returns import Quantity, ReturnRequestIn
from models.tables import Case, PenaltyRecord
from tasks.cases import publish_form
from tasks.complaint.intake import deadline_record
from tasks.complaint.notices import inquiry_if_late
from tasks.notify import deliver_outbox, notify
from tasks.platform.flow_starts import start_request
from tasks.platform.intake import file_and_start
from tasks.platform.policy import IO_TASK
from tasks.platform.render import render, render_mail
from tasks.platform.runtime import Services, services
from tasks.replay import replayed
from tasks.returns.intake import file_return


def complaint_summary(case: dict[str, Any]) -> dict[str, Any]:
    """What an approver needs to decide, from the 《投诉处理单》 (personal data masked at render)."""
    f = case["data"]["form"]
    d = case["data"].get("deadlines", {})
    c = f["complainant"]
    out = {
        "投诉编号": case["case_no"],
        "级别": LEVEL_LABELS.get(case["level"] or 0, "待定"),
        "类型 / 类别": f"{KIND_LABELS[f['kind']]} / {f['category']}",
        "渠道": CHANNEL_LABELS[f["channel"]],
        "投诉人": f"{c['name']}（{c['phone']}）",
        "事件": f"{f.get('event', {}).get('time', '')} {f.get('event', {}).get('place', '')}".strip() or "—",
        "门店": "、".join(f.get("stores") or []) or "—",
        "产品": "、".join(f"{p['name']}（{p['code']}）" for p in f.get("products") or []) or "—",
        "投诉内容": f["description"],
        "客户诉求": f.get("demand") or "—",
    }
    if f.get("forwarded"):  # C28
        fw = f["forwarded"]
        out["转来单位"] = f"{FORWARDER_LABELS[fw['forwarder']]}：{fw['forwarder_name']}（文号 {fw['reference']}）"
        out["公司收到时间"] = fw["company_received_at"][:16].replace("T", " ")
    if case.get("parent"):
        out["关联案件"] = f"由 {case['parent']} 升级"
    if d.get("close"):
        out["结案期限"] = d["close"][:16].replace("T", " ")
    return out


def _case_markdown(svc: Services, case_no: str) -> str:
    case = svc.store.get_case(case_no)
    return render("forms/complaint_form.md.j2", case=case, data=mask_data(case.data),
                  events=svc.store.events(case_no), tasks=svc.store.tasks_of(case_no),
                  labels={"kind": KIND_LABELS, "channel": CHANNEL_LABELS, "forwarder": FORWARDER_LABELS, "level": LEVEL_LABELS,
                          "outcome": OUTCOME_LABELS, "satisfaction": SATISFACTION_LABELS})


@replayed("skip")
@task(name="更新投诉处理单 update complaint form", **IO_TASK)
def publish_complaint_form(case_no: str) -> None:
    """The 《投诉处理单》 as a Prefect markdown artifact, kept current (personal data masked)."""
    publish_form.fn(case_no, _case_markdown(services(), case_no), f"complaint-form-{case_no.lower()}")


@task(name="记录负激励 record violation", **IO_TASK)
def record_penalty(case_no: str, penalty: Penalty) -> bool:
    return save_penalty(services(), case_no, penalty)


def save_penalty(svc: Services, case_no: str, penalty: Penalty) -> bool:
    """One violation per case and rule (re-runs and watchdog passes record it once)."""
    now = svc.clock.now()
    with svc.store.session() as s:
        if s.exec(select(PenaltyRecord.id).where(PenaltyRecord.case_no == case_no,
                                                 PenaltyRecord.rule == penalty.rule)).first():
            return False
        s.add(PenaltyRecord(case_no=case_no, handler=penalty.handler, rule=penalty.rule,
                            amount=penalty.amount, reason=penalty.reason, at=now))
        try:
            s.commit()
        except IntegrityError:
            return False
    svc.store.add_event(case_no, "penalty_recorded", actor="system", now=now,
                        data={"handler": penalty.handler, "rule": penalty.rule,
                              "amount": str(penalty.amount), "reason": penalty.reason})
    return True


@replayed("skip")
@task(name="核查首次联系时限 check first contact", **IO_TASK)
def check_first_contact(case_no: str) -> str | None:
    """C4/C12: a first contact later than 1 business day records the ¥30 violation."""
    svc = services()
    case = svc.store.get_case(case_no)
    t = svc.store.find_task(case_no, "first-contact")
    if t is None or t.decided_at is None:
        return None
    received = datetime.fromisoformat(case.data["deadlines"]["received_at"])
    p = first_contact_penalty(received, t.decided_at, svc.clock.now(), svc.calendar,
                              handler=t.decided_by or t.assignee)
    if "first_contact_at" not in case.data:
        svc.store.update_case(case_no, actor=t.decided_by, kind="first_contact_recorded", now=svc.clock.now(),
                              data={"first_contact_at": t.decided_at.astimezone(TZ).isoformat()},
                              event_data={"late": p is not None})
    if p is not None:
        save_penalty(svc, case_no, p)
        return p.reason
    return None


@replayed("skip")
@task(name="核实满意度 check the satisfaction was asked", **IO_TASK)
def check_satisfaction_asked(case_no: str, finding: str, note: str) -> str | None:
    """C9/C12: the return visit asks the customer whether they were asked how satisfied they are; a
    customer never asked costs the handler ¥50, an answer not theirs (私自填写舞弊) ¥100 — the ends of
    the seed's 视情 50–100 range."""
    if finding == "confirmed":
        return None
    svc = services()
    case = svc.store.get_case(case_no)
    sat = svc.store.find_task(case_no, "satisfaction")
    handler = case.data.get("handler") or (sat.decided_by if sat else "") or ""
    faked = finding == "faked"
    p = closing_without_satisfaction_penalty(Decimal("100" if faked else "50"), handler=handler, faked=faked,
                                             reason=f"回访核实：{note}"[:200])
    save_penalty(svc, case_no, p)
    return p.reason


@replayed("skip")
@task(name="记录未按受理权责操作 record routing violation", **IO_TASK)
def record_routing_violation(case_no: str, amount: str, reason: str, reviewer: str) -> str | None:
    """C5/C12: the reviewer found the handler did not follow the routing and guidance (未按受理权责及业务
    指引操作) and set the 视情 amount (¥30–100) on the review."""
    if Decimal(amount) == 0:
        return None
    svc = services()
    handler = svc.store.get_case(case_no).data.get("handler") or ""
    p = routing_penalty(amount, handler=handler, reason=(reason or f"审核人 {reviewer} 认定")[:200])
    save_penalty(svc, case_no, p)
    return p.reason


@replayed("skip")
@task(name="转交与上报 pass the form on", **IO_TASK)
def pass_on(case_no: str, handler: str, roles: list[str], recused: list[str], summary: dict[str, Any], message: str,
            key: str) -> None:
    """C5: the form goes at once to the case's handler — the person, not every holder of the level's
    role, so a holder complained about (recused) never gets it — and is reported to the holders of
    `roles` (the directors), the recused left out (by email)."""
    svc = services()
    to = sorted({handler, *(p.email for r in roles for p in svc.org.people_for_role(r))} - set(recused))
    if to:
        _notice(svc, case_no, key, to, "《投诉处理单》转交 / 上报", message, summary, event="form_passed_on")


def _notice(svc: Services, case_no: str, key: str, to: list[str], title: str, message: str,
            summary: dict[str, Any], event: str | None = None) -> None:
    mail = render_mail("notice", to, case_no=case_no, title=title, message=message, summary=summary)
    svc.store.queue_mail(f"notice:{case_no}:{key}", case_no, mail, svc.clock.now(),
                         event=(event or "notice_sent", {"to": to, "key": key, "title": title}))


@replayed("skip")
@task(name="记录处理结果 record outcome", **IO_TASK)
def record_outcome(case_no: str, outcome: dict[str, Any]) -> None:
    """C11: handling, responsibility and loss recorded (and, for an allowance or a return, what §4
    needs once the case is closed: the product and the quantity)."""
    svc = services()
    loss = str(Decimal(str(outcome.get("loss_amount") or "0")).quantize(Decimal("0.01")))
    record = {k: outcome.get(k) for k in ("handling", "responsibility_department", "responsible_person",
                                          "our_fault", "human_negligence", "product_code",
                                          "return_quantity", "unit")} | {"loss_amount": loss}
    svc.store.update_case(case_no, actor=outcome.get("decided_by"), kind="outcome_recorded",
                          now=svc.clock.now(), state="resolved", data={"outcome": record}, event_data=record)


@replayed("skip")
@task(name="记录回访 record the return visit", **IO_TASK)
def record_return_visit(case_no: str, visit: dict[str, Any]) -> None:
    """C22: the visit's method, visitor, ratings, fee check, satisfaction with process and result,
    shortcomings, suggestions, a repair's quality and speed, and (in person) the signature."""
    svc = services()
    keep = ("method", "service_quality", "service_attitude", "fee_as_agreed", "process_satisfaction",
            "result_satisfaction", "shortcomings", "shortcoming_unresolved", "suggestions", "repair_quality",
            "signature", "result")
    record = {k: visit.get(k) for k in keep} | {"visitor": visit.get("decided_by")}
    svc.store.update_case(case_no, actor=visit.get("decided_by"), kind="return_visit_recorded", now=svc.clock.now(),
                          data={"return_visit": record}, event_data=record)


@task(name="转退货与销货折让程序 start return/credit", **IO_TASK)
def start_return_credit_procedure(case_no: str, summary: dict[str, Any]) -> str | None:
    """R1: a closed complaint whose decided handling is allowance or return starts §4 (copy 3 of the
    《客户抱怨处理表》 goes to the sales department). Once per complaint."""
    svc = services()
    outcome = svc.store.get_case(case_no).data.get("outcome") or {}
    follow = starts_return_flow(outcome.get("handling") or "")
    if not follow:
        return None
    loss = outcome["loss_amount"]
    to = [p.email for p in svc.org.people_for_role("sales_manager")]
    _notice(svc, case_no, f"return-credit-{follow}", to, f"《客户抱怨处理表》第三联：{OUTCOME_LABELS[follow]}",
            f"投诉 {case_no} 已结案，决定的处理方式为「{OUTCOME_LABELS[follow]}」，已按成品退货与销货折让程序立案。"
            f"损失金额 ¥{loss}。", summary, event="return_credit_requested")
    return start_return_credit(svc, case_no, follow, outcome, Decimal(loss))


def start_return_credit(svc: Services, case_no: str, kind: str, outcome: dict[str, Any], amount: Decimal) -> str:
    """C11/R1: the allowance or return case for this complaint (once), and its flow."""
    form = svc.store.get_case(case_no).data["form"]
    products = form.get("products") or []
    body = ReturnRequestIn(
        kind=kind, customer=form["complainant"]["name"], customer_email=form["complainant"].get("email"),
        product_code=outcome.get("product_code") or (products[0]["code"] if products else "—"),
        product_name=products[0]["name"] if products else "", amount=amount,
        quantity=Quantity(value=outcome["return_quantity"], unit=outcome.get("unit") or "件") if kind == "return" else None,
        reason=f"投诉 {case_no}：{form['description'][:500]}", handling=OUTCOME_LABELS[kind],
        basis=f"投诉 {case_no} 处理结果", complaint_case_no=case_no)
    # with its start request, delivered here; if Prefect does not answer, the dispatchers deliver it
    child, _ = file_and_start(svc, lambda: file_return(svc, body, idempotency_key=f"complaint-{kind}:{case_no}"),
                              here=True)
    return child.case_no


@task(name="升级为新投诉 open linked case", **IO_TASK)
def open_linked_case(case_no: str, new_level: int) -> str:
    """C9: 4–5 escalate to the next level with a new 《投诉处理单》 linked to the old one; it is received
    now, so its deadlines (C4, C6, C8) run from now at the new level, not from the old case's receipt."""
    svc = services()

    def file() -> tuple[Case, bool]:
        with svc.store.session() as s:
            child = s.exec(select(Case).where(Case.parent_case_no == case_no)).first()
        if child is not None:
            return child, False
        parent = svc.store.get_case(case_no)
        now = svc.clock.now()
        form = parent.data["form"]
        data = {**parent.data, "escalated_from": case_no,
                "deadlines": deadline_record(complaint_deadlines(now, new_level, form["category"],
                                                                 bool(form.get("foreign")), svc.calendar))}
        child, created = svc.store.create_case(
            procedure="complaint", prefix="TS", year=now.astimezone(TZ).year, state="accepted",
            title=parent.title, data=data, level=new_level, parent_case_no=case_no,
            idempotency_key=f"escalation:{case_no}", actor="system", now=now, start=start_request)
        svc.store.add_event(case_no, "escalated_to_case", actor="system", now=now,
                            data={"case_no": child.case_no, "level": new_level})
        return child, created

    # stored with its start request, delivered here; if Prefect does not answer, the dispatchers deliver it
    child, _ = file_and_start(svc, file, here=True)
    get_run_logger().info("escalated %s to %s (level %s)", case_no, child.case_no, new_level)
    return child.case_no


@task(name="结案存档 close and archive", **IO_TASK)
def close_case(case_no: str, state: str, kind: str) -> None:
    """C13: the case file is archived with its retention date; a late close gets a 《治办单》 (C8)."""
    svc = services()
    now = svc.clock.now()
    case = svc.store.get_case(case_no)
    if case.closed_at is None:
        case = svc.store.update_case(case_no, actor="system", kind=kind, now=now, state=state, closed=True,
                                     data={"retain_until": retention_until(now).isoformat(),
                                           "volume": f"{now.astimezone(TZ).year}年度案卷"})  # C24: yearly volumes
    svc.store.cancel_open_tasks(case_no, now, actor="system")  # e.g. a pending progress contact
    inquiry_if_late(svc, case)


def _tag_run(level: int, kind: str, category: str, group: str | None = None) -> None:
    """The level is known once confirmed: the run's tags carry level, kind and category (and, for a
    group's member, its group: C26)."""

    if not flow_run.id:
        return
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run.id)
        tags = [t for t in run.tags if not t.startswith("level:")] + [f"level:{level}"]
        for t in (f"kind:{kind}", f"category:{category}", *([f"group:{group}"] if group else [])):
            if t not in tags:
                tags.append(t)
        if set(tags) != set(run.tags):  # a resumed run re-runs this: no write when nothing changed
            client.update_flow_run(flow_run.id, tags=tags)


tag_run = replayed("skip")(task(name="设置运行标签 tag the run", **IO_TASK)(_tag_run))
# C26: a member may join its group after its intake: its run is tagged again on every cycle (not replayed)
tag_group_member = task(name="群诉成员标签 tag a group member's run", **IO_TASK)(_tag_run)


def notice(case_no: str, key: str, to: list[str], title: str, message: str, summary: dict[str, Any],
           event: str | None = None) -> None:
    """Render, queue and deliver a notice (re-run safe)."""
    notify(case_no, key, "notice", to, {"case_no": case_no, "title": title, "message": message,
                                         "summary": summary}, event=event)


# ---- C21 hour deadlines (001 篇2 四(1)2.4–2.5) and C20 the customer's process notice ---------------
def hour_record(svc: Services, case_no: str, name: str, *, due: datetime | None = None,
                done: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """A C21 deadline's record on the case (`c21_<name>`: due, done and what else the step noted). The
    first `done` stays (a re-run or the watchdog never moves it)."""
    key = f"c21_{name}"
    current = dict(svc.store.get_case(case_no).data.get(key) or {})
    new = dict(current)
    if due is not None and "due" not in current:
        new["due"] = due.astimezone(TZ).isoformat()
    if done is not None and not current.get("done"):
        new["done"] = done.astimezone(TZ).isoformat()
    new.update({k: v for k, v in extra.items() if k not in current})
    if new != current:
        svc.store.update_case(case_no, actor="system", kind=f"{name}_deadline_recorded", now=svc.clock.now(),
                              data={key: new}, event_data={key: new})
    return new


def report_major(svc: Services, case_no: str, level: int, *, by: str = "system") -> bool:
    """C21 10 min: a major complaint is reported to the L2 handler (level 3: also both L3 directors, C5)
    at once; late if more than 10 min after receipt (or escalation). Once per case and level."""
    case = svc.store.get_case(case_no)
    start = datetime.fromisoformat(case.data["deadlines"]["received_at"]) if not case.parent_case_no \
        else case.created_at
    roles = ["l2_handler", "l3_sales_director", "l3_admin_director"] if level == 3 else ["l2_handler"]
    to = sorted({p.email for r in roles for p in svc.org.people_for_role(r)})
    now = svc.clock.now()
    due = major_report_due(start)
    summary = complaint_summary({"case_no": case_no, "data": case.data, "level": level, "parent": case.parent_case_no})
    _notice(svc, case_no, f"major-report-l{level}", to, f"重大投诉上报（{LEVEL_LABELS[level]}）",
            f"{LEVEL_LABELS[level]} {case_no} 已受理，按规定于受理后10分钟内上报。" + ("（系统自动上报）" if by != "flow" else ""),
            summary, event="major_complaint_reported")
    rec = hour_record(svc, case_no, "major_report", due=due, done=now, to=to)
    return bool(met(rec["due"], rec["done"]))


@replayed("skip")
@task(name="重大投诉10分钟上报 report a major complaint", **IO_TASK)
def report_major_complaint(case_no: str, level: int) -> bool:
    """C21: the report goes out when the level is set — the level the rules propose at receipt, and
    again if the receiver confirms a higher one."""
    return report_major(services(), case_no, level, by="flow")


def process_notice_context(svc: Services, case: Case) -> dict[str, Any]:
    """C20: what the customer is told — the outline for the level with each step's time (from the
    computed deadlines) and the handler's direct contact.

    The handler's direct phone is shown unmasked in the notice to the customer only, masked elsewhere:
    the privacy rule protects the customer's data, and the handler's work phone is there to be given."""
    level = case.level or case.data["proposed_level"]
    deadlines = case.data["deadlines"]
    start = case.created_at if case.parent_case_no else datetime.fromisoformat(deadlines["received_at"])
    hours = {k: v.isoformat() for k, v in hour_deadlines(start, level).items()}
    handler = svc.org.find(case.data.get("handler") or case.data["received_by"])
    return {"case_no": case.case_no, "customer_name": case.data["form"]["complainant"]["name"],
            "level_label": LEVEL_LABELS[level], "steps": process_steps(level, deadlines, hours),
            "handler": {"name": handler.name, "email": handler.email, "phone": handler.phone}}


def _notice_digest(ctx: dict[str, Any]) -> str:
    keep = {k: ctx[k] for k in ("level_label", "steps", "handler")}
    return hashlib.sha256(json.dumps(keep, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def send_process_notice(svc: Services, case_no: str, via: str, *, update: str = "", actor: str = "system") -> bool:
    """C20: render the process notice, then send it — by email when the customer has one and the handler
    chose email (or it is an update), else the handler tells the customer (read out / SMS) and it is
    recorded. A change of level, handler or deadline sends an update; an unchanged notice nothing.
    Returns whether a notice was given now."""
    case = svc.store.get_case(case_no)
    ctx = process_notice_context(svc, case) | {"update": update}
    digest = _notice_digest(ctx)
    given = case.data.get("process_notice") or {}
    if given.get("digest") == digest:
        return False
    if update and not given:
        return False  # not told yet: the first contact tells the current outline
    now = svc.clock.now()
    email = case.data["form"]["complainant"].get("email")
    handler = ctx["handler"]["email"]
    by_email = bool(email) and (via == "email" or bool(update))
    if by_email:
        svc.store.queue_mail(f"notice:{case_no}:process-notice-{digest}", case_no,
                             render_mail("process_notice", [email], **ctx,
                                         shown_in_full={"handler_phone": ctx["handler"]["phone"]}), now,
                             event=("process_notice_sent", {"to": [email], "digest": digest, "update": update}))
    elif update:  # no email: the handler tells the customer the new outline
        _notice(svc, case_no, f"process-notice-{digest}", [handler], "受理告知更新：请告知客户",
                f"投诉 {case_no} 的处理安排有更新（{update}），请电话或短信告知客户以下安排。",
                {"投诉编号": case_no, **{s["step"]: s["by"] for s in ctx["steps"]}}, event="process_notice_update_to_handler")
    record = {"digest": digest, "via": "email" if by_email else via, "at": now.astimezone(TZ).isoformat(),
              "level": ctx["level_label"], "handler": handler, "steps": ctx["steps"],
              "versions": int(given.get("versions", 0)) + 1}
    svc.store.update_case(case_no, actor=actor, kind="process_notice_given" if not update else "process_notice_updated",
                          now=now, data={"process_notice": record},
                          event_data={"via": record["via"], "digest": digest, "update": update})
    if case.level == 1 and not case.parent_case_no:  # C21: a minor complaint's 24 h feedback — the notice counts

        hour_record(svc, case_no, "feedback", due=minor_feedback_due(datetime.fromisoformat(case.data["deadlines"]["received_at"])),
                    done=now)
    return True


@replayed("skip")
@task(name="受理告知 tell the customer the process", **IO_TASK)
def tell_process(case_no: str, via: str, actor: str) -> bool:
    """C20 at first contact: the handler confirmed how the customer was told (email, SMS, read out)."""
    return send_process_notice(services(), case_no, via, actor=actor)


@replayed("skip")
@task(name="受理告知更新 update the process notice", **IO_TASK)
def update_process_notice(case_no: str, reason: str) -> bool:
    """C20: a change of level, handler or deadline sends the customer the updated outline."""
    return send_process_notice(services(), case_no, "email", update=reason)


def process_outline(case_no: str) -> str:
    """C20: the outline the handler tells the customer (shown on the first-contact page)."""
    svc = services()
    ctx = process_notice_context(svc, svc.store.get_case(case_no))
    steps = "；".join(f"{i}. {s['step']}：{s['by']}" for i, s in enumerate(ctx["steps"], 1))
    h = ctx["handler"]
    return f"{ctx['level_label']}。{steps}。处理人 {h['name']}，电话 {h['phone'] or '—'}，邮箱 {h['email']}"


@replayed("read")
@task(name="发送工作联系函 send the liaison letter", **IO_TASK)
def send_liaison_letter(case_no: str, department: str, head: str, summary: dict[str, Any]) -> str | None:
    """C21: a case handed to a department outside CS goes with a 《工作联系函》 (event, demand, deadline);
    its head enters the analysis and handling method within 1 office hour. Returns that deadline (ISO)."""
    svc = services()
    cs = svc.org.department_of(svc.org.first_for_role("l2_handler").email).code
    if department == cs:
        return None
    case = svc.store.get_case(case_no)
    current = case.data.get("c21_dept_analysis") or {}
    if current.get("due"):
        return current["due"]
    now = svc.clock.now()
    due = department_analysis_due(now, svc.calendar, opens=svc.settings.office_opens,
                                  closes=svc.settings.office_closes)
    form = case.data["form"]
    _notice(svc, case_no, f"liaison-letter-{department}", [head], "《工作联系函》",
            f"投诉 {case_no} 转交贵部门处理。请于 {due.astimezone(TZ):%Y-%m-%d %H:%M} 前（1小时内，工作时间）"
            "由部门负责人提交原因分析与处理方法。",
            {**summary, "事件": form["description"], "客户诉求": form.get("demand") or "—",
             "回复期限": f"{due.astimezone(TZ):%Y-%m-%d %H:%M}"}, event="liaison_letter_sent")
    return hour_record(svc, case_no, "dept_analysis", due=due, handed_over_at=now.astimezone(TZ).isoformat(),
                       department=department, head=head)["due"]


@replayed("skip")
@task(name="记录小时时限 record the hour deadlines met", **IO_TASK)
def record_hour_steps(case_no: str, agreed: bool) -> None:
    """C21: the department's analysis is in (the plan); a major complaint's solution is agreed with the
    customer (a plan with a first agreement, at the latest the recorded outcome)."""
    svc = services()
    case = svc.store.get_case(case_no)
    now = svc.clock.now()
    if case.data.get("c21_dept_analysis"):
        hour_record(svc, case_no, "dept_analysis", done=now)
    if agreed and case.level and case.level >= 2:
        start = case.created_at if case.parent_case_no else datetime.fromisoformat(case.data["deadlines"]["received_at"])
        hour_record(svc, case_no, "solution", due=major_solution_due(start), done=now)


# ---- C26 group complaints (群诉) -----------------------------------------------------------------
def open_group_cases(svc: Services, now: datetime) -> int:
    """C26: the watchdog suggests groups — ≥ 3 open complaints with one subject and category within 7 days
    (models/complaint/group.py) — as a group case, whose flow asks the L2 handler to confirm. Once per
    group (the idempotency key is its first member)."""
    _total, cases = svc.store.list_cases(procedure="complaint", limit=100000)
    rows = [{"case_no": c.case_no, "subject": c.data["form"].get("subject", ""), "category": c.data["form"]["category"],
             "received_at": datetime.fromisoformat(c.data["deadlines"]["received_at"]), "group": c.data.get("group_case")}
            for c in cases if c.closed_at is None and "deadlines" in c.data]
    _t, groups = svc.store.list_cases(procedure="group_complaint", limit=100000)
    grouped = {m for g in groups if g.state != "not_group" for m in g.data["members"]}
    opened = 0
    for g in suggest_groups([r for r in rows if r["case_no"] not in grouped], now):
        # its start request is delivered by the dispatchers (the web app's, the next watchdog pass)
        _case, created = file_and_start(svc, lambda g=g: svc.store.create_case(
            procedure="group_complaint", prefix="QS", year=now.astimezone(TZ).year, state="suggested",
            title=f"群诉 · {g['category']} · {g['subject']}", data=g, level=3,
            idempotency_key=f"group:{g['members'][0]}", actor="watchdog", now=now, start=start_request))
        opened += int(created)
    return opened


@replayed("skip")
@task(name="群诉关联成员 link the group's members", **IO_TASK)
def link_group_members(group_no: str, members: list[str]) -> None:
    """C26: a confirmed group is level 3; each member is linked under the group case."""
    svc = services()
    now = svc.clock.now()
    for no in members:
        svc.store.update_case(no, actor="system", kind="joined_group_complaint", now=now, level=3,
                              data={"group_case": group_no}, event_data={"group_case": group_no})


@replayed("skip")
@task(name="统一口径答复 answer every member", **IO_TASK)
def answer_group_members(group_no: str, members: list[str], text: str, spokesperson: str) -> int:
    """C26: one spokesperson answers all members with one approved text (口径一致): each complainant with
    an email gets it; the others are listed for the spokesperson to call."""
    svc = services()
    phoned = []
    for no in members:
        case = svc.store.get_case(no)
        form = case.data["form"]
        email = form["complainant"].get("email")
        if email:
            _notice(svc, no, f"group-reply-{group_no}", [email], "关于您的投诉的统一答复",
                    f"尊敬的{form['complainant']['name']}：{text}", {"投诉编号": no}, event="group_reply_sent")
        else:
            phoned.append(f"{no} {form['complainant']['name']}（{form['complainant']['phone']}）")
        # C24 for the member: this is its written reply (its own handler sends none: one text for all)
        if (case.data.get("written_reply") or {}).get("via") in (None, "group"):
            reply = {"via": "email" if email else "phone", "group_case": group_no, "spokesperson": spokesperson,
                     "text": text, "at": svc.clock.now().astimezone(TZ).isoformat(),
                     "original": keep_original(svc, no, "群诉统一答复.txt", text.encode())}
            svc.store.update_case(no, actor=spokesperson, kind="written_reply_recorded", now=svc.clock.now(),
                                  data={"written_reply": reply,
                                        "originals": [*case.data.get("originals", []), reply["original"]]},
                                  event_data={"via": reply["via"], "group_case": group_no})
    if phoned:
        _notice(svc, group_no, "group-reply-phone", [spokesperson], "统一答复：请电话告知以下投诉人",
                text, {"待电话告知": "；".join(phoned)})

    for no in [*members, group_no]:  # what fails stays in the outbox for the watchdog
        deliver_outbox(svc.store, svc.mailer, svc.clock.now(), case_no=no)
    return len(members) - len(phoned)


# ---- C24 written reply, originals, yearly volumes --------------------------------------------------
def keep_original(svc: Services, case_no: str, name: str, content: bytes) -> dict[str, str]:
    """C24: an original kept unchanged — written once under its SHA-256 ($KEFU_HOME/originals/<case>/), its
    hash recorded on the case. Writing the same content again changes nothing."""
    digest = hashlib.sha256(content).hexdigest()
    folder = svc.settings.home / "originals" / case_no
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest[:16]}-{name}"
    if not path.exists():
        path.write_bytes(content)
        path.chmod(0o444)
    return {"name": name, "sha256": digest, "file": str(path.relative_to(svc.settings.home))}


def originals_intact(svc: Services, case_no: str) -> dict[str, bool]:
    """C24: each original recorded on the case, checked against its hash."""
    out = {}
    for o in svc.store.get_case(case_no).data.get("originals", []):
        path = svc.settings.home / o["file"]
        out[o["name"]] = path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == o["sha256"]
    return out


@replayed("skip")
@task(name="发出投诉处理答复函 send the written reply", **IO_TASK)
def send_written_reply(case_no: str, via: str, text: str, oral_reason: str) -> str:
    """C24: the complainant gets the decision in writing (《投诉处理答复函》: decision and next steps — never
    persons' responsibility, fines or other customers), by email, or by letter / SMS the handler sends;
    an oral-only reply records why. The reply is kept as an original (content hash); sending is logged."""
    svc = services()
    case = svc.store.get_case(case_no)
    if case.data.get("written_reply"):
        return case.data["written_reply"]["via"]
    now = svc.clock.now()
    if case.data.get("group_case"):  # C26: the group's spokesperson answers every member with one approved text
        svc.store.update_case(case_no, actor="system", kind="written_reply_by_group", now=now,
                              data={"written_reply": {"via": "group", "group_case": case.data["group_case"]}},
                              event_data={"group_case": case.data["group_case"]})
        return "group"
    form = case.data["form"]
    handler = svc.org.find(case.data.get("handler") or case.data["received_by"])
    handling = (case.data.get("outcome") or {}).get("handling") or "explanation"
    ctx = {"case_no": case_no, "customer_name": form["complainant"]["name"],
           "received_on": case.data["deadlines"]["received_at"][:10], "handling_label": OUTCOME_LABELS[handling],
           "reply_text": text, "handler_name": handler.name, "handler_email": handler.email,
           "company": svc.org.company, "date": f"{now.astimezone(TZ):%Y-%m-%d}"}
    email = form["complainant"].get("email")
    record: dict[str, Any] = {"via": via, "at": now.astimezone(TZ).isoformat()}
    if via == "oral_only":
        record["oral_reason"] = oral_reason
    else:
        mail = render_mail("written_reply", [email] if email else [handler.email], **ctx)
        record["original"] = keep_original(svc, case_no, "投诉处理答复函.txt", mail.text.encode())
        if via == "email" and email:
            svc.store.queue_mail(f"notice:{case_no}:written-reply", case_no, mail, now,
                                 event=("written_reply_sent", {"to": [email], "sha256": record["original"]["sha256"]}))
        else:  # by letter or SMS: the handler sends the rendered reply
            record["via"] = "letter" if via == "email" else via
            way = "短信" if via == "sms" else "信函"
            _notice(svc, case_no, "written-reply-handler", [handler.email], f"请以{way}发出《投诉处理答复函》",
                    mail.text, {"投诉编号": case_no}, event="written_reply_to_handler")
    originals = [*case.data.get("originals", []), *([record["original"]] if "original" in record else [])]
    svc.store.update_case(case_no, actor=handler.email, kind="written_reply_recorded", now=now,
                          data={"written_reply": record, "originals": originals}, event_data=record)
    return record["via"]


# ---- C23 case library (典型案例库) ------------------------------------------------------------------
@task(name="撰写典型案例 write the case library entry", **IO_TASK)
def write_case_library_entry(case_no: str, lessons: str, improvement: str, by: str) -> dict[str, Any]:
    """C23: the anonymised entry (no names, phone or ID numbers), a draft until the CS manager approves."""
    svc = services()
    case = svc.store.get_case(case_no)
    staff = [p.name for p in svc.org.people]
    handling = (case.data.get("outcome") or {}).get("handling")
    entry = library_entry(case.data, handling_label=OUTCOME_LABELS.get(handling, "—"),
                          outcome_label=SATISFACTION_LABELS.get(case.data.get("satisfaction") or 0, "—"),
                          lessons=lessons, improvement=improvement, people=staff)
    svc.store.update_case(case_no, actor=by, kind="case_library_drafted", now=svc.clock.now(),
                          data={"case_library": {"state": "draft", "entry": entry, "by": by}}, event_data={"by": by})
    return entry


@task(name="发布典型案例 publish the case library entry", **IO_TASK)
def publish_case_library_entry(case_no: str, approved: bool, reviewer: str, comment: str) -> None:
    """C23: published to all handlers once the CS manager approves; else kept as not published, with why."""
    svc = services()
    now = svc.clock.now()
    rec = dict(svc.store.get_case(case_no).data["case_library"])
    rec |= {"state": "published" if approved else "not_published", "reviewed_by": reviewer,
            "reviewed_at": now.astimezone(TZ).isoformat(), "review_comment": comment}
    svc.store.update_case(case_no, actor=reviewer, kind="case_library_" + rec["state"], now=now,
                          data={"case_library": rec}, event_data={"state": rec["state"]})


def case_library(svc: Services, *, category: str | None = None, product: str | None = None,
                 keyword: str | None = None) -> list[dict[str, Any]]:
    """C23: the published entries, searchable by category, product and keyword (newest first)."""
    _n, cases = svc.store.list_cases(procedure="complaint", limit=100000)
    entries = [{"case_no": c.case_no, "published_at": c.data["case_library"]["reviewed_at"], **c.data["case_library"]["entry"]}
               for c in cases if (c.data.get("case_library") or {}).get("state") == "published"]
    return search(entries, category=category, product=product, keyword=keyword)
