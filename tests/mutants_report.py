"""`make mutants`: the survivors and the score of the last `mutmut run`, per module and in total.

Reads mutmut's own records (mutants/**/*.py.meta, exit code per mutant) and counts as mutmut's
`results` does: exit 1/3 killed, 0 survived, 5/33 no tests, 24/36/152/255/-24 timeout (a timeout
is a kill: the mutant made the tests hang), None not run. A mutant that no test reaches counts as
surviving. Score = killed / (mutants that were run)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3}
TIMEOUT = {24, 36, 152, 255, -24}
SURVIVED = {0}
NO_TESTS = {5, 33}


def classify(code: int | None) -> str:
    if code is None:
        return "not run"
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return "suspicious"


def main(root: Path = Path("mutants")) -> int:
    rows = []
    survivors: list[tuple[str, str]] = []
    total = Counter()
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".meta")]
        codes = json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {})
        c = Counter(classify(code) for code in codes.values())
        if not codes or c["not run"] == len(codes):
            continue
        rows.append((module, c))
        total += c
        survivors += [(name, classify(code)) for name, code in sorted(codes.items())
                      if classify(code) in ("survived", "no tests", "suspicious")]

    def line(name: str, c: Counter) -> str:
        ran = sum(c.values()) - c["not run"]
        killed = c["killed"] + c["timeout"]
        score = f"{100 * killed / ran:5.1f} %" if ran else "    – "
        return (f"{name:32} {ran:5} {killed:6} {c['survived']:8} {c['no tests']:8} {c['suspicious']:5}"
                f"  {score}")

    print("\nSurvivors (`.venv/bin/mutmut show NAME` shows the change):")
    for name, status in survivors:
        print(f"    {name}: {status}")
    if not survivors:
        print("    none")
    print(f"\n{'module':32} {'run':>5} {'killed':>6} {'survived':>8} {'no tests':>8} {'susp.':>5}  score")
    for module, c in rows:
        print(line(module, c))
    print(line("total", total))
    ran = sum(total.values()) - total["not run"]
    killed = total["killed"] + total["timeout"]
    if ran:
        print(f"\nmutation score: {killed} / {ran} killed ({100 * killed / ran:.1f} %)")
    else:
        print("\nno mutants were run")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("mutants")))
