"""`aftercart import orders FILE --shop SLUG [--format shopify|generic] [--errors REPORT.csv]`.

Shows a progress bar on stderr while it runs, then a summary and the first problems on
stdout. Exit code 0: every row imported; 1: some rows had problems (the rest is imported);
2: the file could not be imported at all (nothing was written).
"""

import contextlib
import csv
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from aftercart.core.models import Shop
from aftercart.integrations.csv.importer import LAYOUTS, Summary, import_orders
from aftercart.integrations.csv.reading import ImportStopped, Layout, Problem
from aftercart.orders.history import CREATED, KEPT, UNCHANGED, UPDATED

SHOWN_PROBLEMS = 20
REPORT_COLUMNS = ["line", "order", "column", "problem"]


class _Report:
    """Problems as they come: all into the CSV report, the first few kept to print."""

    def __init__(self, path: str | None, file):
        self.path = path
        self.writer = csv.writer(file) if file else None
        if self.writer:
            self.writer.writerow(REPORT_COLUMNS)
        self.first: list[Problem] = []
        self.count = 0

    def __call__(self, problem: Problem) -> None:
        self.count += 1
        if self.writer:
            self.writer.writerow([problem.line, problem.order, problem.column, problem.message])
        if len(self.first) < SHOWN_PROBLEMS:
            self.first.append(problem)


def run_import(
    shop: Shop,
    path: str,
    *,
    fmt: str = "generic",
    errors_path: str | None = None,
    workers: int | None = None,
) -> int:
    with (
        Path(errors_path).open("w", newline="", encoding="utf-8")
        if errors_path
        else contextlib.nullcontext()
    ) as report_file:
        return _run(shop, path, LAYOUTS[fmt], _Report(errors_path, report_file), workers)


def _run(shop: Shop, path: str, layout: Layout, report: _Report, workers: int | None) -> int:
    console = Console(stderr=True)
    progress = Progress(
        TextColumn(f"Importing {Path(path).name}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # a bar redrawn into a log file is only noise
    )
    task = progress.add_task("import", total=None, rows=0)

    def follow(done: int, size: int, rows: int) -> None:
        progress.update(task, completed=done, total=size, rows=rows)

    try:
        with progress:
            summary = import_orders(
                shop, path, layout, report=report, progress=follow, workers=workers
            )
    except ImportStopped as exc:
        report(Problem(exc.line or 0, "", exc.message))
        print(f"aftercart: error: {path}, {exc}", file=sys.stderr)
        return 2
    _print_summary(shop, path, summary, report)
    return 1 if summary.problems else 0


def _print_summary(shop: Shop, path: str, s: Summary, report: _Report) -> None:
    print(
        f"Imported {path} ({s.format} format) into shop {shop.slug} in {s.seconds:.1f} s: "
        f"{s.lines:,} CSV lines, {s.lines_per_second:,.0f} lines/s."
    )
    rows = [
        ("orders created", s.outcomes[CREATED], ""),
        ("orders updated", s.outcomes[UPDATED], ""),
        ("orders unchanged", s.outcomes[UNCHANGED], ""),
        ("order lines", s.order_lines, ""),
        (
            "rows with errors",
            s.error_rows,
            f"{s.orders_skipped:,} order{'s' if s.orders_skipped != 1 else ''} skipped whole"
            if s.error_rows
            else "",
        ),
    ]
    if s.outcomes[KEPT]:
        rows.insert(
            3,
            (
                "orders kept as they are",
                s.outcomes[KEPT],
                "the store's live feed wrote them, or their customer was erased",
            ),
        )
    for label, number, note in rows:
        print(f"  {label:<24}{number:>10,}" + (f"   ({note})" if note else ""))
    if s.ignored_columns:
        print(
            "Columns not in the generic format, ignored: "
            + ", ".join(repr(c) for c in s.ignored_columns)
        )
    if report.count:
        where = f"; all of them are in {report.path}" if report.path else ""
        shown = min(report.count, SHOWN_PROBLEMS)
        print(f"Problems (the first {shown} of {report.count:,}{where}):")
        for problem in report.first:
            print(f"  {problem}")
        if not report.path and report.count > SHOWN_PROBLEMS:
            print("Add --errors REPORT.csv to get every problem in a file.")
