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

C6 still applies inside the chain: quality and production state responsibility and the plan by the 1-day
deadline, the investigation goes to the GM for his 批示 within 3 business days, and nothing is promised to
the customer before the decision.

After the decision: R9 — a quantity still unknown (客户加工中未确定) waits in `quantity_pending` (weekly
reminders to sales, tasks/grievance/watch.py), is reviewed by the sales supervisor and re-approved by
the higher band when its amount passes the deciding band; then the five copies (C17); sales tells the
customer, and a customer who rejects the decision gets a new form linked to this one, run again (C17);
the responsible units and persons are notified and may object by 《签呈》 via the GM office to the GM,
whose answer is final (C19); then the supervisor in charge approves loss and penalty (C18); a supplier's
liability gets a supplier claim; our quality problem's improvement is tracked to its due date and its
effect checked by quality."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from collections import Counter
from itertools import count
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from prefect import flow
from prefect.input import RunInput

from deployments.names import GRIEVANCE, flow_name
from models.answers import ANSWER_MODELS, Decision
from models.business_days import TZ
from models.complaint.handling import ComplaintForm
from models.archive.corrections import step_key
from models.complaint.answers import GmInstruction
from models.grievance import (CAUSE_LABELS, NO_PROMISE, OBJECTION_BUSINESS_DAYS, ChainStep, GrievanceData, after_return,
                              approvers_by_amount, chain_steps, check_fines, compute_loss, improvement_reminder,
                              improvement_tracked,
                              parse_pairs, pending_amount, reapproval_roles, responsible_units)
from models.grievance_answers import (PETITION_SUBJECTS, CustomerDecisionReply, EffectCheck, FormRevision, GmRuling,
                                      GrievanceConsolidation, GrievanceForm, ImprovementDone, ObjectionFollowUp,
                                      PersonalOpinionReply, Petition, PetitionAnswer, PetitionForward, QuantityEntry,
                                      SupplierClaim)
from tasks.ask import A, Asking, asking, review_loop, step_request, typed
from tasks.cases import load_case, record_state
from tasks.complaint.steps import notice, tag_run
from tasks.grievance.steps import (bases, grievance_summary, issue_copies, publish_grievance_form,
                                   refile_rejected_grievance)
from tasks.human import StepRequest, open_steps, request_decision
from tasks.platform.runtime import services
from tasks.returns.authority import authority
from tasks.complaint.steps import close_case
from tasks.grievance.steps import open_grievance_from_complaint
from flows.grievance.month import heads_of

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
    return None if amount is None else approvers_by_amount(amount, authority(services()))


