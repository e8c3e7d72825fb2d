"""新客户认定 — new-customer certification (procedures §3, N1–N6).

The salesperson's 《新客户开发申请表》 is refused automatically, with the reason, when it comes more
than one month after the first transaction or when the customer name differs from the invoicing name
(N2). Otherwise the sales-department manager certifies it (the comment is the manager's instruction,
批示); the market branch gets the company's three-year transaction history checked for it (samples
excluded, N1) and certifies or refuses, the trades found listed — 000 «11» 第三条 has it sign only
"确认没有业务往来后", so any trade found refuses the application, naming the trades, whatever it answers;
the back office archives it, which
creates the customer archive record (N5); the certification is recorded for the salesperson's
reward (N6). A refusal at any step closes the case with the reason, mailed to the salesperson."""

from __future__ import annotations

import flows  # noqa: F401 - registers every procedure with the platform: a worker loads this file by its path

from prefect import flow

from deployments.names import NEW_CUSTOMER, flow_name
from models.new_customers import NewCustomerData, history_text

from tasks.cases import load_case, record_state
from models.answers import Done
from models.new_customer_answers import Certification
from tasks.ask import asking
from tasks.new_customer.steps import (certify, check_history, check_submission_rules, create_archive_record,
                                 form_summary, publish_application, refuse)


@flow(name=flow_name(NEW_CUSTOMER), flow_run_name="new-customer-{case_no}", log_prints=True)
def new_customer(case_no: str) -> str:
    return new_customer_steps(case_no)


def new_customer_steps(case_no: str) -> str:  # undecorated: mutation testing reaches it (docs/testing.md)
    case = load_case(case_no)
    salesperson = NewCustomerData.of(case).salesperson
    publish_application(case_no)

    ask = asking(case_no, requested_by=salesperson, template="new_customer_request", due_business_days=2)

    # N2: within one month of the first transaction; the customer name equals the invoicing name
    submission = check_submission_rules(case_no)
    if not submission["accepted"]:
        return refuse(case, step="submission-check", by="system", reason="；".join(submission["reasons"]))
    publish_application(case_no)

    # N4: the sales-department manager certifies; the comment is the manager's instruction (批示)
    manager = ask(Certification, step="sales-manager", title="业务部经理认定《新客户开发申请表》", role="sales_manager",
                  summary=form_summary(load_case(case_no)))
    if manager.decision == "refuse":
        return refuse(case, step="sales-manager", by=manager.decided_by, reason=manager.comment)
    record_state(case_no, "manager_certified", "manager_certified", actor=manager.decided_by,
                 data={"instruction": manager.comment})

    # N1/N4: the market branch gets the three-year history checked for it, and certifies or refuses
    history = check_history(case_no)
    publish_application(case_no)
    market = ask(Certification, step="market-branch", title="市场分部核查三年交易记录并认定", role="market_branch",
                 summary=form_summary(load_case(case_no)))
    if market.decision == "refuse" or history["trades"]:  # the refusal names the transactions found
        found = history_text(history) if history["trades"] else ""
        if market.decision == "certify":
            found = f"三年内有业务往来，市场分部不能签字确认（N4）：{found}"
        return refuse(case, step="market-branch", by=market.decided_by,
                      reason="；".join(r for r in (market.comment if market.decision == "refuse" else "", found) if r))
    record_state(case_no, "market_certified", "market_certified", actor=market.decided_by,
                 event_data={"trades_found": len(history["trades"]), "comment": market.comment})
    publish_application(case_no)

    # N5: the back office archives it: the customer archive record is created
    archived = ask(Done, step="back-office-archive", title="内勤分部存档（建立客户档案）", role="back_office",
                   summary=form_summary(load_case(case_no)))
    archive_no = create_archive_record(case_no, archived.decided_by)

    # N6: recorded for the salesperson's reward (the monthly statistics count certified cases)
    return certify(case, archive_no, archived.decided_by)
