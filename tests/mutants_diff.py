"""Every mutant of the given functions as a diff, from mutmut's own generation, without running anything —
to read what a run will meet before it does (docs/testing.md, session 17).

    .venv/bin/python -m tests.mutants_diff flows/grievance/chain.py chain_summary decision_lines"""

from __future__ import annotations

import ast
import difflib
import sys

from mutmut.mutation import file_mutation


def mutant_diffs(path: str, function: str) -> list[tuple[int, list[str]]]:
    """(number, changed lines) of each mutant of `function` in `path`, as mutmut 3.8.1 numbers them."""
    code = file_mutation.mutate_file_contents(path, open(path, encoding="utf-8").read()).code
    lines = code.splitlines()
    defs = {n.name: lines[n.lineno - 1:n.end_lineno] for n in ast.walk(ast.parse(code))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    original = defs[f"x_{function}__mutmut_orig"]
    out, n = [], 1
    while (mutant := defs.get(f"x_{function}__mutmut_{n}")) is not None:
        changed = [d for d in difflib.unified_diff(original, mutant, lineterm="", n=0)
                   if d[:1] in "+-" and d[:3] not in ("+++", "---") and "mutmut" not in d]
        out.append((n, changed))
        n += 1
    return out


def main(argv: list[str]) -> None:
    path, *functions = argv
    for function in functions:
        for n, changed in mutant_diffs(path, function):
            print(f"== {function} {n}")
            for line in changed:
                print("   " + line.strip())


if __name__ == "__main__":
    main(sys.argv[1:])
