"""Templates live with their procedure (templates/<procedure>/{email,forms}/) or, when shared, in
templates/{email,forms,pages,reports}/; the loader finds each name in exactly one place."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tasks.platform.render import TEMPLATES_DIR, PROCEDURE_PARTS, environment, template_roots


def names_under(root: Path, shared: bool) -> list[str]:
    parts = [p for p in root.iterdir() if p.is_dir()] if shared else [root / part for part in PROCEDURE_PARTS]
    return [str(f.relative_to(root)) for part in parts if part.is_dir() for f in part.rglob("*.j2")]


def test_each_template_name_is_found_in_one_place_only() -> None:
    roots = template_roots()
    assert roots[0] == TEMPLATES_DIR and len(roots) > 1
    shared = [n for n in names_under(TEMPLATES_DIR, True)
              if not any(n.startswith(f"{r.name}/") for r in roots[1:])]
    names = shared + [n for r in roots[1:] for n in names_under(r, False)]
    twice = [n for n, k in Counter(names).items() if k > 1]
    assert twice == []


def test_a_procedures_template_is_loaded_by_its_shared_name() -> None:
    assert (TEMPLATES_DIR / "complaint" / "email" / "process_notice.txt.j2").is_file()
    assert not (TEMPLATES_DIR / "email" / "process_notice.txt.j2").exists()
    assert environment().get_template("email/process_notice.txt.j2").filename.endswith(
        "complaint/email/process_notice.txt.j2")
    assert environment().get_template("forms/archive_correction.md.j2").filename.endswith(
        "archive/forms/archive_correction.md.j2")
