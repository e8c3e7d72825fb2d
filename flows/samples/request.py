"""样品出门审批 — free sample approval (procedures §6, P1–P3).

The marketing department files the 《取样出门审批单》; the department leader signs, then the GM;
only then is the slip valid and goes to production, who hands the sample out and records it in the
workshop sample ledger with the taker's signature. A rejection at either step ends the case with the
reason sent to the requester."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from itertools import count

from prefect import flow

from deployments.names import SAMPLE_REQUEST, flow_name
from models.samples import SIZE_CLASS_LABELS, SampleRequestData, sample_weight_kg
from tasks.cases import load_case, record_state
from models.answers import Decision, Done
from models.samples_answers import GateCheck, SampleIssue, SampleRequisition, StockWithdrawal, WarehouseLedger
from tasks.ask import Asking, asking, review_loop
from models.archive.corrections import step_key as round_key
from tasks.notify import deliver_mail, notify
from tasks.samples.steps import issue_slip_copies, record_gate_check, record_sample_issue, slip_context


def sample_summary(case: dict) -> dict:
    """What the approvers read: the slip's fields."""
    form = SampleRequestData.of(case)
    return {
        "客户": form.customer, "品名": form.product, "规格": form.spec,
        "规格类别": SIZE_CLASS_LABELS[form.size_class], "数量（个）": form.quantity,
        "重量（kg）": str(sample_weight_kg(form.size_class, form.quantity)),
        "事由": form.reason, "申请人": case["requested_by"],
    }


@flow(name=flow_name(SAMPLE_REQUEST), flow_run_name="sample-request-{case_no}", log_prints=True)
def sample_request(case_no: str) -> str:
    return sample_request_steps(case_no)


def sample_request_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    summary = sample_summary(case)
    ask = asking(case_no, requested_by=case["requested_by"], summary=summary)

    # P2: the department leader signs, then the GM; a rejection ends it with the reason.
    for step_key, title, role in (("leader-approval", "部门负责人审批《取样出门审批单》", "marketing_leader"),
                                  ("gm-approval", "总经理审批《取样出门审批单》", "general_manager")):
        answer = ask(Decision, step=step_key, title=title, role=role)
        if answer.decision == "reject":
            record_state(case_no, "rejected", "sample_rejected", actor=answer.decided_by,
                         event_data={"step": step_key, "reason": answer.comment}, closed=True)
            notify(case_no, "rejected", "notice", [case["requested_by"]],
                   {"case_no": case_no, "title": "取样出门审批单未获批准",
                    "message": f"您的取样申请在「{title}」环节被驳回。\n理由：{answer.comment or '（未填写）'}",
                    "summary": summary})
            return "rejected"

    # P3: the valid slip goes to production; P4: issued as three copies, the third the gate pass.
    record_state(case_no, "approved", "sample_approved")
    slip = slip_context(case_no)
    notify(case_no, "slip", "sample_slip", slip.pop("recipients"), slip)
    issue_slip_copies(case_no)
    deliver_mail(case_no, return_state=True)

    if SampleRequestData.of(case).from_stock:
        # P5: a product not in production comes from stock — 退库, the storekeeper's ledger, a GM-approved
        # 《领用单》; only then are the stock issue and finance's booking opened
        issue: SampleIssue | WarehouseLedger = sample_from_stock(ask)
    else:
        issue = ask(SampleIssue, step="sample-issue", title="样品发放登记", role="production", due_business_days=2)
    record_sample_issue(case_no, issue.taker, issue.quantity, issue.decided_by)
    record_state(case_no, "issued", "sample_issued", actor=issue.decided_by,
                 event_data={"taker": issue.taker, "quantity": issue.quantity})

    # P4: the gate guard checks the goods against the pass; a used or invalid code is refused (and the
    # guard checks again), goods not matching the pass are refused
    result = check_at_gate(ask)
    record_state(case_no, "issued", "sample_gate_done", event_data={"gate": result}, closed=True)
    return "issued"


def sample_from_stock(ask: Asking) -> WarehouseLedger:
    """P5: a product not in production comes from stock (the ledger's entry is the issue recorded)."""
    case_no, requested_by, summary = ask.case_no, ask.shared["requested_by"], ask.shared["summary"]
    withdrawal = ask(StockWithdrawal, step="stock-withdrawal", title="车间办理退库（非在机生产品种取样）", role="production")
    record_state(case_no, "approved", "stock_withdrawn", actor=withdrawal.decided_by, event_data={"note": withdrawal.note})
    ledger = ask(WarehouseLedger, step="warehouse-ledger", title="司库员登记仓库台账（取样）", role="storekeeper",
                 defaults={"quantity": summary["数量（个）"]})
    record_state(case_no, "approved", "warehouse_ledger_recorded", actor=ledger.decided_by,
                 data={"warehouse_ledger": ledger.model_dump(mode="json", include={"taker", "quantity", "taken_on",
                                                                                   "decided_by"})})

    def requisition(n: int) -> SampleRequisition:
        return ask(SampleRequisition, step=round_key("requisition", n), title="填写《领用单》", role="marketing",
                   assignee=requested_by, requested_by=None, defaults={"quantity": ledger.quantity},
                   summary={**summary, "仓库台账数量": ledger.quantity})

    approvals: list[Decision] = []

    def approve(req: SampleRequisition, n: int) -> list[Decision]:
        approvals.append(ask(Decision, step=round_key("requisition-gm-approval", n), title="总经理审批《领用单》",
                             role="general_manager",
                             summary={**summary, "领用数量": req.quantity, "用途": req.purpose, "仓库台账数量": ledger.quantity}))
        return approvals[-1:]

    req = review_loop(requisition(1), approve, lambda _req, n, _rejections: requisition(n + 1))
    approval = approvals[-1]
    record_state(case_no, "approved", "requisition_approved", actor=approval.decided_by,
                 data={"requisition": {"quantity": req.quantity, "purpose": req.purpose, "approved_by": approval.decided_by}})
    ask.each(Done, [{"step": key, "title": title, "role": role, "summary": {**summary, "领用数量": req.quantity}}
                    for key, title, role in (("stock-issue", "仓库办理出库（《领用单》已批准）", "warehouse"),
                                             ("sample-booking", "财务入账：销售费用及销售（《领用单》已批准）", "accounting"))])
    return ledger


def check_at_gate(ask: Asking) -> str:
    for n in count(1):
        check = ask(GateCheck, step=round_key("gate-check", n), title="门卫核验出门证", role="gate_guard",
                    due_business_days=1)
        result, reason = record_gate_check(ask.case_no, round_key("gate-check", n), check.model_dump(mode="json"))
        if result == "released" or reason != "出门证编码无效":
            return result
    raise AssertionError("unreachable")
