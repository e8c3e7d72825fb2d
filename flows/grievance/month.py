"""客户抱怨月度确认 — S5 and S6 before the 10th (procedures §7.5, 000 «13» 第九条九, 第十二条).

On the first business day of a month (the deployment runs on days 1–7; a run on any other day does
nothing), for last month's closed product complaints:

S5: the GM office's draft of the responsible departments and their shares (equal shares of the units
    named, summing to 100 %, `models.grievance.draft_shares`) goes to the head of every department named,
    one task each listing its cases, due 2 business days before the 10th (reminded, then escalated to the
    superior): confirm, or propose another share with the reason, and record the state of the improvement.
    Confirmed shares are stored on each case (S1 counts them; the others stay 未确认); proposals go to the
    GM office to settle with the heads, and what stays disputed becomes the head's 《签呈》 via the GM office
    to the GM, whose answer is final (C19) — a change after S1's table was issued is a correction of the
    month of the change, the issued month unchanged.
S6: (1) the administrative sanctions approved under C18 are published to the department heads in the
    《人事公布单》 (customer data masked); (2) for each responsible unit with fines a 《奖罚通知单》 is
    approved by the GM (a rejection returns it to the GM office, which revises it) and then issued in three
    copies: GM office, accounting (checks it), the penalised department (deducts, confirms). A fine under a
    《签呈》 waits, and is issued on a notice of its own once the GM has answered.

The month's work is a case of its own (`KY-…`, procedure `grievance_month`), one per month."""

from __future__ import annotations

import hashlib
from datetime import datetime
from itertools import count
from typing import Any

from prefect import flow, task
from sqlmodel import select

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path
from deployments.names import GRIEVANCE_MONTH, flow_name
from models.answers import Decision, Done
from models.archive.corrections import step_key
from models.business_days import TZ, add_business_days
from models.grievance import (
    OBJECTION_BUSINESS_DAYS,
    GrievanceData,
    case_shares,
    confirmations_due,
    correction_month,
    first_business_day,
    share_changes,
    units_with_fines,
)
from models.grievance_answers import Petition, PetitionAnswer, PetitionForward, ShareConfirmation, ShareSettlement
from models.statistics import month_period, previous_month_key
from models.tables import Case
from tasks.ask import Asking, asking, review_loop
from tasks.cases import record_state
from tasks.complaint.steps import notice
from tasks.platform.policy import IO_TASK
from tasks.platform.run_names import period_run_name
from tasks.platform.runtime import services

PROCEDURE = "grievance_month"


@task(name="本月客户抱怨案件 the month's grievances", **IO_TASK)
def open_month_case(month: str) -> dict[str, Any]:
    """The month's case (one per month) and last month's closed grievances, with their draft shares."""


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


def notices_approved(month_case: dict[str, Any], held: frozenset[tuple[str, str]] = frozenset(),
                     only_held: bool = False) -> list[dict[str, Any]]:
    """S6 (2): a 《奖罚通知单》 per unit with fines, approved by the GM (a rejection: the GM office revises
    it as commented and the GM decides again), then three copies. A fine under a 《签呈》 (`held`: case and
    unit) waits: it is left out, and issued on its own notice (`only_held`) once the GM has answered."""
    cases = [(c["case_no"], {"decision": c["decision"]}) for c in month_case["cases"]]
    issued = []
    for unit, all_rows in units_with_fines(cases).items():
        rows = [r for r in all_rows if ((r["case_no"], unit) in held) == only_held]
        if not rows:
            continue
        # a unit the org directory does not know (reported to the GM office by S5): the GM office takes its
        # notice, under a step key of its own (a key is ASCII; the unit's name is not)
        code, head, _role = heads_of([unit]).get(unit, (f"unit-{hashlib.sha256(unit.encode()).hexdigest()[:8]}",
                                                        services().org.first_for_role("gm_office").email, ""))
        code = f"{code}-petition" if only_held else code
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


def settle_proposals(month_case: dict[str, Any], shares: dict[str, Any]) -> list[dict[str, Any]]:
    """S5: the GM office settles each proposed share with the unit's head — agreed shares are stored as
    confirmed; what stays disputed is returned, to become the head's 《签呈》 (C19)."""
    disputes = []
    for p in shares["proposed"]:
        code, head, role = heads_of([p["unit"]])[p["unit"]]
        mine = {c["case_no"]: c["shares"] for c in month_case["cases"] if p["unit"] in c["shares"]}
        s = {"月份": month_case["month"], "责任单位": p["unit"], "提出的比率": p["proposal"], "理由": p["reason"] or "—",
             "草拟比率": "\n".join(f"{no}：{sh[p['unit']]['share']}%" for no, sh in mine.items())}
        by_case = {c["case_no"]: c["shares"] for c in month_case["cases"]}
        for n in count(1):
            key = f"settle-{code}" + ("" if n == 1 else f"-{n}")
            a = asking(month_case["case_no"])(ShareSettlement, step=key, role="gm_office",
                                              title=f"与{p['unit']}负责人协调责任比率（S5）", requested_by=head, summary=s)
            try:
                changed = share_changes(a.shares, p["unit"], by_case) if a.decision == "settled" else {}
                break
            except ValueError as exc:
                s = {**s, "不符之处": str(exc)}
        if a.decision == "settled":
            apply_shares(month_case, p["unit"], {k: str(v) for k, v in changed.items()}, key)
        else:
            disputes.append({**p, "code": code, "head": head, "role": role, "summary": s, "cases": sorted(mine)})
    return disputes


