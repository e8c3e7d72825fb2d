"""`make mutants RESTAT='tests/unit/test_x.py …'`: have mutmut measure these tests again.

mutmut records once which functions each test reaches (`mutants/mutmut-stats.json`) and later only
measures tests it has not seen: a test edited to call one more function is never run against that
function's mutants, which then survive although the test kills them. This forgets the named tests
(a file, or a node id with its parameters or without) so the next `mutmut run` measures them as new;
it records nothing about any mutant."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def forget(names: list[str], stats: Path = Path("mutants/mutmut-stats.json")) -> list[str]:
    """Drop the tests matching `names` (a test file, or a node id with or without its parameters) from
    the stats; returns the test ids dropped."""
    data = json.loads(stats.read_text(encoding="utf-8"))

    def matches(test: str) -> bool:
        return any(test == n or test.startswith(n + "::") or test.startswith(n + "[") for n in names)

    dropped = sorted(t for t in data["duration_by_test"] if matches(t))
    for t in dropped:
        del data["duration_by_test"][t]
    for tests in data["tests_by_mangled_function_name"].values():
        tests[:] = [t for t in tests if not matches(t)]
    stats.write_text(json.dumps(data, indent=4), encoding="utf-8")
    return dropped


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m tests.mutants_restat TEST_FILE_OR_NODE_ID …", file=sys.stderr)
        return 2
    dropped = forget(argv)
    print(f"{len(dropped)} test(s) to be measured again by the next mutmut run")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
