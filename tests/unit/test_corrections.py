"""§2 A1–A3 without Prefect: the correction request's checks (one message per field, nothing
stored), the step keys of revision rounds, the revised changes, masking in what approvers read."""

from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.archive.answers import PlanRevision
from models.archive.corrections import CorrectionIn, change_lines, department_key, parse_revised_changes, step_key
from models.archive.records import CustomerIn
from models.settings import Settings
from tasks.archive.intake import file_correction
from tasks.platform.clock import FixedClock
from tasks.platform.intake import IntakeError
from tasks.platform.mail import MemoryMailer
from tasks.platform.runtime import build_services
from tests.dbs import fresh_store

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
ORG_FILE = Path(__file__).resolve().parents[2] / "deployments" / "org.yaml"
CS_STAFF = "chen.jing@huajin.example"


@pytest.fixture
def svc(tmp_path):
    settings = Settings(home=tmp_path, secret_key="x" * 32, env="test", org_file=ORG_FILE)
    s = build_services(settings, store=fresh_store(), mailer=MemoryMailer(), clock=FixedClock(NOW))
    s.store.create_customer(CustomerIn(archive_no="DA-2026-000001", name="甲公司", customer_class="enterprise",
                                       phone="13812345678"), by="t", reason="导入", source="import", now=NOW)
    return s


def request(**over):
    body = {"archive_no": "DA-2026-000001", "changes": {"phone": "13987654321"}, "reason": "电话变更",
            "drafted_by": CS_STAFF, "departments": ["sales", {"department": "accounting", "due_business_days": 2}]}
    return CorrectionIn.model_validate(body | over)


def test_a_valid_plan_is_filed_with_masked_before_after_and_the_department_heads(svc):
    case, created = file_correction(svc, request())
    assert created and case.case_no == "GZ-2026-000001" and case.requested_by == CS_STAFF
    assert case.data["changes"] == {"phone": "13987654321"}
    assert case.data["changes_masked"] == ["联系电话：138****5678 → 139****4321"]
    heads = {d["department"]: (d["head"], d["due_business_days"]) for d in case.data["departments"]}
    assert heads == {"sales": ("zhao.lei@huajin.example", 3), "accounting": ("wei.li@huajin.example", 2)}


def test_every_bad_field_is_named_and_nothing_is_stored(svc):
    body = request(archive_no="DA-2026-000404", changes={"phone": "123", "customer_class": "alien", "version": 3},
                   drafted_by="wang.jianguo@huajin.example", departments=["sales", "nowhere"])
    with pytest.raises(IntakeError) as err:
        file_correction(svc, body)
    by_field = {d["field"]: d["message"] for d in err.value.details}
    assert set(by_field) == {"archive_no", "changes.phone", "changes.customer_class", "changes.version",
                             "drafted_by", "departments.1"}
    assert "电话号码无效" in by_field["changes.phone"] and "invalid phone number" in by_field["changes.phone"]
    assert "必须是以下之一" in by_field["changes.customer_class"]
    assert "不是客服部人员" in by_field["drafted_by"] and "is not CS staff" in by_field["drafted_by"]
    assert svc.store.list_cases()[0] == 0


def test_departments_named_once_each():
    assert [d.department for d in request().departments] == ["sales", "accounting"]
    with pytest.raises(ValidationError, match="部门重复"):
        request(departments=["sales", {"department": "sales"}])
    with pytest.raises(ValidationError):
        request(departments=[])


def test_step_keys_are_unique_per_round_and_valid_run_input_keys():
    assert [step_key("gm-approval", n) for n in (1, 2, 3)] == ["gm-approval", "gm-approval-2", "gm-approval-3"]
    assert department_key("back_office") == "dept-back-office"


def test_revised_changes_blank_keeps_the_plan_and_bad_values_are_refused():
    assert parse_revised_changes("  ") is None
    assert parse_revised_changes('{"phone": "13711112222"}') == {"phone": "13711112222"}
    with pytest.raises(ValueError, match="JSON"):
        parse_revised_changes("[1, 2]")
    PlanRevision(decision="resubmitted", changes="")
    PlanRevision(decision="withdrawn", changes="not json")  # a withdrawal needs no changes
    with pytest.raises(ValidationError, match="电话号码无效"):
        PlanRevision(decision="resubmitted", changes='{"phone": "123"}')
    with pytest.raises(ValidationError, match="cannot be corrected"):
        PlanRevision(decision="resubmitted", changes='{"archive_no": "DA-2026-000009"}')


def test_change_lines_mask_id_cards_and_phones():
    lines = change_lines({"phone": "13812345678", "id_card": ""}, {"phone": "13987654321",
                                                                   "id_card": "11010519491231002X"})
    assert lines == ["联系电话：138****5678 → 139****4321", "身份证号码：（空） → 110105********002X"]


def test_change_lines_show_structured_values_as_json_with_chinese_kept():
    both = change_lines({"registration": {"单位": "甲"}}, {"registration": {"单位": "乙"}})
    assert both[0].endswith('：{"单位": "甲"} → {"单位": "乙"}')
    one = change_lines({}, {"registration": {"单位": "乙"}})
    assert one[0].endswith('"" → {"单位": "乙"}')


def test_change_lines_name_an_unlabelled_field_by_its_key_and_an_emptied_value():
    (line,) = change_lines({"wechat": "abc"}, {"wechat": ""})
    assert line == "wechat：abc → （空）"


@pytest.mark.parametrize("text", ["不是 JSON", "[1, 2]"])
def test_revised_changes_that_are_not_a_json_object_are_refused_in_both_languages(text):
    with pytest.raises(ValueError) as refused:
        parse_revised_changes(text)
    assert str(refused.value) == "更正字段须为 JSON 对象 / changes must be a JSON object"
