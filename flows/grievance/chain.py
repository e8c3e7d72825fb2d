"""客户抱怨处理 — product-quality complaints (procedures §7: C15–C18, R9).

The salesperson's 《客户抱怨处理表》 goes to the GM office, which numbers and registers it (or, when the
abnormality caused no loss, issues an 《异常处理单》 instead); quality traces the cause and names the
responsible department; production analyses the cause and drafts the countermeasure; the manager
instructs; R&D gives an opinion when quality or the manager asks for it; the GM office checks and sales
drafts the handling proposal; the GM office's consolidated opinion goes to the approvers of the amount
(R2) for instruction; sales negotiates with the customer and the sales supervisor reviews the result;
within one day the GM office consolidates result, responsibility, loss and penalty, and the approvers
decide. A rejection returns the case to the previous step's author with the comment; a step that
returns it a third time goes to the GM, whose ruling settles it (upheld: on; withdrawn: closed).

After the decision: R9 — a quantity still unknown (客户加工中未确定) waits in `quantity_pending` (weekly
reminders to sales, tasks/grievance/watch.py), is reviewed by the sales supervisor and re-approved by
the higher band when its amount passes the deciding band; then the five copies (C17); the supervisor in
charge approves loss and penalty (C18); a supplier's liability gets a supplier claim; our quality
problem's improvement is tracked to its due date and its effect checked by quality."""

from __future__ import annotations

from collections import Counter
from itertools import count
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from prefect import flow
from prefect.input import RunInput

from models.answers import (ANSWER_MODELS, Decision, EffectCheck, FormRevision, GmRuling, GrievanceConsolidation,
                            ImprovementDone, QuantityEntry, SupplierClaim, GrievanceForm)
from models.business_days import TZ
from models.complaint.handling import ComplaintForm
from models.archive.corrections import step_key
from models.grievance import (CAUSE_LABELS, ChainStep, GrievanceData, after_return, approvers_by_amount, chain_steps,
                              check_fines, compute_loss, improvement_tracked, parse_pairs, pending_amount,
                              reapproval_roles)
from tasks.cases import load_case, record_state
from tasks.ask import A, Asking, asking, review_loop
from tasks.complaint.steps import notice, tag_run
from tasks.grievance.steps import bases, grievance_summary, issue_copies, publish_grievance_form
from tasks.platform.runtime import services

Answers = dict[str, Any]


def _on_case(case: dict) -> Asking:
    """The case's steps: the salesperson never decides their own form."""
    return asking(case["case_no"], requested_by=GrievanceData.of(case).salesperson)


def _by_salesperson(case: dict, model: type[A], step: str, title: str, **kw: Any) -> A:
    return _on_case(case)(model, step=step, title=title, role="salesperson", assignee=GrievanceData.of(case).salesperson,
                          requested_by=None, **kw)


# ---- C16: the chain ------------------------------------------------------------------------------
def rd_requested(answers: Answers) -> bool:
    return any(getattr(answers.get(k), "ask_rd", False) for k in ("quality", "manager"))


def amount_of(answers: Answers) -> Decimal | None:
    p = answers.get("proposal")
    return None if p is None else Decimal(str(p.amount))


def approvers(answers: Answers) -> list[str] | None:
    amount = amount_of(answers)
    return None if amount is None else approvers_by_amount(amount, services().authority)


def chain_summary(case: dict, answers: Answers) -> dict[str, Any]:
    """The form and what the chain has said so far."""
    out = grievance_summary(case)
    labels = {"quality": ("质量管理部", "cause_analysis"), "production": ("制造部门对策", "countermeasure"),
              "manager": ("经理室批示", "instruction"), "rd": ("研发部意见", "opinion"),
              "proposal": ("业务处理意见", "proposal"), "opinion": ("总经理室综合意见", "opinion"),
              "negotiation": ("交涉结果", "result")}
    for key, (label, field) in labels.items():
        if key in answers:
            out[label] = getattr(answers[key], field)
    if "quality" in answers:
        out["责任单位（质量判定）"] = answers["quality"].responsible_department
    if "proposal" in answers:
        p = answers["proposal"]
        out["处理方式 / 单价 / 金额（元）"] = f"{p.handling} / {p.unit_price} / {p.amount}"
        out["核决人（依核决权限）"] = " → ".join(approvers(answers) or [])
    return out


