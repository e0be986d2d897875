"""The CSV order import: stream the rows, group them into orders, apply them in batches.

Memory stays flat whatever the file's size: only the rows of the order being read and one
batch of orders are held. Each batch is one transaction (orders.history.import_history);
an order with a bad row is left out whole and reported, the good ones are kept.
"""

import time
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from aftercart.core.bulk import loading, refresh_statistics
from aftercart.core.models import Shop
from aftercart.integrations.csv import generic, shopify
from aftercart.integrations.csv.reading import Context, CsvFile, ImportStopped, Layout, Problem
from aftercart.orders.history import (
    CREATED,
    KEPT,
    REPEATED,
    UNCHANGED,
    UPDATED,
    PastOrder,
    import_history,
)

LAYOUTS: dict[str, Layout] = {"shopify": shopify.LAYOUT, "generic": generic.LAYOUT}
BATCH_SIZE = 1000  # orders per transaction: few queries per order, short write locks


@dataclass
class Summary:
    format: str
    rows: int = 0  # CSV rows read after the header: an order line each
    lines: int = 0  # lines of the file, header included (a quoted cell may span lines)
    outcomes: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys((CREATED, UPDATED, UNCHANGED, KEPT, REPEATED), 0)
    )
    order_lines: int = 0
    orders_skipped: int = 0
    error_rows: int = 0
    problems: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


@dataclass
class Pending:
    order: PastOrder
    key: str  # the order as the file names it (Name, order_id)
    line: int  # its first line


