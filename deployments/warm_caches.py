"""Imported last by the warm process that flow runs are forked from (deployments/warm_start): what
every run would otherwise redo in its own process — parse the org directory, the business calendar
and the approval authorities, compile the Jinja2 templates, parse the PDF copies' CJK font — is done once, before the forks, and
each forked run inherits it. (py-spy of forked runs during the 1,000-complaint burst: template
compilation ≈ 8 % and the YAML parsing ≈ 6 % of their CPU.) Nothing here opens a connection or a
file that stays open: forking after it is safe."""

from __future__ import annotations

from models.settings import get_settings
from tasks.platform.render import TEMPLATES_DIR, environment
from tasks.platform.runtime import load_tables, reference_data
from tasks.platform.pdf import warm as warm_pdf_font


def warm() -> int:
    settings = get_settings()
    reference_data(settings.org_file, settings.calendar_file)
    load_tables(settings)  # the procedures' config tables (the approval authorities, …)
    env = environment()
    names = [p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.j2")]
    for name in names:
        env.get_template(name)

    warm_pdf_font()  # the CJK font of the PDF copies (C17, P4): ≈ 0.3–1 s a run otherwise
    return len(names)


try:
    warm()
except Exception:  # noqa: BLE001 — only a head start: a run that finds nothing cached parses and compiles itself
    pass