def run_chain(case: dict) -> tuple[str, Answers]:
    """C16 step by step. Returns ("approved", answers) once the last approver decided, ("abnormality",
    …) when the GM office found no loss, or ("withdrawn", …) when the salesperson withdrew the form or
    the GM closed the case on a repeated return. A return goes back to the previous step's author."""
    answers: Answers = {}
    asked: Counter[str] = Counter()
    returns: Counter[str] = Counter()
    notes: dict[str, dict[str, str]] = {}
    i = 0
    while True:
        steps = chain_steps(rd_requested(answers), approvers(answers))
        if i >= len(steps):
            return "approved", answers
        s = steps[i]
        asked[s.key] += 1
        a = _ask_step(case, s, asked[s.key], answers, notes.pop(s.key, {}))
        if s.key == "register" and a.decision == "abnormality_only":
            return "abnormality", answers | {"register": a}
        if a.decision not in ("returned", "reject"):
            answers[s.key] = a
            record_state(case["case_no"], _state(s), f"done:{step_key(s.key, asked[s.key])}", actor=a.decided_by,
                         event_data={"step": s.no, "title": s.title})
            publish_grievance_form(case["case_no"])
            i += 1
            continue
        # a return: back to the previous step's author, with the comment (the third time: the GM rules)
        returns[s.key] += 1
        record_state(case["case_no"], "returned", f"returned:{step_key(s.key, asked[s.key])}", actor=a.decided_by,
                     event_data={"step": s.no, "comment": a.comment})
        publish_grievance_form(case["case_no"])
        if after_return(returns[s.key]) == "escalate":
            r = _on_case(case)(GmRuling, step=f"gm-ruling-{s.key}-{returns[s.key]}",
                               title=f"多次退回，呈总经理裁定（{s.title}）", role="general_manager",
                               summary={**chain_summary(case, answers), "退回环节": s.title,
                                        "退回意见": a.comment or "（未填写）"})
            if r.decision == "withdrawn":
                return "withdrawn", answers
            returns[s.key] = 0
            notes[s.key] = {"总经理裁定": r.comment or "维持原稿，继续流转（不再退回）"}
            continue
        if i == 0:  # the GM office returns the form to the salesperson
            rev = _by_salesperson(case, FormRevision, f"form-revision-{returns[s.key]}", "补正《客户抱怨处理表》（被退回）",
                                  summary={**chain_summary(case, answers), "退回意见": a.comment})
            if rev.decision == "withdrawn":
                return "withdrawn", answers
            notes[s.key] = {"业务员补正": rev.opinion or rev.comment or "（已补正）"}
            continue
        prev = steps[i - 1]
        notes[prev.key] = {"被退回": f"{s.title}：{a.comment or '（未填写）'}"}
        i -= 1


def _ask_step(case: dict, s: ChainStep, n: int, answers: Answers, note: dict[str, str]) -> RunInput:
    """Ask a chain step; a step asked again goes to its earlier author."""
    earlier = answers.get(s.key)
    kw: dict[str, Any] = {"summary": {**chain_summary(case, answers), **note}, "due_business_days": s.due_business_days}
    if s.role == "salesperson":
        kw |= {"assignee": GrievanceData.of(case).salesperson, "requested_by": None}
    elif earlier is not None and earlier.decided_by:
        kw["assignee"] = earlier.decided_by
    title = s.title if n == 1 else f"{s.title}（第 {n} 次）"
    # the chain is data (models/grievance.py `chain_steps`): each step names its answer model
    return _on_case(case)(ANSWER_MODELS[s.answer_model], step=step_key(s.key, n), title=title, role=s.role, **kw)


