"""Issue 20: a product-quality complaint (客户抱怨处理, §7 C6 in C16, C15–C19, R9) end to end on the real stack,
every step answered through its emailed link as a browser submits the page."""

import pytest

from models.grievance import QUANTITY_PENDING_TEXT
from models.org import load_org
from models.settings import REPO_ROOT
from tests.e2e.test_complaint import answer
from tests.e2e.test_sample_request import no_duplicates

pytestmark = pytest.mark.e2e

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
R = {role: ORG.first_for_role(role).email for role in ORG.roles}

FORM = {"abnormality_no": "YC-2026-031", "order_no": "XS-20261102-07", "item_no": "CY-40S", "product_name": "精梳棉纱 40S",
        "customer": "无锡华美服饰有限公司", "quantity_shipped": {"value": 2000, "unit": "kg"}, "ship_date": "2026-11-02",
        "defective_quantity": {"value": 300, "unit": "kg"}, "description": "条干不匀，布面云斑",
        "demand": QUANTITY_PENDING_TEXT, "return_quantity": None, "grievance_class": "quality",
        "sample_attached": True, "opinion": "属实，客户仍在加工，退货数量待定", "salesperson": R["salesperson"]}


@pytest.mark.timeout(1200)  # ≈ 30 steps through their emailed links: ≈ 600 s on the shared machine under load
def test_a_grievance_through_the_chain_with_a_return_and_a_pending_quantity(stack):
    r = stack.client.post(f"{stack.web}/api/grievances", json=FORM, headers={"Idempotency-Key": "e2e-grievance-1"})
    assert r.status_code == 201, r.text
    case_no = r.json()["case_no"]
    run = stack.prefect_run(stack.flow_run_of(case_no))
    assert run["name"] == f"grievance-{case_no}"
    assert {"procedure:grievance", "level:2", "category:产品质量"} <= set(run["tags"])

    gm_office, sales = R["gm_office"], R["salesperson"]
    answer(stack, case_no, gm_office, "总经理室编号登记", "registered")
    answer(stack, case_no, R["quality_lead"], "质量管理部追查原因", "submitted", cause_analysis="粗纱条干超标",
           responsible_department="生产部")
    # production returns it to quality, with the comment; quality's second answer goes on
    answer(stack, case_no, R["production"], "制造部门分析原因", "returned", comment="请复查粗纱工序")
    back = answer(stack, case_no, R["quality_lead"], "质量管理部追查原因、判定责任单位（第 2 次）", "submitted",
                  cause_analysis="粗纱工序皮辊磨损", responsible_department="生产部")
    assert "请复查粗纱工序" in back["text"]
    answer(stack, case_no, R["production"], "制造部门分析原因、拟定对策（生产单位、机班别、作业人员、生产日期）（第 2 次）", "submitted",
           cause="皮辊磨损", countermeasure="更换皮辊", production_unit="细纱车间", machine_shift="12# 甲班",
           operators="韩雪", production_date="2026-10-28")
    # C6 inside the chain: the investigation reported to the GM, whose 批示 is recorded
    answer(stack, case_no, R["general_manager"], "客户抱怨调查报告", "instructed", instruction="同意调查结论")
    answer(stack, case_no, R["general_manager"], "经理室批示", "instructed", instruction="同意对策")
    answer(stack, case_no, gm_office, "总经理室审核", "approve")
    answer(stack, case_no, sales, "业务部门拟定处理意见", "submitted", handling="return", unit_price="32.00",
           amount="0", proposal="按 32 元/kg 退货，数量待客户加工完毕确定")
    answer(stack, case_no, gm_office, "总经理室综合意见", "submitted", opinion="同意")
    answer(stack, case_no, R["sales_manager"], "依核决权限批示处理意见", "approve")
    answer(stack, case_no, sales, "业务部门向客户说明", "submitted", result="客户同意按单价退货", customer_accepts="true")
    answer(stack, case_no, R["sales_manager"], "业务主管核阅交涉结果", "approve")
    answer(stack, case_no, gm_office, "总经理室汇总结果", "submitted", result="退货，单价 32 元/kg",
           cause="our_quality", responsible_units="生产部", responsible_persons="韩雪",
           improvement_measure="更换皮辊并加测条干", improvement_owner=R["production"], improvement_due="2026-12-31",
           loss_items="freight: 1", fines="生产部: 500")
    answer(stack, case_no, R["sales_manager"], "依核决权限核决", "approve")
    # R9: the quantity is pending until the customer has processed the goods
    stack.wait_state(case_no, "quantity_pending")
    answer(stack, case_no, sales, "填写退换数量", "entered", quantity="200", unit="kg")  # 6,400: beyond ¥5,000
    answer(stack, case_no, R["sales_manager"], "业务主管核阅退换数量", "approve")
    answer(stack, case_no, R["deputy_sales_manager"], "金额超出原核决权限", "approve")
    answer(stack, case_no, R["deputy_gm"], "金额超出原核决权限", "approve")
    # C17: the five copies, to the five units only
    for mark in ("第一联", "第二联", "第三联", "第四联", "第五联"):
        # each copy embeds a subset of Noto Sans SC (CFF): ≈ 2 s of CPU a copy, minutes on a loaded machine
        (copy,) = stack.wait_mail(subject=f"{case_no} 《客户抱怨处理表》{mark}", timeout=240)
        assert copy["to"] and all(t.endswith("@huajin.example") for t in copy["to"])
    # C17: sales tells the customer, who accepts; C19: the unit and the person are notified, and accept
    answer(stack, case_no, sales, "向客户函告或电话告知核决结果", "accepted", passed_on_via="phone", note="客户接受")
    head = next(d.head for d in ORG.departments if d.code == "production")
    answer(stack, case_no, head, "核决通知（生产部）", "accepted")
    answer(stack, case_no, R["production"], "对您本人的处理意见", "accepted")
    answer(stack, case_no, R["general_manager"], "主管核准损失与罚扣", "approve")
    answer(stack, case_no, R["production"], "落实改善措施", "done", result="已更换皮辊")
    answer(stack, case_no, R["quality_lead"], "效果确认", "effective")
    case = stack.wait_state(case_no, "closed")
    assert case["data"]["final_quantity"] == {"value": 200, "unit": "kg", "amount": "6400.00"}
    assert case["data"]["decision"]["loss_total"] == "800.00"
    assert stack.prefect("GET", f"/artifacts/grievance-form-{case_no.lower()}/latest").json()["data"].startswith(
        f"# 客户抱怨处理表 {case_no}")
    no_duplicates(stack, case_no)
