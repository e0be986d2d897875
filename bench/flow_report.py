"""Benchmark the flow lift report: seconds to build it over many enrolments.

    .venv/bin/python bench/flow_report.py                         # 100,000 enrolments, SQLite
    .venv/bin/python bench/flow_report.py --enrolments 300000
    .venv/bin/python bench/flow_report.py --postgres [URL]        # also on PostgreSQL

Generates a shop in a fresh database (a throwaway AFTERCART_DATA_DIR; on PostgreSQL a
database of its own, dropped afterwards): customers, their first orders, enrolments in
a marketing flow over the last 120 days (one customer in five enrolled twice, 10 % in
the control group), repeat orders at 20 % (sent) and 10 % (control) plus orders outside
any window, a refund on one repeat order in twenty, and a cancelled order in fifty.
Rows go in through core.bulk (the import path), not one by one: the point is to time
the report, not the intake. Prints the timing of the report (best and median of five)
and what it found.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import drop_postgres, fresh_postgres  # noqa: E402


def setup(postgres_url: str | None) -> str | None:
    os.environ["AFTERCART_DATA_DIR"] = tempfile.mkdtemp(prefix="aftercart-bench-")
    os.environ.setdefault("SECRET_KEY", "bench-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftercart.settings"
    database = None
    if postgres_url:
        database = fresh_postgres(postgres_url, "aftercart_bench_report")
        os.environ["DATABASE_URL"] = database
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return database


def generate(enrolments: int, seed: int = 1):
    from django.db import transaction
    from django.utils import timezone

    from aftercart.core.bulk import insert_rows, refresh_statistics
    from aftercart.core.services import create_shop
    from aftercart.customers.models import Customer
    from aftercart.flows.defaults import DEFAULT_LOOP
    from aftercart.flows.models import Enrolment
    from aftercart.flows.services import is_control, save_flow
    from aftercart.orders.models import Order, Refund

    rng = random.Random(seed)
    now = timezone.now()
    shop, _ = create_shop("bench", name="Bench Roastery")
    flow = save_flow(shop, "win-back", DEFAULT_LOOP["win-back"])
    customers = int(enrolments / 1.2)
    with transaction.atomic():
        ids = insert_rows(
            Customer,
            ["email"],
            ((f"c{n}@example.com",) for n in range(customers)),
            same={"shop": shop.id},
            ids=True,
        )
        # Who starts the flow when: every customer once, one in five a second time.
        starts = [(c, now - timedelta(days=120 * rng.random())) for c in ids]
        starts += [
            (c, now - timedelta(days=120 * rng.random())) for c in ids[: enrolments - customers]
        ]
        trigger_ids = insert_rows(
            Order,
            ["customer", "external_id", "total", "placed_at", "financial_status"],
            (
                (c, f"t{n}", Decimal("35.00"), at - timedelta(minutes=2), "paid")
                for n, (c, at) in enumerate(starts)
            ),
            same={"shop": shop.id, "currency": "EUR", "source": "api"},
            ids=True,
        )
        control = {c: is_control(flow.id, c, 0.1) for c in ids}
        # bulk_create: core.bulk has no adapter for the enrolment's small-integer step.
        Enrolment.objects.bulk_create(
            (
                Enrolment(
                    shop_id=shop.id,
                    flow_id=flow.id,
                    version_id=flow.version_id,
                    customer_id=c,
                    order_id=o,
                    trigger_key=f"order.placed:{o}::{c}",
                    control=control[c],
                    started_at=at,
                    status="completed",
                )
                for o, (c, at) in zip(trigger_ids, starts, strict=True)
            ),
            batch_size=2000,
        )
        later = []
        for n, (c, at) in enumerate(starts):
            if rng.random() < (0.10 if control[c] else 0.20):
                later.append((c, f"r{n}", at + timedelta(days=29 * rng.random())))
            if rng.random() < 0.3:  # an order outside any window
                later.append((c, f"o{n}", at + timedelta(days=31 + 60 * rng.random())))
        rows = [
            (
                c,
                key,
                Decimal(rng.randrange(1500, 9000)) / 100,
                at,
                at + timedelta(hours=3) if rng.random() < 0.02 else None,
            )
            for c, key, at in later
        ]
        order_ids = insert_rows(
            Order,
            ["customer", "external_id", "total", "placed_at", "cancelled_at"],
            rows,
            same={"shop": shop.id, "currency": "EUR", "source": "api", "financial_status": "paid"},
            ids=True,
        )
        insert_rows(
            Refund,
            ["order", "external_id", "amount", "refunded_at"],
            (
                (o, "r1", Decimal("10.00"), row[3] + timedelta(days=4))
                for o, row in zip(order_ids, rows, strict=True)
                if rng.random() < 0.05
            ),
            same={"shop": shop.id, "currency": "EUR"},
        )
    refresh_statistics()
    return flow, len(starts), len(trigger_ids) + len(order_ids)


def run(enrolments: int, postgres_url: str | None) -> None:
    database = setup(postgres_url)
    try:
        from django.db import connection

        from aftercart.flows.report import flow_report
        from aftercart.flows.verdicts import verdict

        t = time.perf_counter()
        flow, made, orders = generate(enrolments)
        print(
            f"{connection.vendor}: generated {made:,} enrolments and {orders:,} orders"
            f" in {time.perf_counter() - t:.1f} s"
        )
        timings = []
        for _ in range(5):
            t = time.perf_counter()
            report = flow_report(flow)
            timings.append(time.perf_counter() - t)
        print(
            f"{connection.vendor}: flow report best {min(timings):.3f} s,"
            f" median {statistics.median(timings):.3f} s"
        )
        print(
            f"  sent {report.sent.customers:,} customers, {report.sent.converted:,} ordered again;"
            f" control {report.control.customers:,}, {report.control.converted:,};"
            f" {report.still_open:,} still inside their window"
        )
        print(f"  {verdict(report)}")
    finally:
        if database:
            from django.db import connections

            connections.close_all()
            drop_postgres(database)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--enrolments", type=int, default=100_000)
    p.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="Run on PostgreSQL instead of SQLite (DATABASE_URL, or the local server)",
    )
    args = p.parse_args()
    run(args.enrolments, args.postgres)


if __name__ == "__main__":
    main()