def _state(s: ChainStep) -> str:
    return "registered" if s.no == 1 else "deciding" if s.no >= 7 else "investigating"


# ---- C18: responsibility, loss, penalty -------------------------------------------------------------
def handling_of(answers: Answers) -> dict[str, Any]:
    p = answers["proposal"]
    return {"handling": p.handling, "unit_price": str(p.unit_price), "amount": str(p.amount),
            "approvers": approvers(answers)}


def decision_record(c: Any, handling: dict[str, Any]) -> dict[str, Any]:
    """The decision as stored: handling, responsibility, the loss by the basis and the fines, each with
    the basis version (raises ValueError on a loss item or fine the bases refuse)."""
    loss_basis, penalty_basis = bases(services())
    total, breakdown = compute_loss(parse_pairs(c.loss_items, "损失项目"), loss_basis)
    fines = check_fines(parse_pairs(c.fines, "罚扣"), c.cause, penalty_basis)
    return {**{k: handling[k] for k in ("handling", "unit_price", "amount", "approvers")},
            "result": c.result, "cause": c.cause, "cause_label": CAUSE_LABELS[c.cause],
            "responsible_units": c.responsible_units, "responsible_persons": c.responsible_persons,
            "tracked": improvement_tracked(c.cause), "improvement_measure": c.improvement_measure,
            "improvement_owner": c.improvement_owner, "improvement_due": c.improvement_due,
            "loss_total": str(total), "loss_breakdown": breakdown, "loss_basis_version": loss_basis.version,
            "fines": fines, "penalty_basis_version": penalty_basis.version}


def consolidation_by_bases(case: dict, answers: Answers) -> dict[str, Any]:
    """The consolidation checked against the bases in force: an item or fine they refuse sends it back
    to the GM office with the reason (as often as it takes; the answer model already refuses the seed's
    ¥200–1,500 violations)."""
    c = answers["consolidation"]
    for n in count(2):
        try:
            return decision_record(c, handling_of(answers))
        except ValueError as exc:
            c = _on_case(case)(GrievanceConsolidation, step=f"consolidation-bases-{n}",
                               title="按核算/罚扣基准修正汇总（损失项目或罚扣不符）", role="gm_office",
                               assignee=c.decided_by or None, due_business_days=1,
                     summary={**chain_summary(case, answers), "不符之处": str(exc)},
                     defaults=c.model_dump(mode="json", exclude={"decision", "comment", "code", "decided_by"}))
    raise AssertionError("unreachable")


