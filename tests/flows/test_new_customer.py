"""新客户认定 (§3, N1–N6), run in-process: the N2 checks, the sales manager's certification, the market
branch's check of the three-year history, the back office's archive record."""

from flows.new_customer import new_customer
from models.answers import Done
from models.new_customer_answers import Certification
from tests.flows.harness import BACK_OFFICE, MARKET_BRANCH, PENDING, SALES_MANAGER, SALESPERSON

CERTIFY = Certification(decision="certify", comment="同意，重点跟进")

def signed(**over) -> dict:
    return {"sales-manager": CERTIFY, "market-branch": Certification(decision="certify"),
            "back-office-archive": Done()} | over

def test_a_new_customer_certified_by_manager_and_market_branch_and_archived(office):
    run = office.run(new_customer, office.new_customer(), signed())
    assert run.result == "certified" and run.case.state == "certified"
    assert [(a.step, a.assignee) for a in run.asked] == [
        ("sales-manager", SALES_MANAGER), ("market-branch", MARKET_BRANCH), ("back-office-archive", BACK_OFFICE)]
    assert run.case.data["instruction"] == "同意，重点跟进"
    archive_no = run.case.data["archive_no"]
    assert office.svc.store.get_customer(archive_no).name == "苏州新锦纺织有限公司"
    (certified,) = run.events("certified")  # N6: counted for the salesperson's reward, with the archive record
    assert certified.actor == BACK_OFFICE and certified.data["archive_no"] == archive_no
    assert certified.data["salesperson"] == SALESPERSON and run.case.closed_at is not None
    (notice,) = run.mails_to(SALESPERSON, "新客户已认定")
    assert f"客户档案编号 {archive_no}" in notice.text

def test_the_market_branch_refusal_closes_the_case_naming_the_trades_found(office):
    office.trade("XS-OLD-7", days_ago=200)
    run = office.run(new_customer, office.new_customer(), signed(**{
        "market-branch": Certification(decision="refuse", comment="三年内有交易")}))
    assert run.result == "refused" and run.case.state == "refused"
    assert "back-office-archive" not in run.steps and "archive_no" not in run.case.data
    refusal = run.case.data["refusal"]
    assert refusal["step"] == "market-branch" and refusal["by"] == MARKET_BRANCH and "XS-OLD-7" in refusal["reason"]
    assert refusal["reason"].startswith("三年内有交易；")  # the market branch's reason, then the trades found
    (notice,) = run.mails_to(SALESPERSON, "不予认定")
    assert "XS-OLD-7" in notice.text

def test_the_manager_refusal_ends_it_before_the_market_branch(office):
    run = office.run(new_customer, office.new_customer(), signed(**{
        "sales-manager": Certification(decision="refuse", comment="客户资信不明")}))
    assert run.result == "refused" and run.steps == ["sales-manager"]
    refusal = run.case.data["refusal"]
    assert (refusal["step"], refusal["by"], refusal["reason"]) == ("sales-manager", SALES_MANAGER, "客户资信不明")


def test_the_market_branch_refusal_ends_it_even_without_trades_found(office):
    # N4: the market branch may refuse on its own judgement; its reason is the refusal's, nothing added
    run = office.run(new_customer, office.new_customer(), signed(**{
        "market-branch": Certification(decision="refuse", comment="客户与关联公司有往来")}))
    assert run.result == "refused" and "back-office-archive" not in run.steps
    refusal = run.case.data["refusal"]
    assert (refusal["step"], refusal["by"], refusal["reason"]) == ("market-branch", MARKET_BRANCH, "客户与关联公司有往来")


def test_the_manager_certification_is_recorded_with_the_instruction_before_the_market_branch(office):
    run = office.run(new_customer, office.new_customer(), signed(**{"market-branch": PENDING}))
    assert run.waiting_on == "market-branch" and run.case.state == "manager_certified"
    (event,) = run.events("manager_certified")
    assert event.actor == SALES_MANAGER and run.case.data["instruction"] == "同意，重点跟进"

def test_the_market_branch_certification_is_recorded_with_what_it_found_before_the_archive(office):
    run = office.run(new_customer, office.new_customer(), signed(**{
        "market-branch": Certification(decision="certify", comment="三年内无交易"), "back-office-archive": PENDING}))
    assert run.waiting_on == "back-office-archive" and run.case.state == "market_certified"
    (event,) = run.events("market_certified")
    assert event.actor == MARKET_BRANCH and event.data == {
        "trades_found": 0, "comment": "三年内无交易", "state": ["manager_certified", "market_certified"]}


