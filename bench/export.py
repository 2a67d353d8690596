"""The operators' export streams: 100,000 answers written in bounded memory.

Run `python -m bench.export` (SQLite in a temporary directory) or with `--database-url
postgresql://...` (its public schema is reset: give it a scratch database). Not part of
`make test`: timing and memory belong here.

It seeds the history of `bench.history` twice, 5 and 50 rounds of 1,000 people (10,000 and
100,000 answers), exports each (CSV, or `--format xlsx|md`) through `bot.flows.export`
into a file, and prints
the rows, the time, and the peak memory Python allocated while exporting (`tracemalloc`).
Bounded memory shows as a peak that does not grow with the history: the export holds one
round at a time (its size grows with a round's people, not with the number of rounds).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.history import fresh_db, seed
from bot.flows import export


def run(
    url: str | None, workdir: Path, rounds: int, fmt: str = "csv", trace: bool = True
) -> tuple[int, int, float, int, int]:
    """(answers seeded, rows exported, seconds, peak bytes, file bytes) for one size.

    `trace`: measure the peak with `tracemalloc`, which slows a writer that makes many
    objects (openpyxl) several times over; without it the peak is 0.
    """
    db = fresh_db(url, workdir)
    try:
        answers = seed(db, rounds, 1000)
        out = workdir / f"export-{rounds}.{fmt}"
        with db.transaction() as s, out.open("wb") as binary:
            found = export.rounds_to_export(s, None, None)
            if trace:
                tracemalloc.start()
            start = time.perf_counter()
            rows = export.write(fmt, export.rows(s, [r for r, _ in found]), binary)
            took = time.perf_counter() - start
            peak = 0
            if trace:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
        return answers, rows, took, peak, out.stat().st_size
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__)
    parser.add_argument("--database-url", help="PostgreSQL URL (its public schema is reset!)")
    parser.add_argument("--format", dest="fmt", choices=export.FORMATS, default="csv")
    parser.add_argument(
        "--time-only", action="store_true", help="no tracemalloc: the speed, not the peak"
    )
    args = parser.parse_args()
    backend = "postgresql" if args.database_url else "sqlite"
    print(f"strategy-bot export benchmark on {backend}, {args.fmt}")
    peaks = []
    for rounds in (5, 50):
        with tempfile.TemporaryDirectory() as tmp:
            answers, rows, took, peak, size = run(
                args.database_url, Path(tmp), rounds, args.fmt, trace=not args.time_only
            )
        peaks.append(peak)
        print(
            f"{rounds:>3} rounds  {answers:>9,} answers  {rows:>9,} rows  {took:>7.2f} s"
            f"  {rows / took:>9,.0f} rows/s  peak {peak / 1e6:6.1f} MB  file {size / 1e6:6.1f} MB"
        )
    if not args.time_only:
        print(f"peak memory at 10x the history: {peaks[1] / peaks[0]:.2f}x the peak at 1x")


if __name__ == "__main__":
    main()