# ---- R9: quantity pending ------------------------------------------------------------------------------
def settle_quantity(case: dict, decision: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """R9: sales enters the quantity once known, the sales supervisor reviews it; an amount beyond the
    deciding band goes to the higher approvers. A rejection asks for the quantity again."""
    case_no = case["case_no"]
    record_state(case_no, "quantity_pending", "quantity_pending", data={"quantity_pending_since":
                                                                        services().clock.now().isoformat()})
    publish_grievance_form(case_no)

    def enter(round_no: int, why: str = "") -> dict[str, Any]:
        q = _by_salesperson(case, QuantityEntry, step_key("quantity", round_no), "填写退换数量（客户加工完毕）",
                            due_business_days=None, summary={**summary, **({"驳回意见": why} if why else {})})
        amount = pending_amount(Decimal(decision["unit_price"]), q.quantity)
        return {"value": q.quantity, "unit": q.unit, "amount": str(amount)}

    def approve(qty: dict[str, Any], round_no: int) -> list[Decision]:
        s = {**summary, "退换数量": f"{qty['value']} {qty['unit']}", "金额（元）": qty["amount"]}
        ask = _on_case(case).sharing(summary=s)
        out = [ask(Decision, step=step_key("quantity-review", round_no), title="业务主管核阅退换数量", role="sales_manager")]
        if out[0].decision == "approve":
            for role in reapproval_roles(Decimal(decision["amount"]), Decimal(qty["amount"]), services().authority):
                out.append(ask(Decision, step=step_key(f"reapprove-{role.replace('_', '-')}", round_no),
                               title="金额超出原核决权限，呈上级核决", role=role))
                if out[-1].decision != "approve":
                    break
        return out

    def revise(_qty: dict[str, Any], round_no: int, rejections: list[Decision]) -> dict[str, Any]:
        return enter(round_no + 1, "；".join(a.comment or "（未填写）" for a in rejections))

    qty = review_loop(enter(1), approve, revise)
    record_state(case_no, "decided", "quantity_settled", data={"final_quantity": qty, "quantity_pending": False},
                 event_data=qty)
    return qty


# ---- after the decision ----------------------------------------------------------------------------------
def approve_loss_and_penalty(case: dict, decision: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """C18: the supervisor in charge (the GM) approves loss and penalty before they apply; a rejection
    goes back to the GM office for a revised breakdown."""
    if Decimal(decision["loss_total"]) == 0 and not decision["fines"]:
        return decision

    def show(d: dict[str, Any]) -> dict[str, Any]:
        return {**summary, "客诉损失金额（元）": d["loss_total"],
                "罚扣": "；".join(f"{f['party']} {f['amount']} 元" for f in d["fines"]) or "无"}

    def approve(d: dict[str, Any], round_no: int) -> list[Decision]:
        return [_on_case(case)(Decision, step=step_key("penalty-approval", round_no), title="主管核准损失与罚扣", role="general_manager",
                     summary=show(d))]

    def revise(d: dict[str, Any], round_no: int, rejections: list[Decision]) -> dict[str, Any]:
        c = _on_case(case)(GrievanceConsolidation, step=step_key("penalty-revision", round_no),
                           title="按主管意见修正损失与罚扣", role="gm_office",
                           summary={**show(d), "主管意见": rejections[0].comment or "（未填写）"},
                 defaults={k: d[k] for k in ("result", "cause", "responsible_units", "responsible_persons",
                                             "improvement_measure", "improvement_owner", "improvement_due")})
        try:
            return decision_record(c, d)
        except ValueError:
            return d  # refused by the bases: the supervisor sees the earlier breakdown again

    approved = review_loop(decision, approve, revise)
    record_state(case["case_no"], "decided", "loss_penalty_approved", data={"decision": approved},
                 event_data={"loss_total": approved["loss_total"], "fines": approved["fines"]})
    return approved


def track_improvement(case: dict, decision: dict[str, Any], summary: dict[str, Any]) -> None:
    """C18 列入追踪: the owner carries the measure out by its due date (reminded, escalated), then the
    quality department checks its effect; an ineffective measure is carried out again."""
    org = services().org
    owner = org.find(decision["improvement_owner"])
    due = datetime.combine(datetime.fromisoformat(decision["improvement_due"]).date(), time(17, 30), TZ)
    now = services().clock.now()
    for n in count(1):
        done = _on_case(case)(ImprovementDone, step=step_key("improvement", n), title="落实改善措施（列入追踪）", role="production",
                    assignee=owner.email if owner else None, requested_by=None,
                    due_at=due if due > now else None, due_business_days=1,
                    summary={**summary, "改善措施": decision["improvement_measure"], "完成期限": decision["improvement_due"]})
        check = _on_case(case)(EffectCheck, step=step_key("effect-check", n), title="效果确认（质量管理部）", role="quality_lead",
                     requested_by=done.decided_by, summary={**summary, "落实情况": done.result})
        record_state(case["case_no"], "tracking", f"effect_checked:{n}", actor=check.decided_by,
                     event_data={"effective": check.decision == "effective"})
        if check.decision == "effective":
            return
    raise AssertionError("unreachable")


@flow(name="grievance", flow_run_name="grievance-{case_no}", log_prints=True)
def grievance(case_no: str) -> str:
    case = load_case(case_no)
    d = GrievanceData.of(case)
    tag_run(case["level"] or 2, "product", "产品质量")
    publish_grievance_form(case_no)

    outcome, answers = run_chain(case)
    summary = chain_summary(case, answers)
    if outcome == "abnormality":  # C15: no loss — an 《异常处理单》 to the units concerned, no chain
        units = [services().org.first_for_role(r).email for r in ("quality_lead", "production")]
        notice(case_no, "abnormality-report", units + [d.salesperson], "《异常处理单》",
               f"客户抱怨 {case_no} 未造成损失，按《异常处理单》处理：{answers['register'].comment or '请相关单位改善'}",
               summary, event="abnormality_report")
        record_state(case_no, "abnormality_report", "abnormality_reported", closed=True)
        publish_grievance_form(case_no)
        return "abnormality_report"
    if outcome == "withdrawn":
        record_state(case_no, "withdrawn", "grievance_withdrawn", closed=True)
        notice(case_no, "withdrawn", [d.salesperson, services().org.first_for_role("gm_office").email],
               "客户抱怨案件已撤销", f"客户抱怨 {case_no} 已撤销。", summary)
        publish_grievance_form(case_no)
        return "withdrawn"

    # C16 step 9 decided; C18 responsibility, loss and penalty by the bases
    decision = consolidation_by_bases(case, answers)
    pending = d.quantity_pending
    record_state(case_no, "decided", "grievance_decided", data={"decision": decision},
                 event_data={"amount": decision["amount"], "quantity_pending": pending})
    publish_grievance_form(case_no)
    if pending:  # R9
        settle_quantity(case, decision, summary)
        publish_grievance_form(case_no)
    issue_copies(case_no)  # C17
    decision = approve_loss_and_penalty(case, decision, summary)
    if decision["cause"] == "supplier":
        claim = _on_case(case)(SupplierClaim, step="supplier-claim", title="供应商索赔（索赔内容与追回金额）", role="gm_office",
                     summary=summary, due_business_days=10)
        record_state(case_no, "decided", "supplier_claim_recorded", actor=claim.decided_by,
                     data={"supplier_claim": {"supplier": claim.supplier, "claim": claim.claim,
                                              "recovered": str(claim.recovered)}})
    if decision["tracked"]:
        record_state(case_no, "tracking", "improvement_tracked")
        track_improvement(case, decision, summary)
    record_state(case_no, "closed", "grievance_closed", closed=True)
    publish_grievance_form(case_no)
    return "closed"


def route_complaint(case_no: str, ask: Asking, form: ComplaintForm, summary: dict[str, Any]) -> str:
    """C15's reading: a category-产品质量 complaint naming an order (`order_no`) is handled as a
    grievance — a salesperson fills the 《客户抱怨处理表》 from it, the grievance is filed linked to
    the complaint, and the complaint closes as routed (the grievance's chain replaces C6)."""
    from tasks.complaint.steps import close_case
    from tasks.grievance.steps import open_grievance_from_complaint

    f = ask(GrievanceForm, step="grievance-form", title="填写《客户抱怨处理表》（产品质量投诉转客户抱怨处理）", role="salesperson",
            summary=summary, defaults={"order_no": form.order_no, "item_no": form.products[0].code if form.products else "",
                                       "customer": form.complainant.name, "description": form.description,
                                       "demand": form.demand})
    body = f.to_form(f.decided_by, complaint_case_no=case_no, foreign=form.foreign)
    grievance_no = open_grievance_from_complaint(case_no, body.model_dump(mode="json"))
    close_case(case_no, "routed", "complaint_routed_to_grievance")
    return f"routed:{grievance_no}"
