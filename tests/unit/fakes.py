"""The fake services of unit tests: in-memory store, recording mailer, fixed clock, the shipped org."""

from datetime import datetime
from pathlib import Path

from models.settings import Settings
from tests.dbs import fresh_store
from tasks.clock import FixedClock
from tasks.mail import MemoryMailer
from tasks.runtime import Services, build_services

ORG_FILE = Path(__file__).resolve().parents[2] / "deployments" / "org.yaml"


def fake_services(home: Path, now: datetime) -> Services:
    settings = Settings(home=home, secret_key="x" * 32, env="test", org_file=ORG_FILE)
    return build_services(settings, store=fresh_store(), mailer=MemoryMailer(), clock=FixedClock(now))
