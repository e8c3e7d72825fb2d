"""客户抱怨月度确认 — S5 and S6 before the 10th (procedures §7.5, 000 «13» 第九条九, 第十二条).

On the first business day of a month (the deployment runs on days 1–7; a run on any other day does
nothing), for last month's closed product complaints:

S5: the GM office's draft of the responsible departments and their shares (equal shares of the units
    named, summing to 100 %, `models.grievance.draft_shares`) goes to the head of every department named,
    one task each listing its cases, due 2 business days before the 10th (reminded, then escalated to the
    superior): confirm, or propose another share with the reason, and record the state of the improvement.
    Confirmed shares are stored on each case (S1 counts them; the others stay 未确认); proposals go to the
    GM office to settle with the heads, and what stays disputed becomes a 《签呈》 (C19).
S6: (1) the administrative sanctions approved under C18 are published to the department heads in the
    《人事公布单》 (customer data masked); (2) for each responsible unit with fines a 《奖罚通知单》 is
    approved by the GM (a rejection returns it to the GM office, which revises it) and then issued in three
    copies: GM office, accounting (checks it), the penalised department (deducts, confirms).

The month's work is a case of its own (`KY-…`, procedure `grievance_month`), one per month."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from prefect import flow, task

from models.answers import Decision, Done, ShareConfirmation
from models.archive.corrections import step_key
from models.business_days import TZ
from models.grievance import GrievanceData, case_shares, confirmations_due, first_business_day, units_with_fines
from models.statistics import month_period, previous_month_key
from tasks.cases import record_state
from tasks.ask import Asking, asking, review_loop
from tasks.complaint.steps import notice
from tasks.platform.policy import IO_TASK
from tasks.platform.runtime import services

PROCEDURE = "grievance_month"


def run_name() -> str:
    from prefect.runtime import flow_run

    month = (flow_run.parameters or {}).get("month") or previous_month_key(datetime.now(timezone.utc))
    return f"grievance-month-{month}"


@task(name="本月客户抱怨案件 the month's grievances", **IO_TASK)
def open_month_case(month: str) -> dict[str, Any]:
    """The month's case (one per month) and last month's closed grievances, with their draft shares."""
    from sqlmodel import select

    from models.tables import Case

    svc = services()
    start, end = month_period(month)
    with svc.store.session() as s:
        rows = s.exec(select(Case).where(Case.procedure == "grievance", Case.state == "closed",
                                         Case.closed_at >= start, Case.closed_at < end).order_by(Case.case_no)).all()
    cases = [{"case_no": c.case_no, "customer": GrievanceData.model_validate(c.data).form.customer, "shares": case_shares(c.data),
              "decision": c.data.get("decision") or {}} for c in rows]
    now = svc.clock.now()
    case, _ = svc.store.create_case(procedure=PROCEDURE, prefix="KY", year=now.astimezone(TZ).year, state="confirming",
                                    title=f"客户抱怨责任比率确认与奖罚通知 {month}", data={"month": month, "cases": cases},
                                    idempotency_key=f"grievance-month:{month}", actor="system", now=now)
    return {"case_no": case.case_no, "month": month, "cases": case.data["cases"]}


def heads_of(units: list[str]) -> dict[str, tuple[str, str, str]]:
    """unit name → (department code, head, the head's role) for the units the org directory knows."""
    org = services().org
    out = {}
    for u in units:
        for d in org.departments:
            if d.head and u in (d.name, d.code):
                roles = org.roles_of(d.head)
                out[u] = (d.code, d.head, "department_head" if "department_head" in roles else roles[0])
    return out


def confirm_shares(month_case: dict[str, Any], due: datetime) -> dict[str, Any]:
    """S5: one task per department head, all at once; confirmed shares are stored on each case."""
    units = sorted({u for c in month_case["cases"] for u in c["shares"]})
    heads = heads_of(units)
    asks = []
    for unit, (code, head, role) in heads.items():
        mine = [c for c in month_case["cases"] if unit in c["shares"]]
        asks.append((unit, {
            "step": f"shares-{code}", "title": f"确认客户抱怨责任比率（{unit}，{month_case['month']}）",
            "role": role, "assignee": head, "due_at": due,
            "summary": {"月份": month_case["month"], "责任单位": unit,
                        "案件与草拟比率": "\n".join(f"{c['case_no']} {c['customer']}：{c['shares'][unit]['share']}%"
                                             for c in mine)}}))
    answers = asking(month_case["case_no"]).each(ShareConfirmation, [r for _u, r in asks])
    result = {"confirmed": [], "proposed": [], "unknown_units": sorted(set(units) - set(heads))}
    for (unit, _req), a in zip(asks, answers, strict=True):
        result["confirmed" if a.decision == "confirmed" else "proposed"].append(
            {"unit": unit, "by": a.decided_by, "improvement_state": a.improvement_state,
             "proposal": a.proposal, "reason": a.comment})
    store_confirmed(month_case, [r["unit"] for r in result["confirmed"]])
    return result


@task(name="保存已确认的比率 store the confirmed shares", **IO_TASK)
def store_confirmed(month_case: dict[str, Any], units: list[str]) -> None:
    svc = services()
    for c in month_case["cases"]:
        shares = {u: {**s, "confirmed": s["confirmed"] or u in units} for u, s in c["shares"].items()}
        if any(u in units for u in shares):
            svc.store.update_case(c["case_no"], actor="system", kind="shares_confirmed", now=svc.clock.now(),
                                  data={"shares": shares}, event_data={"month": month_case["month"], "units": units})


def notices_approved(month_case: dict[str, Any]) -> list[dict[str, Any]]:
    """S6 (2): a 《奖罚通知单》 per unit with fines, approved by the GM (a rejection: the GM office revises
    it as commented and the GM decides again), then three copies."""
    cases = [(c["case_no"], {"decision": c["decision"]}) for c in month_case["cases"]]
    issued = []
    for unit, rows in units_with_fines(cases).items():
        code, head, _role = heads_of([unit]).get(unit, (unit, services().org.first_for_role("gm_office").email, ""))
        total = sum(float(r["amount"]) for r in rows)
        summary = {"月份": month_case["month"], "单位": unit, "罚扣合计（元）": f"{total:.2f}",
                   "明细": "\n".join(f"{r['case_no']} {r['party']} {r['amount']} 元（{r['cause']}）" for r in rows)}

        ask = asking(month_case["case_no"], summary=summary)

        def approve(_d: None, n: int, code: str = code, ask: Asking = ask) -> list[Decision]:
            return [ask(Decision, step=step_key(f"notice-{code}", n), title="总经理核准《奖罚通知单》", role="general_manager")]

        def revise(_d: None, n: int, rejections: list[Decision], code: str = code, ask: Asking = ask) -> None:
            ask(Done, step=f"notice-{code}-revision-{n}", title="按总经理意见修改《奖罚通知单》", role="gm_office",
                summary={**ask.shared["summary"], "总经理意见": rejections[0].comment or "（未填写）"})

        review_loop(None, approve, revise)
        to = [services().org.first_for_role("gm_office").email, services().org.first_for_role("accounting").email, head]
        notice(month_case["case_no"], f"reward-penalty-{code}", to, f"《奖罚通知单》{unit} {month_case['month']}",
               "总经理已核准。一联总经理室存查，一联会计科核对，一联责任单位扣发奖金并确认。", summary,
               event="reward_penalty_notice")
        issued.append({"unit": unit, "amount": f"{total:.2f}", "to": to})
    return issued


def personnel_notice(month_case: dict[str, Any]) -> int:
    """S6 (1): the month's administrative sanctions, published to the department heads (masked)."""
    rows = [(c["case_no"], f) for c in month_case["cases"] for f in c["decision"].get("fines", []) if f.get("sanction")]
    if not rows:
        return 0
    heads = sorted({d.head for d in services().org.departments if d.head})
    notice(month_case["case_no"], "personnel-notice", heads, f"《人事公布单》{month_case['month']}",
           "客户抱怨责任处分公布如下（客户资料已隐去）。",
           {"处分": "\n".join(f"{no} {f['party']}：{f['sanction']}（{f['penalty_type']}）" for no, f in rows)},
           event="personnel_notice")
    return len(rows)


@flow(name="grievance-month", flow_run_name=run_name, log_prints=True)
def grievance_month(month: str | None = None) -> dict[str, Any]:
    svc = services()
    today = svc.clock.now().astimezone(TZ).date()
    if month is None:  # the schedule: only on the first business day of the month
        if today != first_business_day(today.year, today.month, svc.calendar):
            return {"skipped": f"{today} is not the first business day of the month"}
        month = previous_month_key(svc.clock.now())
    month_period(month)  # a malformed month fails here
    month_case = open_month_case(month)
    sanctions = personnel_notice(month_case)
    issued = notices_approved(month_case)
    shares = confirm_shares(month_case, confirmations_due(today, svc.calendar))
    if shares["proposed"] or shares["unknown_units"]:
        gm_office = svc.org.first_for_role("gm_office").email
        notice(month_case["case_no"], "shares-disputed", [gm_office], f"责任比率待协调 {month}",
               "以下单位提出其他比率（或不在组织架构中），请与各部门负责人协调；仍有异议的以《签呈》呈总经理（C19）。",
               {"提出其他比率": "\n".join(f"{p['unit']}：{p['proposal']}（{p['reason']}）" for p in shares["proposed"])
                or "—", "未知单位": "、".join(shares["unknown_units"]) or "—"})
    record_state(month_case["case_no"], "done", "grievance_month_done", closed=True,
                 data={"shares": shares, "notices": issued, "sanctions": sanctions})
    return {"case_no": month_case["case_no"], "month": month, "cases": len(month_case["cases"]),
            "notices": len(issued), "sanctions": sanctions,
            "confirmed": len(shares["confirmed"]), "proposed": len(shares["proposed"])}
