"""The approver's experience in a real browser: Debian's headless Chromium driven by Playwright, on
the real stack. Open the email in the dev mailbox, click the link, decide with a comment, see the
confirmation — on a phone-sized screen and on a desktop. Screenshots go to `$KEFU_SCREENSHOTS`
(default test-artifacts/screenshots/, git-ignored) and are kept after the run."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from models.org import load_org
from models.settings import REPO_ROOT
from tests.e2e.stack import REPO

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
SHOTS = Path(os.environ.get("KEFU_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
LEADER = ORG.first_for_role("marketing_leader")
GM = ORG.first_for_role("general_manager")
SAMPLE = {"customer": "苏州锦华服饰有限公司", "product": "32S 精梳棉纱", "spec": "32S/1 精梳",
          "size_class": "half", "quantity": 2, "reason": "客户试织新款春装面料，联系人电话 13812345678"}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (`make browser` installs it "
                    "with apt-get as root or with sudo)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def fits_the_screen(page) -> None:
    """No horizontal scrolling: the document is no wider than the window."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url}: {width}px wide in a {inner}px window"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def decide_in_browser(stack, browser, case_no: str, person, step: str, comment: str, screen: dict,
                      tag: str) -> None:
    stack.wait_mail(to=person.email, subject=f"{case_no} {step}")
    context = browser.new_context(viewport=screen, locale="zh-CN", is_mobile=screen is PHONE,
                                  has_touch=screen is PHONE)
    page = context.new_page()
    try:
        # the dev mailbox, filtered to this person, lists the request
        page.goto(f"{stack.web}/dev/mail?to={person.email}")
        fits_the_screen(page)
        shot(page, f"{tag}-1-mailbox")
        page.get_by_role("link", name=re.compile(f"{case_no} {step}")).first.click()
        page.wait_for_url(re.compile(r"/dev/mail/\d+$"))
        mail = page.frame_locator("iframe")
        mail.get_by_text(SAMPLE["customer"]).first.wait_for()
        assert mail.get_by_text("138****5678").count() >= 1 and mail.get_by_text("13812345678").count() == 0
        fits_the_screen(page)
        shot(page, f"{tag}-2-message")

        # the approve link opens the decision page in the window, choice pre-selected
        mail.get_by_role("link", name="批准").click()
        page.wait_for_url(re.compile(r"/t/[^/?]+\?choice=approve$"))
        summary = page.locator("table.kv")
        summary.wait_for()
        assert page.get_by_text(f"案件编号 {case_no}").is_visible()
        for value in (SAMPLE["customer"], SAMPLE["product"], "半纱", "138****5678"):
            assert summary.get_by_text(value).first.is_visible(), value
        assert page.get_by_label("批准").is_checked()
        fits_the_screen(page)
        shot(page, f"{tag}-3-decision")

        page.get_by_label("意见 / 备注").fill(comment)
        page.get_by_role("button", name="确认提交").click()
        page.get_by_text("已提交，谢谢").wait_for()
        assert case_no in page.content()
        fits_the_screen(page)
        shot(page, f"{tag}-4-done")
    finally:
        context.close()
    task = next(t for t in stack.case(case_no)["tasks"] if t["title"].startswith(step))
    assert (task["state"], task["decision"], task["decided_by"], task["decided_via"]) == (
        "decided", "approve", person.email, "email")
    events = [e for e in stack.case(case_no)["events"] if e["kind"] == "task_decided"
              and e["step_key"] == task["step_key"]]
    assert events and events[0]["data"].get("comment") == comment, events


def test_phone_then_desktop_approval_in_chromium(stack, browser):
    r = stack.client.post(f"{stack.web}/api/sample-requests", json=SAMPLE)
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]

    decide_in_browser(stack, browser, case_no, LEADER, "部门负责人审批", "同意，手机上审批", PHONE, "phone")
    decide_in_browser(stack, browser, case_no, GM, "总经理审批", "同意发放（桌面）", DESKTOP, "desktop")
    stack.wait_state(case_no, "approved")
    for tag in ("phone", "desktop"):
        for n in ("1-mailbox", "2-message", "3-decision", "4-done"):
            assert (SHOTS / f"{tag}-{n}.png").stat().st_size > 5_000


def submit_in_browser(stack, browser, url: str, fields: dict[str, str], tag: str, screen: dict = PHONE) -> None:
    """A typed decision page as a person fills it in Chromium: the link's page, the named fields typed
    or chosen, everything else left as rendered (blanks included), then 确认提交."""
    context = browser.new_context(viewport=screen, locale="zh-CN", is_mobile=screen is PHONE, has_touch=screen is PHONE)
    page = context.new_page()
    try:
        page.goto(url)
        for name, value in fields.items():
            control = page.locator(f"[name={name}]")
            if control.evaluate("e => e.tagName") == "SELECT":
                control.select_option(value)
            elif control.get_attribute("type") == "checkbox":
                control.set_checked(value == "true")
            else:
                control.fill(value)
        fits_the_screen(page)
        shot(page, f"{tag}-filled")
        page.get_by_role("button", name="确认提交").click()
        page.get_by_text("已提交，谢谢").wait_for()
        shot(page, f"{tag}-done")
    finally:
        context.close()