def chain_summary(case: dict, answers: Answers, decided: bool = False) -> dict[str, Any]:
    """The form and what the chain has said so far; before the decision, the no-promise rule (C6)."""
    out = grievance_summary(case)
    if not decided:
        out["承诺限制"] = NO_PROMISE
    labels = {"quality": ("质量管理部", "cause_analysis"), "production": ("制造部门对策", "countermeasure"),
              "gm-report": ("总经理批示（调查报告）", "instruction"), "manager": ("经理室批示", "instruction"),
              "rd": ("研发部意见", "opinion"),
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
            if s.key == "production" and "gm-report" not in answers:  # C6: the investigation goes to the GM
                answers["gm-report"] = gm_report(case, answers)
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
    """Ask a chain step; a step asked again goes to its earlier author. Steps 2–3 state responsibility
    and the plan by C6's 1-day deadline (from receipt); a round after a return has its own day."""
    earlier = answers.get(s.key)
    kw: dict[str, Any] = {"summary": {**chain_summary(case, answers), **note}, "due_business_days": s.due_business_days}
    if s.key in PLAN_STEPS and n == 1:
        kw["due_at"] = GrievanceData.of(case).due("plan")
    if s.role == "salesperson":
        kw |= {"assignee": GrievanceData.of(case).salesperson, "requested_by": None}
    elif earlier is not None and earlier.decided_by:
        kw["assignee"] = earlier.decided_by
    title = s.title if n == 1 else f"{s.title}（第 {n} 次）"
    # the chain is data (models/grievance.py `chain_steps`): each step names its answer model
    return _on_case(case)(ANSWER_MODELS[s.answer_model], step=step_key(s.key, n), title=title, role=s.role, **kw)


PLAN_STEPS = ("quality", "production")  # C6's 1-day plan: responsibility (step 2) and countermeasure (step 3)


def gm_report(case: dict, answers: Answers) -> GmInstruction:
    """C6 inside the chain: the investigation (steps 2–3) is reported to the GM, whose 批示 is due 3
    business days after the plan's deadline (the watchdog reminds, then escalates to the chairman)."""
    r = _on_case(case)(GmInstruction, step="gm-report", title="客户抱怨调查报告：总经理批示（3个工作日内）",
                       role="general_manager", summary=chain_summary(case, answers),
                       due_at=GrievanceData.of(case).due("gm_report"), escalate_to=_chairman())
    record_state(case["case_no"], "investigating", "gm_instruction_recorded", actor=r.decided_by,
                 data={"gm_instruction": r.instruction}, event_data={"instruction": r.instruction})
    publish_grievance_form(case["case_no"])
    return r


def _chairman() -> str | None:
    """Where the GM's overdue 批示 escalates (the GM has no superior in the org directory)."""
    people = services().org.people_for_role("chairman") if "chairman" in services().org.roles else []
    return people[0].email if people else None


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
            for role in reapproval_roles(Decimal(decision["amount"]), Decimal(qty["amount"]), authority(services())):
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


# ---- C17 the customer's answer, C19 objections -------------------------------------------------------------
def decision_lines(decision: dict[str, Any]) -> dict[str, str]:
    fines = "；".join(f"{f['party']} {f['amount']} 元" for f in decision["fines"]) or "无"
    return {"责任原因": decision["cause_label"], "责任单位": decision["responsible_units"] or "—",
            "责任人员": decision["responsible_persons"] or "—", "客诉损失金额（元）": decision["loss_total"], "罚扣": fines}


def objection_requests(case: dict, decision: dict[str, Any], summary: dict[str, Any]) -> list[StepRequest]:
    """C19: the decision's notice to the head of each responsible unit (responsibility, loss, penalty),
    answered by accepting it or filing a 《签呈》; and to each responsible person of ours, told the
    opinion concerning them, who may object to the handler. Due 3 business days from the notification."""

    org, case_no = services().org, case["case_no"]
    shown = {**summary, **decision_lines(decision)}
    reqs = [StepRequest(case_no=case_no, step_key=f"objection-{code}", role=role, assignee=head,
                        title=f"核决通知（{unit}）：无异议请确认；对责任、损失或罚扣有异议请提《签呈》（3个工作日内）",
                        answer_model=Petition.__name__, due_business_days=OBJECTION_BUSINESS_DAYS, summary=shown)
            for unit, (code, head, role) in heads_of(responsible_units(decision["responsible_units"])).items()]
    for n, name in enumerate(responsible_units(decision["responsible_persons"]), 1):
        person = org.find(name)
        if person is None or not org.roles_of(person.email):
            continue  # not a person of ours: nobody to tell through the system
        mine = [f"{f['amount']} 元（{f['penalty_type']}）" for f in decision["fines"]
                if f["party"] in (person.name, person.email)]
        reqs.append(StepRequest(
            case_no=case_no, step_key=f"opinion-person-{n}", role=org.roles_of(person.email)[0], assignee=person.email,
            title="对您本人的处理意见：请知悉，有异议可向受理人提出（3个工作日内）", answer_model=PersonalOpinionReply.__name__,
            due_business_days=OBJECTION_BUSINESS_DAYS,
            summary={**summary, "对您的处理意见": f"{decision['cause_label']}；责任人员：{person.name}；"
                                                 f"罚扣：{'；'.join(mine) or '无'}"}))
    return reqs


def tell_customer_and_units(case: dict, decision: dict[str, Any],
                            summary: dict[str, Any]) -> tuple[CustomerDecisionReply, list[tuple[StepRequest, RunInput]]]:
    """C17 and C19 at once: sales passes the decision on (letter or phone) and records whether the customer
    accepts it; the responsible units and persons are notified in the same moment. The customer-facing
    answer is taken first — it never waits for an objection; a rejection leaves the objections moot."""
    told = step_request(CustomerDecisionReply, case_no=case["case_no"], step="decision-told", role="salesperson",
                        assignee=GrievanceData.of(case).salesperson,
                        title="向客户函告或电话告知核决结果，记录客户是否接受", summary=summary)
    told, *objections = open_steps([told, *objection_requests(case, decision, summary)])
    reply = typed(CustomerDecisionReply, request_decision(told))
    record_state(case["case_no"], "decided", f"customer_{reply.decision}", actor=reply.decided_by,
                 data={"customer_reply": {"decision": reply.decision, "via": reply.passed_on_via, "note": reply.note}},
                 event_data={"via": reply.passed_on_via})
    if reply.decision == "rejected":
        return reply, []
    return reply, [(r, request_decision(r)) for r in objections]


def refile(case: dict, summary: dict[str, Any]) -> str:
    """C17: the customer rejects the decision — sales fills a new form linked to the original (the
    original's data pre-filled), which runs C16 again as a case of its own."""
    f = GrievanceData.of(case).form.model_dump(mode="json")
    q = f.get("return_quantity")
    defaults = {k: f[k] for k in ("abnormality_no", "order_no", "item_no", "customer", "ship_date", "description",
                                  "demand", "grievance_class", "sample_attached", "opinion")}
    defaults |= {"quantity_shipped": f["quantity_shipped"]["value"], "unit": f["quantity_shipped"]["unit"],
                 "defective_quantity": f["defective_quantity"]["value"], "return_quantity": q["value"] if q else 0}
    form = _by_salesperson(case, GrievanceForm, "new-form", "客户不接受核决：重新填写《客户抱怨处理表》（另案重办）",
                           summary=summary, defaults=defaults)
    body = form.to_form(GrievanceData.of(case).salesperson, previous_case_no=case["case_no"], foreign=bool(f.get("foreign")))
    return refile_rejected_grievance(case["case_no"], body.model_dump(mode="json"))


def hear_objections(case: dict, decision: dict[str, Any], heard: list[tuple[StepRequest, RunInput]]) -> dict[str, Any]:
    """C19: each 《签呈》 goes via the GM office to the GM, whose answer is final (a changed fine replaces
    the decision's); a person's objection goes to the handler (the GM office), who records the follow-up —
    continued disagreement becomes that person's 《签呈》."""
    for req, a in heard:
        if a.decision == "petition":
            decision = petition_to_gm(case, req.step_key, a, decision)
        elif a.decision == "objects":
            s = {**req.summary, "异议人": a.decided_by, "异议内容": a.objection}
            follow = _on_case(case)(ObjectionFollowUp, step=f"{req.step_key}-follow-up",
                                    title="受理人跟进被投诉人的异议并记录", role="gm_office",
                                    requested_by=a.decided_by, summary=s)
            record_state(case["case_no"], "decided", f"objection_followed_up:{req.step_key}", actor=follow.decided_by,
                         event_data={"person": a.decided_by, "follow_up": follow.follow_up, "result": follow.decision})
            if follow.decision == "petition":
                pet = _on_case(case)(Petition, step=f"{req.step_key}-petition", title="填写《签呈》（对处理意见仍有异议）",
                                     role=req.role, assignee=req.assignee, requested_by=None, due_business_days=OBJECTION_BUSINESS_DAYS,
                           summary={**s, "受理人跟进": follow.follow_up},
                           defaults={"decision": "petition", "subject": "penalty", "reasons": a.objection})
                if pet.decision == "petition":
                    decision = petition_to_gm(case, f"{req.step_key}-petition", pet, decision)
    return decision


def petition_to_gm(case: dict, key: str, pet: Petition, decision: dict[str, Any]) -> dict[str, Any]:
    """One 《签呈》: the GM office forwards it with its opinion, the GM answers (final). A changed fine is
    checked against the penalty basis (refused: the GM is asked again with the reason)."""
    case_no = case["case_no"]
    record = {"by": pet.decided_by, "subject": pet.subject, "reasons": pet.reasons, "change_asked": pet.change_asked,
              "attachments": pet.attachments, "state": "open"}
    _record_petition(case_no, key, record, "petition_filed")
    s = {**decision_lines(decision), "签呈人": pet.decided_by, "异议事项": PETITION_SUBJECTS[pet.subject],
         "理由": pet.reasons, "请求变更为": pet.change_asked, "附件": pet.attachments or "无"}
    fwd = _on_case(case)(PetitionForward, step=f"{key}-forward", title="《签呈》经总经理室呈总经理", role="gm_office",
                         requested_by=pet.decided_by, summary=s)
    s["总经理室意见"] = fwd.opinion
    for n in count(1):
        ans = _on_case(case)(PetitionAnswer, step=f"{key}-answer" + ("" if n == 1 else f"-{n}"),
                             title="总经理批示《签呈》（最终决定）", role="general_manager",
                             requested_by=pet.decided_by, summary=s)
        try:
            if ans.decision == "changed" and ans.fines.strip():
                _loss, penalty_basis = bases(services())
                decision = {**decision, "fines": check_fines(parse_pairs(ans.fines, "罚扣"), decision["cause"],
                                                             penalty_basis)}
            break
        except ValueError as exc:
            s["不符之处"] = str(exc)
    _record_petition(case_no, key, {**record, "state": "answered", "answer": ans.decision, "gm_answer": ans.answer,
                                    "answered_by": ans.decided_by}, "petition_answered", decision=decision)
    return decision


def _record_petition(case_no: str, key: str, record: dict[str, Any], kind: str,
                     decision: dict[str, Any] | None = None) -> None:
    petitions = {**(services().store.get_case(case_no).data.get("petitions") or {}), key: record}
    data = {"petitions": petitions} | ({"decision": decision} if decision is not None else {})
    record_state(case_no, "decided", f"{kind}:{key}", actor=record.get("answered_by") or record["by"], data=data,
                 event_data={"petition": key, **{k: record[k] for k in ("subject", "state")}})


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
                    due_at=due if due > now else None, remind_at=improvement_reminder(due, now), due_business_days=1,
                    summary={**summary, "改善措施": decision["improvement_measure"], "完成期限": decision["improvement_due"]})
        check = _on_case(case)(EffectCheck, step=step_key("effect-check", n), title="效果确认（质量管理部）", role="quality_lead",
                     requested_by=done.decided_by, summary={**summary, "落实情况": done.result})
        record_state(case["case_no"], "tracking", f"effect_checked:{n}", actor=check.decided_by,
                     event_data={"effective": check.decision == "effective"})
        if check.decision == "effective":
            return
    raise AssertionError("unreachable")