def import_orders(
    shop: Shop,
    path: str | Path,
    layout: Layout,
    *,
    report: Callable[[Problem], None],
    progress: Callable[[int, int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
) -> Summary:
    """Import an order CSV into the shop; every problem goes to `report` as it is found.

    Raises ImportStopped when the file cannot be imported at all (encoding, header);
    nothing has been written then. `progress(bytes_read, file_size, rows)` follows along.
    `workers`: processes sharing the work (None: two for a large file on a machine with
    two cores or more, see csv.parallel).
    """
    from aftercart.integrations.csv import parallel

    started = time.perf_counter()
    with CsvFile(path) as csv_file:
        _check_header(csv_file.header, layout)
        size = csv_file.size
    workers = workers or parallel.workers_for(size)
    if connection.in_atomic_block:
        workers = 1  # other processes could not see what this transaction holds
    if workers > 1:
        summary = parallel.import_in_parts(
            shop, path, layout, workers, report=report, progress=progress, batch_size=batch_size
        )
    else:
        summary = import_part(
            shop,
            path,
            layout,
            Part(0, 1, timezone.now()),
            report=report,
            progress=progress,
            batch_size=batch_size,
        )
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass(frozen=True)
class Part:
    """Which orders of the file one process writes: batch n goes to process n % of."""

    index: int
    of: int
    since: datetime  # when the whole import began (see orders.history.import_history)

    def owns(self, order_number: int, batch_size: int) -> bool:
        return (order_number // batch_size) % self.of == self.index


def import_part(
    shop: Shop,
    path: str | Path,
    layout: Layout,
    part: Part,
    *,
    report: Callable[[Problem], None],
    progress: Callable[[int, int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> Summary:
    """Read the whole file, and parse and write the orders of this part.

    Every part reads every row, so each one knows where each order starts, its line
    numbers and which batch it falls in, without talking to the others; only the owner
    of an order spends the time to parse and write it (or to report its problems).
    """
    summary = Summary(layout.name)
    with CsvFile(path, checked=True) as csv_file, loading():
        summary.ignored_columns = _ignored(csv_file.header, layout)
        ctx = Context(
            index=layout.index(csv_file.header),
            tz=zoneinfo.ZoneInfo(shop.timezone),
            currency=shop.currency,
        )
        run = _Run(shop, layout, ctx, summary, report, part.since, batch_size)
        key_at = ctx.index[layout.key]
        id_at = ctx.index.get(layout.id_column, 1 << 30)
        group: list[tuple[int, list[str]]] = []
        group_key = group_id = None
        order_number = -1  # of the group being read, counting every order of the file
        mine = part.owns(0, batch_size)
        try:
            for line, row in csv_file.rows():
                summary.rows += 1
                key = row[key_at].strip() if key_at < len(row) else ""
                if not key:
                    if mine and any(cell.strip() for cell in row):
                        run.problem(
                            line, "", layout.key, _("is required: it says which order a row is")
                        )
                    continue  # an empty line
                row_id = row[id_at].strip() if id_at < len(row) else ""
                if key != group_key or (row_id and group_id and row_id != group_id):
                    if group and mine:
                        run.read(group_key, group)
                    order_number += 1
                    mine = part.owns(order_number, batch_size)
                    group, group_key, group_id = [], key, row_id
                if mine:
                    group.append((line, row))
                if progress and summary.rows % 2000 == 0:
                    progress(csv_file.bytes_read, csv_file.size, summary.rows)
        except ImportStopped:
            run.flush()  # the orders before the broken line are kept, as the message says
            raise
        if group and mine:
            run.read(group_key, group)
        run.flush()
        summary.lines = csv_file.lines
        if progress:
            progress(csv_file.bytes_read, csv_file.size, summary.rows)
    return summary


class _Run:
    """One import's state: the batch being filled, the counts, the problems reported."""

    def __init__(self, shop, layout, ctx, summary, report, since, batch_size):
        self.shop, self.layout, self.ctx, self.summary = shop, layout, ctx, summary
        self.report, self.since, self.batch_size = report, since, batch_size
        self.batch: dict[str, Pending] = {}  # external id -> order, in file order
        self.written = 0
        self.analyse_at = batch_size  # orders written; doubled after each refresh

    def problem(self, line: int, order: str, column: str, message: str) -> None:
        self.summary.problems += 1
        self.summary.error_rows += 1
        self.report(Problem(line, column, message, order))

    def read(self, key: str, rows: list[tuple[int, list[str]]]) -> None:
        order = self.layout.read_order(self.ctx, rows)
        if order is None:
            self._skip(key, self.ctx.problems)
            self.ctx.problems.clear()
            return
        first = self.batch.get(order.external_id)
        if first is not None:
            self._skip(key, [_twice(rows[0][0], first.line)])
            return
        self.batch[order.external_id] = Pending(order, key, rows[0][0])
        if len(self.batch) >= self.batch_size:
            self.flush()

    def _skip(self, key: str, problems: list[Problem]) -> None:
        self.summary.orders_skipped += 1
        self.summary.problems += len(problems)
        self.summary.error_rows += len({p.line for p in problems})
        for p in problems:
            self.report(Problem(p.line, p.column, p.message, key))

    def flush(self) -> None:
        if not self.batch:
            return
        pending = list(self.batch.values())
        self.batch = {}
        try:
            results = [
                (pending, import_history(self.shop, [p.order for p in pending], since=self.since))
            ]
        except DatabaseError:
            # One order the database refuses must not cost the batch: find it, keep the rest.
            results = self._one_by_one(pending)
        self.written += len(pending)
        if self.written >= self.analyse_at:
            # Each time the import has doubled what it wrote, so the database's query plans
            # keep up with the tables' size (see bulk.refresh_statistics): ten for a million orders.
            refresh_statistics()
            self.analyse_at *= 2
        for group, result in results:
            self.summary.order_lines += result.lines
            for p in group:
                outcome = result.outcomes[p.order.external_id]
                self.summary.outcomes[outcome] += 1
                if outcome == REPEATED:
                    self._skip(p.key, [_twice(p.line, None)])

    def _one_by_one(self, pending: list[Pending]):
        results = []
        for p in pending:
            try:
                results.append(([p], import_history(self.shop, [p.order], since=self.since)))
            except DatabaseError as exc:
                message = _("could not be saved: %(error)s") % {"error": exc}
                self._skip(p.key, [Problem(p.line, "", message)])
        return results


def _twice(line: int, first_line: int | None) -> Problem:
    if first_line:
        where = _("this order appeared at line %(line)s already") % {"line": first_line}
    else:
        where = _("this order appeared earlier in the file already")
    rest = _("the rows of one order must follow each other, so this second part was skipped")
    return Problem(line, "", f"{where}; {rest}")


def _check_header(header: list[str], layout: Layout) -> None:
    missing = layout.missing(header)
    if not missing:
        return
    message = (
        f"the header lacks the column{'s' if len(missing) > 1 else ''} "
        f"{', '.join(repr(m) for m in missing)}, which the {layout.name} format requires. "
        "Nothing was imported."
    )
    for other in LAYOUTS.values():
        if other is not layout and not other.missing(header):
            message += f" The file looks like the {other.name} format: add --format {other.name}."
    raise ImportStopped(message, line=1)


def _ignored(header: list[str], layout: Layout) -> list[str]:
    """Columns a format of our own does not know: most likely typos, worth a word."""
    if layout is shopify.LAYOUT:
        return []  # Shopify's export has many columns Aftercart has no use for
    known = {c.lower() for c in layout.columns}
    return [name for name in header if name and name.strip().lower() not in known]