def test_typed_pages_in_chromium_outcome_of_a_repair_receipt_and_booking(stack, browser):
    """Issue 19: the outcome page (处理结果登记) as Chromium submits it, its amount, quantity and unit
    left blank for a repair; a return's warehouse receipt and booking, the receivable left blank."""
    from tests.e2e.test_complaint import PRODUCTION_HEAD, R, answer, file

    case_no, _ = file(stack)
    receiver = R["l1_handler"]
    intake = stack.wait_mail(to=receiver, subject=f"{case_no} 受理确认")[-1]
    submit_in_browser(stack, browser, stack.link(intake, "stands"), {"level": "1"}, "typed-intake")
    contact = stack.wait_mail(to=receiver, subject=f"{case_no} 首次联系客户")[-1]
    submit_in_browser(stack, browser, stack.link(contact, "contacted"), {"contact_note": "排水管未接好"}, "typed-contact")
    answer(stack, case_no, receiver, "指定被投诉部门", "named", department="生产部")
    answer(stack, case_no, PRODUCTION_HEAD, "调查", "submitted", responsibility_department="生产部",
           responsibility="安装工人疏忽", plan="上门重新安装排水管")
    answer(stack, case_no, R["quality_lead"], "处理方案审批", "approve")
    answer(stack, case_no, R["l2_handler"], "处理方案审批", "approve")
    answer(stack, case_no, R["general_manager"], "投诉调查处理报告", "instructed", instruction="同意")
    outcome = stack.wait_mail(to=receiver, subject=f"{case_no} 处理结果登记")[-1]
    submit_in_browser(stack, browser, stack.link(outcome, "submitted"),
                      {"handling": "repair", "responsibility_department": "生产部"}, "typed-outcome", DESKTOP)
    task = next(t for t in stack.case(case_no)["tasks"] if t["step_key"] == "outcome")
    assert task["state"] == "decided" and task["decided_via"] == "email"

    r = stack.client.post(f"{stack.web}/api/returns", json={
        "kind": "return", "customer": "杭州某纺织品公司", "product_code": "YN-3201", "amount": "3000.00",
        "quantity": {"value": 100, "unit": "箱"}, "reason": "色差"})
    assert r.status_code == 201, r.text
    th = r.json()["case_no"]
    answer(stack, th, R["sales_manager"], "审批《成品退货单》", "approve")
    receipt = stack.wait_mail(to=R["warehouse"], subject=f"{th} 仓库验收")[-1]
    submit_in_browser(stack, browser, stack.link(receipt, "received"), {"received_quantity": "99"}, "typed-receipt")
    booking = stack.wait_mail(to=R["accounting"], subject=f"{th} 会计科核对入账")[-1]
    submit_in_browser(stack, browser, stack.link(booking, "booked"), {"proof": "return_certificate"}, "typed-booking",
                      DESKTOP)
    case = stack.wait_state(th, "booked")
    assert case["data"]["booking"]["booked_quantity"] == 99 and case["data"]["booking"]["receivable_excluded"] == "0.00"


def test_the_storekeepers_and_gate_guards_pages_on_a_phone(stack, browser):
    """Issue 21 (P4, P5): the storekeeper records a sample from stock in the warehouse, the gate guard checks
    the goods against the gate pass — both on a 390 px phone, no sideways scrolling."""
    from tests.e2e.test_complaint import answer

    r = stack.client.post(f"{stack.web}/api/sample-requests", json=SAMPLE | {"from_stock": True})
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    R = {role: ORG.first_for_role(role).email for role in ORG.roles}
    answer(stack, case_no, R["marketing_leader"], "部门负责人审批", "approve")
    answer(stack, case_no, R["general_manager"], "总经理审批《取样", "approve")
    answer(stack, case_no, R["production"], "车间办理退库", "withdrawn")
    ledger = stack.wait_mail(to=R["storekeeper"], subject=f"{case_no} 司库员登记仓库台账")[-1]
    submit_in_browser(stack, browser, stack.link(ledger, "recorded"),
                      {"taker": "王师傅", "quantity": "2", "taken_on": "2026-11-25"}, "phone-storekeeper")
    requester = ORG.first_for_role("marketing").email
    answer(stack, case_no, requester, "填写《领用单》", "submitted", quantity="2", purpose="客户试织")
    answer(stack, case_no, R["general_manager"], "总经理审批《领用单》", "approve")
    answer(stack, case_no, R["warehouse"], "仓库办理出库", "done")
    answer(stack, case_no, R["accounting"], "财务入账", "done")
    gate_pass = stack.wait_mail(to=requester, subject=f"{case_no} 《取样出门审批单》第三联 出门证")[0]
    code = re.search(r"出门证编码（一次有效）：(\w+)", gate_pass["text"]).group(1)
    check = stack.wait_mail(to=R["gate_guard"], subject=f"{case_no} 门卫核验出门证")[-1]
    submit_in_browser(stack, browser, stack.link(check, "released"),
                      {"pass_code": code, "product_matches": "true", "spec_matches": "true",
                       "size_class_matches": "true", "quantity_matches": "true"}, "phone-gate-guard")
    case = stack.wait_state(case_no, "issued")
    assert case["data"]["warehouse_ledger"]["taken_on"] == "2026-11-25"
    for n in ("phone-storekeeper-filled", "phone-gate-guard-filled"):
        assert (SHOTS / f"{n}.png").stat().st_size > 5_000
