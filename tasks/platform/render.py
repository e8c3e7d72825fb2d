"""Render first, send second: Jinja2 templates (Chinese by default) produce the messages and pages."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.privacy import mask_data, mask_text
from tasks.platform.mail import OutgoingMail

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
# the shared templates (email/, forms/, pages/, reports/) and one folder per procedure holding its own
# email/ and forms/ (templates/complaint/email/process_notice.txt.j2 is found as
# "email/process_notice.txt.j2"); a name is found in one place only (tests/unit/test_templates.py)
PROCEDURE_PARTS = ("email", "forms")


def template_roots(root: Path = TEMPLATES_DIR) -> list[Path]:
    """The loader's search path: `templates/` first, then every procedure's folder (a folder that has an
    email/ or forms/ of its own), in name order."""
    procedures = [d for d in sorted(root.iterdir())
                  if d.is_dir() and any((d / part).is_dir() for part in PROCEDURE_PARTS)]
    return [root, *procedures]
TZ = ZoneInfo("Asia/Shanghai")


def fmt_dt(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(TZ).strftime(fmt)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(p) for p in template_roots()]),
        autoescape=select_autoescape(["html", "htm", "xml", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = fmt_dt
    env.filters["mask"] = mask_text
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


def render_mail(template: str, to: list[str], *, shown_in_full: dict[str, str] | None = None,
                **context: Any) -> OutgoingMail:
    """Render `templates/email/<template>.{subject,txt,html}.j2` into one message.
    Personal data in the context is masked before any template sees it. `shown_in_full` names the few
    values a rule says must reach the reader whole, added after masking — only the staff work phone a
    customer is given to call (C20's process notice); never a customer's data."""
    safe = mask_data(context) | (shown_in_full or {})
    subject = render(f"email/{template}.subject.j2", **safe).strip().replace("\n", " ")
    text = render(f"email/{template}.txt.j2", **safe)
    html = render(f"email/{template}.html.j2", **safe)
    return OutgoingMail(to=to, subject=subject, text=text, html=html)
