"""Issue 8: the scheduled statistics on the real stack — a run of the monthly deployment mails the
《客诉案件统计表》 with its workbook attached and its charts inline, and leaves its artifacts."""

from datetime import datetime
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from deployments.dev_mail import Mailbox, mailbox_path
from models.org import load_org
from models.settings import REPO_ROOT
from models.statistics import SCHEDULES
from deployments.names import MONTHLY_STATISTICS

pytestmark = pytest.mark.e2e

ORG = load_org(REPO_ROOT / "deployments" / "org.yaml")
GM = ORG.first_for_role("general_manager").email


def test_monthly_statistics_deployment_mails_workbook_and_inline_charts(stack):
    month = datetime.now().astimezone().strftime("%Y-%m")
    dep = stack.prefect("GET", f"/deployments/name/{MONTHLY_STATISTICS}").json()
    assert dep["schedules"][0]["schedule"]["cron"] == SCHEDULES["monthly"]
    assert dep["schedules"][0]["schedule"]["timezone"] == "Asia/Shanghai"
    run = stack.prefect("POST", f"/deployments/{dep['id']}/create_flow_run",
                        json={"parameters": {"month": month}}).json()
    mail = stack.wait_mail(to=GM, subject=f"《客诉案件统计表》{month}", timeout=120)[0]
    assert [a["filename"] for a in mail["attachments"]] == [f"客诉案件统计表-{month}.xlsx"]
    raw = Mailbox(mailbox_path(stack.home)).raw(mail["id"])
    msg = message_from_bytes(raw, policy=default_policy)
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert len(images) == 3
    for p in images:
        assert f"cid:{p['Content-ID'].strip('<>')}" in html
    assert stack.wait_run(run["id"], "COMPLETED")["name"] == f"monthly-statistics-{month}"
    arts = stack.prefect("POST", "/artifacts/filter",
                         json={"artifacts": {"flow_run_id": {"any_": [run["id"]]}}}).json()
    assert {a["key"] for a in arts} >= {"monthly-report", "monthly-report-summary"}
    # a second run of the same month sends nothing twice
    again = stack.prefect("POST", f"/deployments/{dep['id']}/create_flow_run",
                          json={"parameters": {"month": month}}).json()
    stack.wait_run(again["id"], "COMPLETED")
    assert [m["subject"] for m in stack.mails(GM)].count(f"《客诉案件统计表》{month}") == 1
