"""Steps of return and credit processing (§4): the forms, booking and the receivables record."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prefect import task
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from models.archive.records import TransactionIn
from models.business_days import TZ
from models.returns import KIND_LABELS, PROOF_LABELS, receivable_exclusion, returned_amount
from models.tables import ReceivableExclusion
from tasks.cases import publish_form
from tasks.platform.policy import IO_TASK
from tasks.platform.render import render
from tasks.platform.runtime import services
from tasks.replay import replayed


def form_summary(case: dict[str, Any]) -> dict[str, Any]:
    d = case["data"]
    out = {"单号": case["case_no"], "类别": KIND_LABELS[d["kind"]], "客户": d["customer"],
           "料号 / 品名": f"{d['product_code']} {d.get('product_name', '')}".strip(), "金额（元）": d["amount"],
           "原因": d["reason"], "业务员": d["salesperson"]}
    if d.get("quantity"):
        out["核定量"] = f"{d['quantity']['value']} {d['quantity']['unit']}"
    if d.get("handling"):
        out["处理方式"] = d["handling"]
    if d.get("basis"):
        out["依据"] = d["basis"]
    if d.get("complaint_case_no"):
        out["来源投诉"] = d["complaint_case_no"]
    return out


@replayed("skip")  # the form artifact, kept current: called in place, no task run (tasks/replay.py)
@task(name="开具单据 issue the form", **IO_TASK)
def issue_form(case_no: str) -> None:
    """R3/R4: the 《销货折让证明单》 or 《成品退货单》, rendered and kept as the run's artifact."""
    svc = services()
    case = svc.store.get_case(case_no)
    template = "allowance_certificate" if case.procedure == "allowance" else "return_slip"
    md = render(f"forms/{template}.md.j2", case=case, d=case.data, tasks=svc.store.tasks_of(case_no))
    publish_form.fn(case_no, md, f"{case.procedure}-form-{case_no.lower()}")


def excluded_before(complaint_case_no: str, product_code: str, case_no: str) -> bool:
    """R7: whether another case of the same complaint already excluded this product's receivable."""
    with services().store.session() as s:
        return s.exec(select(ReceivableExclusion.id).where(
            ReceivableExclusion.complaint_case_no == complaint_case_no,
            ReceivableExclusion.product_code == product_code, ReceivableExclusion.case_no != case_no)).first() is not None


def excluded_receivables(salesperson: str) -> dict[str, Decimal]:
    """R7: the receivables excluded from a salesperson's collection-rate figure, by 料号 (what
    accounting deducts when it computes the bonus)."""
    out: dict[str, Decimal] = {}
    with services().store.session() as s:
        for row in s.exec(select(ReceivableExclusion).where(ReceivableExclusion.salesperson == salesperson)).all():
            out[row.product_code] = out.get(row.product_code, Decimal("0.00")) + Decimal(row.amount)
    return out


@task(name="入账并记录应收款 book and record receivables", **IO_TASK)
def book(case_no: str, proof: str, booked_quantity: int | None, actor: str,
         product_receivable: Decimal = Decimal("0")) -> None:
    """R3/R6: booking with its proof; R7/R8: the product's receivable as accounting states it, excluded
    from the collection-rate figure (once per complaint and 料号: a sibling case of the same complaint
    that excluded it already leaves nothing more to exclude); a return also writes its "return"
    transaction to the history (§3 N1), negative, for the booked quantity."""
    svc = services()
    case = svc.store.get_case(case_no)
    d = case.data
    excluded = receivable_exclusion(Decimal(str(product_receivable)), d.get("complaint_established", True))
    if excluded > 0 and d.get("complaint_case_no") and excluded_before(d["complaint_case_no"], d["product_code"], case_no):
        excluded = Decimal("0.00")
    if excluded > 0:
        with svc.store.session() as s:
            if not s.exec(select(ReceivableExclusion.id).where(ReceivableExclusion.case_no == case_no)).first():
                s.add(ReceivableExclusion(case_no=case_no, complaint_case_no=d.get("complaint_case_no"),
                                          salesperson=d["salesperson"], product_code=d["product_code"],
                                          amount=excluded, at=svc.clock.now()))
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
    if case.procedure == "return" and booked_quantity is not None:
        # the transaction history (N1): a "return" under the case number, once per case
        svc.store.record_transaction(TransactionIn(
            reference=case_no, customer=d["customer"], on=svc.clock.now().astimezone(TZ).date(), kind="return",
            amount=returned_amount(Decimal(d["amount"]), d["quantity"]["value"], booked_quantity)),
            case_no=case_no)
    record = {"proof": proof, "proof_label": PROOF_LABELS[proof], "receivable_excluded": str(excluded)}
    if booked_quantity is not None:
        record["booked_quantity"] = booked_quantity
    if case.state != "booked":
        svc.store.update_case(case_no, actor=actor, kind="booked", now=svc.clock.now(), state="booked",
                              closed=True, data={"booking": record}, event_data=record)
