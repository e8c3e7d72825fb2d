"""The monthly statistics (S1) over 1,000,000 complaints, against the bare grouped SQL it needs.

Builds SQLite databases with `kefu demo-data`'s generator (bulk insert, not through the flows), then
in one process run:
- the SQL floor: the distinct statements the report sends (captured from a report run, with their
  parameters), executed on the engine's DBAPI connection with every row fetched — nothing else;
- the whole report: figures, workbook, figures.json, charts, HTML (`tasks.reports.steps.build_report`);
median of `--runs` each. Peak memory of one whole report in a fresh subprocess (ru_maxrss, and
tracemalloc's peak of what the report itself allocates) on the small and the large database.

    .venv/bin/python bench/report_monthly.py [--cases 1000000] [--small 100000] [--months 12] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import record  # noqa: E402

MONTH = "2026-10"  # the last month of the synthetic data


def build_db(path: Path, cases: int, months: int) -> float:
    from models.business_days import BusinessCalendar
    from models.db import make_engine, migrate
    from models.org import load_org
    from models.settings import Settings
    from tasks.reports.demo_data import fill

    url = f"sqlite:///{path}"
    if path.exists():
        return 0.0
    t0 = time.perf_counter()
    migrate(url)
    fill(make_engine(url), cases, months, MONTH, load_org(Settings().org_file), BusinessCalendar())
    with sqlite3.connect(path) as c:
        c.execute("ANALYZE")
    return time.perf_counter() - t0


def capture_statements(engine: Engine, out: Path) -> list[tuple[str, tuple]]:
    """The distinct (SQL, parameters) the report sends, in order."""
    from sqlalchemy import event

    from tasks.reports.steps import build_report

    seen: list[tuple[str, tuple]] = []

    def grab(_conn: Connection, _cursor: object, statement: str, parameters: object, _context: object,
             _many: bool) -> None:
        key = (statement, tuple(parameters) if isinstance(parameters, (list, tuple)) else parameters)
        if key not in seen:
            seen.append(key)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        build_report(engine, "monthly", MONTH, out)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    return seen


def sql_floor(engine: Engine, statements: list[tuple[str, tuple]]) -> int:
    """The statements on the DBAPI connection of the report's own engine (same pool, same page
    cache, same pragmas), every row fetched: no ORM, no Python beyond the driver."""
    conn = engine.raw_connection()
    try:
        rows = 0
        for sql, params in statements:
            rows += len(conn.cursor().execute(sql, params).fetchall())
        return rows
    finally:
        conn.close()


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def child(db: str) -> None:
    """A whole report in this fresh process: peak RSS; then tracemalloc's peak of a second report."""
    import resource
    import tracemalloc

    from models.db import make_engine
    from tasks.reports.charts import font
    from tasks.reports.steps import build_report

    engine = make_engine(f"sqlite:///{db}")
    font(13)  # the font is loaded once per process, not per case
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as out:
        build_report(engine, "monthly", MONTH, Path(out))  # the whole report, from cold (ru_maxrss)
        tracemalloc.start()  # then what a report allocates, imports done
        build_report(engine, "monthly", MONTH, Path(out))
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "maxrss_before_mb": base / 1024, "traced_peak_mb": peak / 2**20}))


def memory(db: Path) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", str(db)], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def closed_in_month(db: Path) -> int:
    from sqlalchemy import func, select

    from models.db import make_engine
    from models.statistics import month_period
    from models.tables import ComplaintFact as F

    start, end = month_period(MONTH)
    with make_engine(f"sqlite:///{db}").connect() as c:
        return c.scalar(select(func.count()).select_from(F).where(F.closed_at >= start, F.closed_at < end))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=None, help="keep the databases here (reused when present)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child)

    from models.db import make_engine
    from tasks.reports.steps import build_report

    work = Path(args.dir or tempfile.mkdtemp(prefix="kefu-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    big, small = work / f"complaints-{args.cases}.db", work / f"complaints-{args.small}.db"
    for db, n in ((small, args.small), (big, args.cases)):
        took = build_db(db, n, args.months)
        print(f"database {db.name}: {n:,} complaints over {args.months} months"
              + (f", built in {took:.1f} s" if took else ", reused") + f"; {closed_in_month(db):,} closed in {MONTH}",
              flush=True)

    engine = make_engine(f"sqlite:///{big}")
    out = work / "out"
    statements = capture_statements(engine, out)
    sql_floor(engine, statements)  # warm the page cache for both sides
    floor = timed(lambda: sql_floor(engine, statements), args.runs)
    whole = timed(lambda: build_report(engine, "monthly", MONTH, out), args.runs)
    f, w = statistics.median(floor), statistics.median(whole)
    print(f"\nmonthly report {MONTH} over {args.cases:,} complaints, median of {args.runs}:")
    print(f"  bare grouped SQL ({len(statements)} statements): {f * 1000:8.1f} ms   runs {[round(x * 1000) for x in floor]}")
    print(f"  whole report (xlsx, json, html, charts):  {w * 1000:8.1f} ms   runs {[round(x * 1000) for x in whole]}")
    print(f"  ratio whole / SQL floor: {w / f:.2f}  (target <= 1.5)")
    # the target (≤ 1.5 × the SQL) is for 1,000,000 complaints; a short run has the fixed part (charts,
    # workbook) weigh more, so it shows its ratio without judging it
    record("report_monthly", f"monthly report over {args.cases:,} complaints (median)"
           + ("" if args.cases >= 1_000_000 else "; target at 1M"), w * 1000, "ms",
           ("<=", 1.5 * f * 1000) if args.cases >= 1_000_000 else None, f * 1000)
    print("\npeak memory of one whole report (fresh process):")
    for db, n in ((small, args.small), (big, args.cases)):
        m = memory(db)
        print(f"  {n:>9,} complaints: ru_maxrss {m['maxrss_mb']:6.1f} MB (imports and font {m['maxrss_before_mb']:.1f} MB),"
              f" report's own peak (tracemalloc) {m['traced_peak_mb']:5.1f} MB")


if __name__ == "__main__":
    main()
