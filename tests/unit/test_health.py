"""Issue 18: /healthz shows each part and says 200 only when the system can take a case end to end:
the database and Prefect answer and every deployment is served (n of n). A late watchdog or old mail in
the outbox is `degraded` (still 200); a deployment not served yet is `starting` (503)."""

from datetime import timedelta

from fastapi.testclient import TestClient

from deployments.names import DEPLOYMENTS, SLA_WATCHDOG, WEEKLY_REPORT
from tasks.platform.health import check_health, http_status
from tasks.platform.mail import OutgoingMail
from tests.fakes import fake_services
from webapp.app import create_app


def test_every_part_ok(tmp_path):
    svc = fake_services(tmp_path)
    svc.flows.completed[SLA_WATCHDOG] = svc.clock.now() - timedelta(seconds=30)
    r = TestClient(create_app(svc)).get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["prefect"] == "ok"
    assert body["deployments"] == {"served": len(DEPLOYMENTS), "expected": len(DEPLOYMENTS), "missing": []}
    assert body["outbox"] == {"status": "ok", "unsent": 0, "oldest_age_seconds": None, "dead_letters": 0}
    assert body["watchdog"] == {"status": "ok", "interval_seconds": 60, "last_completed_age_seconds": 30.0}
    assert body["starts"] == {"status": "ok", "pending": 0, "oldest_age_seconds": None, "failing": 0,
                              "oldest_last_error": None}


def test_not_ready_until_every_deployment_is_served(tmp_path):
    svc = fake_services(tmp_path)
    svc.flows.not_served = {WEEKLY_REPORT}
    r = TestClient(create_app(svc)).get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "starting"
    assert r.json()["deployments"] == {"served": len(DEPLOYMENTS) - 1, "expected": len(DEPLOYMENTS),
                                       "missing": [WEEKLY_REPORT]}


def test_prefect_down_is_unavailable(tmp_path):
    svc = fake_services(tmp_path)
    svc.flows.down = True
    r = TestClient(create_app(svc)).get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable" and r.json()["prefect"].startswith("error: ConnectionRefusedError")


def test_watchdog_pending_then_degraded_past_three_intervals(tmp_path):
    svc = fake_services(tmp_path)
    started = svc.clock.now()
    assert check_health(svc, started + timedelta(seconds=179), started).watchdog.status == "pending"
    late = check_health(svc, started + timedelta(seconds=181), started)
    assert (late.status, late.watchdog.status, http_status(late)) == ("degraded", "degraded", 200)
    svc.flows.completed[SLA_WATCHDOG] = started + timedelta(seconds=100)
    assert check_health(svc, started + timedelta(seconds=280), started).watchdog.status == "ok"
    assert check_health(svc, started + timedelta(seconds=281), started).watchdog.status == "degraded"


def test_outbox_backlog_counts_and_ages_unsent_mail(tmp_path):
    svc = fake_services(tmp_path)
    now = svc.clock.now()
    svc.flows.completed[SLA_WATCHDOG] = now
    mail = OutgoingMail(to=["a@huajin.example"], subject="s", text="t", html="<p>t</p>")
    svc.store.queue_mail("k1", None, mail, now - timedelta(seconds=200))
    svc.store.queue_mail("k2", None, mail, now - timedelta(seconds=10))
    health = check_health(svc, now, now)
    assert (health.outbox.unsent, health.outbox.oldest_age_seconds) == (2, 200.0)
    assert (health.outbox.status, health.status) == ("degraded", "degraded")
    assert check_health(svc, now - timedelta(seconds=30), now).outbox.status == "ok"


def test_a_dead_letter_degrades_and_is_no_longer_in_the_backlog(tmp_path):
    svc = fake_services(tmp_path)
    now = svc.clock.now()
    svc.flows.completed[SLA_WATCHDOG] = now
    mail = OutgoingMail(to=["a@huajin.example"], subject="s", text="t", html="<p>t</p>")
    svc.store.queue_mail("k1", None, mail, now)
    for _ in range(svc.settings.mail_max_attempts):
        for row in svc.store.claim_unsent(now):
            svc.store.release(row.id, "SMTPRecipientsRefused")
    health = check_health(svc, now, now)
    assert (health.outbox.unsent, health.outbox.dead_letters, health.status) == (0, 1, "degraded")