def test_a_late_application_is_refused_automatically_with_the_reason(office):
    run = office.run(new_customer, office.new_customer(
        first_transaction={"date": "2026-09-01", "amount": "100.00", "reference": "XS-LATE"}), signed())
    assert run.result == "refused" and run.steps == []
    assert run.case.data["refusal"]["auto"] is True

def test_found_trades_refuse_the_application_even_if_the_market_branch_signs(office):
    """Issue 19 N4: the market branch could certify although prior trades were found."""
    office.trade("XS-OLD-8", days_ago=300)
    run = office.run(new_customer, office.new_customer(), signed(**{
        "market-branch": Certification(decision="certify", comment="同意认定")}))
    assert run.result == "refused" and run.case.state == "refused"
    assert "同意认定" not in run.case.data["refusal"]["reason"]  # a signature's comment is no reason to refuse
    assert "XS-OLD-8" in run.case.data["refusal"]["reason"] and run.case.data["refusal"]["step"] == "market-branch"
    assert run.case.data["refusal"]["reason"].startswith("三年内有业务往来，市场分部不能签字确认（N4）：")
    assert "back-office-archive" not in run.steps and "archive_no" not in run.case.data
    (notice,) = run.mails_to(SALESPERSON, "不予认定")
    assert "XS-OLD-8" in notice.text

def test_a_sample_shipment_is_no_trade_and_the_market_branch_certifies(office):
    office.trade("YP-OLD-1", days_ago=300, kind="sample")
    run = office.run(new_customer, office.new_customer(), signed())
    assert run.result == "certified"


def test_a_customer_name_other_than_the_invoicing_name_is_refused_automatically(office):
    # N2: the customer name must equal the invoicing name (开票资料名称): refused before anyone is asked
    form = {"name": "苏州新锦纺织有限公司", "invoicing_name": "苏州新锦纺织品贸易有限公司",
            "customer_class": "enterprise", "contact_name": "陈先生", "phone": "13912345678",
            "registration": {"credit_code": "91320500MA1XYZ1234"}, "address": "苏州工业园区"}
    run = office.run(new_customer, office.new_customer(customer=form), signed())
    assert run.result == "refused" and run.steps == []
    refusal = run.case.data["refusal"]
    assert refusal["auto"] is True and refusal["step"] == "submission-check" and "开票" in refusal["reason"]
    (notice,) = run.mails_to(SALESPERSON, "不予认定")
    assert "开票" in notice.text


def test_every_signer_gets_the_application_for_two_business_days_and_the_salesperson_never_signs(office):
    # N4/N5: each signature is asked with the application (its own email), due in 2 business days
    # (Wednesday 10:00 → Friday 10:00), and never of the salesperson who applied
    run = office.run(new_customer, office.new_customer(), signed())
    assert [a.title for a in run.asked] == ["业务部经理认定《新客户开发申请表》", "市场分部核查三年交易记录并认定",
                                           "内勤分部存档（建立客户档案）"]
    for step, person in (("sales-manager", SALES_MANAGER), ("market-branch", MARKET_BRANCH),
                         ("back-office-archive", BACK_OFFICE)):
        asked = run.step(step)
        assert asked.requested_by == SALESPERSON
        assert asked.due.isoformat() == "2026-11-27T02:00:00+00:00"
        assert asked.summary["客户名称"] == "苏州新锦纺织有限公司"
        (mail,) = [m for m in run.mails_to(person) if f"新客户认定 {run.case_no} 需要您处理" in m.text]
        assert "苏州新锦纺织有限公司" in mail.text


def test_a_late_application_under_another_name_is_refused_for_both_reasons(office):
    form = {"name": "苏州新锦纺织有限公司", "invoicing_name": "苏州新锦贸易有限公司", "customer_class": "enterprise",
            "contact_name": "陈先生", "phone": "13912345678", "registration": {"credit_code": "91320500MA1XYZ1234"},
            "address": "苏州工业园区"}
    run = office.run(new_customer, office.new_customer(
        customer=form, first_transaction={"date": "2026-09-01", "amount": "100.00", "reference": "XS-LATE"}), signed())
    reasons = run.case.data["submission_check"]["reasons"]
    assert len(reasons) == 2 and any("开票" in r for r in reasons) and run.steps == []
    assert run.case.data["refusal"]["reason"] == "；".join(reasons)
