"""A large import shared by two processes (or more), on one database.

Reading, parsing and checking a row costs as much Python time as writing it, and one
Python process uses one core. Each part reads the whole file (cheap: the csv module),
and parses and writes every other batch of orders (see importer.Part); the database
serialises the writes (on SQLite, one at a time through the backend's writer lock), so
one part parses while the other writes. Problems and progress come back to this process
through a queue as they are found; the counts when each part is done.

Parts are forked from this process, so they start with its settings, the shop and the
language it chose, without importing anything again. Forking is Linux's and macOS's
way; elsewhere an import runs in one process.
"""

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable
from pathlib import Path

from django.db import connections
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.integrations.csv.importer import Part, Summary, import_part
from aftercart.integrations.csv.reading import ImportStopped, Layout, Problem

# Below this, starting a second process costs more than it saves.
LARGE_FILE_BYTES = 16 << 20  # about 50,000 lines of a Shopify export


def workers_for(size: int) -> int:
    if size < LARGE_FILE_BYTES or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return min(2, os.cpu_count() or 1)


def import_in_parts(
    shop: Shop,
    path: str | Path,
    layout: Layout,
    workers: int,
    *,
    report: Callable[[Problem], None],
    progress: Callable[[int, int, int], None] | None,
    batch_size: int,
) -> Summary:
    since = timezone.now()
    context = multiprocessing.get_context("fork")
    messages = context.Queue(maxsize=10_000)
    # A forked child must not use its parent's database connections: each part opens its own.
    connections.close_all()
    parts = [
        context.Process(
            target=_run_part,
            args=(messages, shop, str(path), layout, Part(n, workers, since), batch_size),
            name=f"aftercart-import-{n}",
            daemon=True,
        )
        for n in range(workers)
    ]
    for p in parts:
        p.start()
    summaries: dict[int, Summary] = {}
    stopped: list[ImportStopped] = []
    failures: list[str] = []
    read: dict[int, tuple[int, int, int]] = {}
    try:
        while len(summaries) + len(failures) + len(stopped) < workers:
            try:
                kind, n, payload = messages.get(timeout=1)
            except queue.Empty:
                dead = [p for p in parts if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(
                        f"an import process stopped unexpectedly (exit code {dead[0].exitcode})"
                    ) from None
                continue
            if kind == "problem":
                report(payload)
            elif kind == "progress":
                read[n] = payload
                if progress:
                    # The slowest part says how far the import is.
                    progress(*min(read.values()))
            elif kind == "done":
                summaries[n] = payload
            elif kind == "stopped":
                stopped.append(ImportStopped(*payload))
            else:
                failures.append(payload)
    finally:
        for p in parts:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    if failures:
        raise RuntimeError(f"an import process failed:\n{failures[0]}")
    if stopped:
        raise min(stopped, key=lambda exc: exc.line or 0)
    return _merged([summaries[n] for n in range(workers)])


def _run_part(messages, shop, path, layout, part, batch_size) -> None:
    def report(problem: Problem) -> None:
        messages.put(("problem", part.index, problem))

    def progress(done: int, size: int, rows: int) -> None:
        messages.put(("progress", part.index, (done, size, rows)))

    try:
        summary = import_part(
            shop, path, layout, part, report=report, progress=progress, batch_size=batch_size
        )
        messages.put(("done", part.index, summary))
    except ImportStopped as exc:
        messages.put(("stopped", part.index, (exc.message, exc.line)))
    except BaseException:
        messages.put(("failed", part.index, traceback.format_exc()))
    finally:
        connections.close_all()


def _merged(parts: list[Summary]) -> Summary:
    # Every part read every row; each wrote, skipped and reported only its own orders.
    total = parts[0]
    for other in parts[1:]:
        for outcome, count in other.outcomes.items():
            total.outcomes[outcome] += count
        total.order_lines += other.order_lines
        total.orders_skipped += other.orders_skipped
        total.error_rows += other.error_rows
        total.problems += other.problems
    return total
