"""样品出门审批 (§6, P1–P3), run in-process: the leader signs, then the GM; the valid slip goes to
production, who hands the sample out and records it in the workshop ledger."""

from flows.samples.request import sample_request
from models.answers import Decision
from models.samples import gate_pass_code
from models.samples_answers import GateCheck, SampleIssue
from tests.flows.harness import GM, MARKETING, MARKETING_LEADER, PRODUCTION

GATE_GUARD = "gu.wei@huajin.example"

APPROVE = Decision(decision="approve")
SLIP = {"客户": "无锡华美服饰有限公司", "品名": "精梳棉纱", "规格": "40S", "规格类别": "半纱", "数量（个）": 6,
        "重量（kg）": "4.800", "事由": "新品打样", "申请人": MARKETING}


def test_a_sample_slip_signed_by_leader_then_gm_goes_to_production_and_is_issued(office):
    case_no = office.sample_request()
    run = office.run(sample_request, case_no, {
        "leader-approval": APPROVE, "gm-approval": APPROVE,
        "sample-issue": SampleIssue(taker="王师傅", quantity=6),
        "gate-check": GateCheck(decision="released", pass_code=gate_pass_code(office.svc.settings.secret_key, case_no),
                                product_matches=True, spec_matches=True, size_class_matches=True, quantity_matches=True)})
    assert run.result == "issued" and run.case.state == "issued" and run.case.closed_at is not None
    assert [(a.step, a.assignee) for a in run.asked] == [
        ("leader-approval", MARKETING_LEADER), ("gm-approval", GM), ("sample-issue", PRODUCTION), ("gate-check", GATE_GUARD)]
    assert [(a.role, a.title, a.requested_by) for a in run.asked] == [
        ("marketing_leader", "部门负责人审批《取样出门审批单》", MARKETING), ("general_manager", "总经理审批《取样出门审批单》", MARKETING),
        ("production", "样品发放登记", MARKETING), ("gate_guard", "门卫核验出门证", MARKETING)]
    assert run.step("leader-approval").summary == SLIP  # what every signer reads: the slip's fields
    # P3: production has 2 business days to hand it out, the guard 1 (from Wednesday 2026-11-25 10:00)
    assert (run.step("sample-issue").due.isoformat(), run.step("gate-check").due.isoformat()) == (
        "2026-11-27T02:00:00+00:00", "2026-11-26T02:00:00+00:00")
    assert [(e.kind, e.actor, e.data.get("state")) for e in run.events() if e.kind.startswith("sample_")] == [
        ("sample_approved", None, ["pending_leader", "approved"]), ("sample_issued", PRODUCTION, ["approved", "issued"]),
        ("sample_gate_done", None, None)]
    assert run.events("sample_issued")[0].data | {"state": None} == {"taker": "王师傅", "quantity": 6, "state": None}
    assert run.events("sample_gate_done")[0].data == {"gate": "released"}
    (slip,) = run.mails_to(PRODUCTION, "已生效")
    from sqlmodel import select

    from models.tables import OutboxMessage, SampleLedgerEntry
    with office.svc.store.session() as s:
        (entry,) = s.exec(select(SampleLedgerEntry)).all()
        assert s.exec(select(OutboxMessage.case_no).where(OutboxMessage.subject == slip.subject)).one() == case_no
    assert (entry.taker, entry.quantity, entry.recorded_by) == ("王师傅", 6, PRODUCTION)


def test_a_gm_rejection_ends_the_slip_with_the_reason_to_the_requester(office):
    run = office.run(sample_request, office.sample_request(), {
        "leader-approval": APPROVE, "gm-approval": Decision(decision="reject", comment="本月样品已超量")})
    assert run.result == "rejected" and run.case.state == "rejected" and run.case.closed_at is not None
    (rejected,) = run.events("sample_rejected")
    assert (rejected.actor, rejected.data["step"], rejected.data["reason"]) == (GM, "gm-approval", "本月样品已超量")
    (notice,) = run.notices_to(MARKETING, "取样出门审批单未获批准")
    assert "「总经理审批《取样出门审批单》」环节被驳回" in notice.text and "理由：本月样品已超量" in notice.text
    assert "精梳棉纱" in notice.text  # with the slip's fields
    from sqlmodel import select

    from models.tables import OutboxMessage
    with office.svc.store.session() as s:  # the notice is the case's
        assert s.exec(select(OutboxMessage.case_no).where(OutboxMessage.subject == notice.subject)).one() == run.case_no
    assert not run.mails_to(PRODUCTION)


def test_a_leader_rejection_ends_the_slip_before_the_gm_is_asked(office):
    # P2: the leader signs first; the GM is asked only once the leader has signed
    run = office.run(sample_request, office.sample_request(), {
        "leader-approval": Decision(decision="reject", comment="客户非目标客户")})
    assert run.result == "rejected" and run.steps == ["leader-approval"]
    assert run.events("sample_rejected")[0].data["step"] == "leader-approval"
    (notice,) = run.mails_to(MARKETING, "未获批准")
    assert "部门负责人" in notice.text and "客户非目标客户" in notice.text
    assert not run.mails_to(GM, "总经理审批") and not run.mails_to(PRODUCTION)