def petitions_answered(month_case: dict[str, Any], disputes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """C19 from S5: the head files the 《签呈》 (3 business days), the GM office forwards it with its opinion,
    the GM's answer is final; changed shares are applied (after S1's table was issued: as a correction of
    the next month, the issued month unchanged)."""
    svc, out = services(), []
    ask = asking(month_case["case_no"])
    for d in disputes:
        key = f"petition-{d['code']}"
        pet = ask(Petition, step=key, role=d["role"], assignee=d["head"],
                  title=f"责任比率未能协调：填写《签呈》呈总经理（{d['unit']}，3个工作日内）", summary=d["summary"],
                  due_at=add_business_days(svc.clock.now(), OBJECTION_BUSINESS_DAYS, svc.calendar),
                  defaults={"decision": "petition", "subject": "share", "reasons": d["reason"] or "",
                            "change_asked": d["proposal"] or ""})
        record = {"unit": d["unit"], "by": pet.decided_by, "decision": pet.decision}
        if pet.decision == "petition":
            s = {**d["summary"], "异议事项": "责任比率", "理由": pet.reasons, "请求变更为": pet.change_asked,
                 "附件": pet.attachments or "无"}
            fwd = ask(PetitionForward, step=f"{key}-forward", role="gm_office", title="《签呈》经总经理室呈总经理",
                      requested_by=d["head"], summary=s)
            for n in count(1):
                ans = ask(PetitionAnswer, step=f"{key}-answer" + ("" if n == 1 else f"-{n}"), role="general_manager",
                          title="总经理批示《签呈》（最终决定）", requested_by=d["head"],
                          summary={**s, "总经理室意见": fwd.opinion})
                try:
                    changed = share_changes(ans.shares, d["unit"], {c["case_no"]: c["shares"] for c in month_case["cases"]})
                    break
                except ValueError as exc:
                    s["不符之处"] = str(exc)
            if ans.decision == "changed" and changed:
                apply_shares(month_case, d["unit"], {k: str(v) for k, v in changed.items()}, key)
            record |= {"answer": ans.decision, "gm_answer": ans.answer, "answered_by": ans.decided_by}
        out.append(record)
    return out


@task(name="保存协调或批示后的比率 store settled shares", **IO_TASK)
def apply_shares(month_case: dict[str, Any], unit: str, changed: dict[str, str], source: str) -> list[str]:
    """Shares agreed (S5) or changed by the GM (C19) for `unit` (case → share, checked by
    `models.grievance.share_changes`), stored as confirmed on each case — or, when S1's table of the month
    was already issued, recorded as a correction for the month of the change (`data.corrections`), so
    the issued month stays as it was (S4)."""
    svc = services()
    now = svc.clock.now()
    later = correction_month(month_case["month"], now)
    for case_no, share in changed.items():
        current = svc.store.get_case(case_no).data
        shares = case_shares(current)
        old = shares[unit]
        if later is None:
            shares = {**shares, unit: {"share": share, "confirmed": True}}
            svc.store.update_case(case_no, actor="system", kind="shares_confirmed", now=now, data={"shares": shares},
                                  event_data={"month": month_case["month"], "units": [unit], "source": source})
        else:
            fix = {"month": later, "of_month": month_case["month"], "unit": unit, "share_from": old["share"],
                   "share_to": share, "source": source}
            if fix not in (current.get("corrections") or []):
                svc.store.update_case(case_no, actor="system", kind="correction_recorded", now=now,
                                      data={"corrections": [*(current.get("corrections") or []), fix]}, event_data=fix)
    return sorted(changed)


@flow(name=flow_name(GRIEVANCE_MONTH), flow_run_name=period_run_name("grievance-month", "month", previous_month_key),
      log_prints=True)
def grievance_month(month: str | None = None) -> dict[str, Any]:
    return grievance_month_steps(month)


def grievance_month_steps(month: str | None) -> dict[str, Any]:  # undecorated: mutation testing reaches it (docs/testing.md)
    svc = services()
    today = svc.clock.now().astimezone(TZ).date()
    if month is None:  # the schedule: only on the first business day of the month
        if today != first_business_day(today.year, today.month, svc.calendar):
            return {"skipped": f"{today} is not the first business day of the month"}
        month = previous_month_key(svc.clock.now())
    month_period(month)  # a malformed month fails here
    month_case = open_month_case(month)
    sanctions = personnel_notice(month_case)
    # S5: the heads confirm or propose; the GM office settles proposals; what stays disputed is a 《签呈》
    shares = confirm_shares(month_case, confirmations_due(today, svc.calendar))
    if shares["unknown_units"]:
        notice(month_case["case_no"], "shares-unknown-units", [svc.org.first_for_role("gm_office").email],
               f"责任单位不在组织架构中 {month}", "以下责任单位不在组织架构中，其比率未能确认，请核对。",
               {"未知单位": "、".join(shares["unknown_units"])})
    disputes = settle_proposals(month_case, shares)
    held = frozenset((no, d["unit"]) for d in disputes for no in d["cases"])
    issued = notices_approved(month_case, held)  # S6 without the disputed fines: they wait (C19)
    answered = petitions_answered(month_case, disputes)
    if held:  # the held fines, once the GM has answered
        month_case = {**month_case, "cases": [{**c, "decision": svc.store.get_case(c["case_no"]).data.get("decision") or {}}
                                              for c in month_case["cases"]]}
        issued += notices_approved(month_case, held, only_held=True)
    record_state(month_case["case_no"], "done", "grievance_month_done", closed=True,
                 data={"shares": shares, "notices": issued, "sanctions": sanctions, "petitions": answered})
    return {"case_no": month_case["case_no"], "month": month, "cases": len(month_case["cases"]),
            "notices": len(issued), "sanctions": sanctions, "petitions": len(answered),
            "confirmed": len(shares["confirmed"]), "proposed": len(shares["proposed"])}