@flow(name=flow_name(GRIEVANCE), flow_run_name="grievance-{case_no}", log_prints=True)
def grievance(case_no: str) -> str:
    return grievance_steps(case_no)


def grievance_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
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
    summary = chain_summary(case, answers, decided=True)  # from here on the customer may be told
    reply, heard = tell_customer_and_units(case, decision, summary)
    if reply.decision == "rejected":  # C17: a new form, linked, runs the chain again (as C9)
        new_no = refile(case, summary)
        record_state(case_no, "customer_rejected", "grievance_refiled", closed=True, data={"refiled_as": new_no},
                     event_data={"case_no": new_no})
        publish_grievance_form(case_no)
        return "customer_rejected"
    decision = hear_objections(case, decision, heard)  # C19: the disputed fine waits for the GM's answer
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
    f = ask(GrievanceForm, step="grievance-form", title="填写《客户抱怨处理表》（产品质量投诉转客户抱怨处理）", role="salesperson",
            summary=summary, defaults={"order_no": form.order_no, "item_no": form.products[0].code if form.products else "",
                                       "customer": form.complainant.name, "description": form.description,
                                       "demand": form.demand})
    body = f.to_form(f.decided_by, complaint_case_no=case_no, foreign=form.foreign)
    grievance_no = open_grievance_from_complaint(case_no, body.model_dump(mode="json"))
    close_case(case_no, "routed", "complaint_routed_to_grievance")
    return f"routed:{grievance_no}"
