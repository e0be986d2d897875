"""Benchmark the CSV order import: lines per second and peak memory.

    .venv/bin/python bench/csv_import.py                      # 1,000,000 lines, SQLite
    .venv/bin/python bench/csv_import.py --lines 100000 1000000   # memory at two sizes
    .venv/bin/python bench/csv_import.py --format generic --postgres [URL] [--skip-sqlite]

Generates a realistic order CSV (Shopify's export by default: one row per line item, the
order's columns on its first row) into a temporary file, imports it into a fresh database
with a throwaway AFTERCART_DATA_DIR, then imports it again (every order unchanged). Each
size runs in a process of its own, so "peak RSS" is that import's peak: it stays flat as
the file grows because the importer streams.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import drop_postgres, fresh_postgres  # noqa: E402

SHOPIFY_HEADER = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Tax 2 Name",
    "Tax 2 Value",
    "Tax 3 Name",
    "Tax 3 Value",
    "Tax 4 Name",
    "Tax 4 Value",
    "Tax 5 Name",
    "Tax 5 Value",
    "Phone",
    "Receipt Number",
    "Duplicates",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
]
GENERIC_HEADER = [
    "order_id",
    "order_number",
    "placed_at",
    "email",
    "first_name",
    "last_name",
    "accepts_marketing",
    "currency",
    "subtotal",
    "shipping",
    "tax",
    "discounts",
    "discount_codes",
    "total",
    "financial_status",
    "fulfilment_status",
    "shipping_country",
    "shipping_postcode",
    "shipping_city",
    "cancelled_at",
    "refunded_amount",
    "line_sku",
    "line_title",
    "quantity",
    "unit_price",
    "line_discount",
    "product_id",
    "category",
]
PRODUCTS = [
    (f"SKU-{i:04d}", f"{kind} {origin} {size}", price, f"P{i}", kind)
    for i, (kind, origin, size, price) in enumerate(
        (k, o, s, p)
        for k, base in (("Coffee", 9), ("Tea", 6), ("Grinder", 40), ("Filter", 4))
        for o in ("Ethiopia", "Colombia", "Kenya", "Brazil", "Guatemala", "Sumatra")
        for s, p in (("250g", base), ("500g", base * 1.8), ("1kg", base * 3.2))
    )
]
CITIES = [("Amsterdam", "NL"), ("Utrecht", "NL"), ("Antwerpen", "BE"), ("Berlin", "DE")]
FIRST = ["Anna", "Pieter", "Sanne", "Daan", "Emma", "Lucas", "Julia", "Sem", "Tess", "Finn"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder"]


def generate(path: Path, lines: int, fmt: str, seed: int = 7) -> int:
    """Write about `lines` CSV lines (header included) of orders; returns the orders written."""
    rng = random.Random(seed)
    customers = max(lines // 6, 10)  # a third of customers order again, some many times
    # Newest order first, as Shopify's export lists them.
    start = datetime(2025, 6, 1, tzinfo=UTC).astimezone(ZoneInfo("Europe/Amsterdam"))
    written, orders = 1, 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(SHOPIFY_HEADER if fmt == "shopify" else GENERIC_HEADER)
        index = {name: i for i, name in enumerate(SHOPIFY_HEADER)}
        while written < lines:
            orders += 1
            n = min(rng.choice((1, 1, 2, 2, 2, 3, 4)), lines - written)
            c = rng.randrange(customers)
            email = f"customer{c}@example.com"
            first, last = FIRST[c % len(FIRST)], LAST[c % len(LAST)]
            city, country = CITIES[c % len(CITIES)]
            placed = start - timedelta(minutes=orders * 3 + rng.randrange(3))
            items = [(rng.choice(PRODUCTS), rng.choice((1, 1, 1, 2, 3))) for _ in range(n)]
            subtotal = sum(round(p[2], 2) * q for p, q in items)
            shipping = 0 if subtotal > 50 else 4.95
            tax = round(subtotal * 0.21 / 1.21, 2)
            code, discount = (
                ("WELCOME10", round(subtotal * 0.1, 2)) if rng.random() < 0.1 else ("", 0)
            )
            total = round(subtotal - discount + shipping, 2)
            cancelled = placed + timedelta(hours=2) if rng.random() < 0.02 else None
            refunded = round(total / 2, 2) if rng.random() < 0.03 else 0
            status = "voided" if cancelled else ("partially_refunded" if refunded else "paid")
            for i, ((sku, title, price, product_id, kind), qty) in enumerate(items):
                if fmt == "generic":
                    out.writerow(
                        [
                            f"{4_000_000_000 + orders}",
                            f"#{1000 + orders}",
                            placed.isoformat(),
                            email,
                            first,
                            last,
                            "yes" if c % 3 else "no",
                            "EUR",
                            f"{subtotal:.2f}",
                            f"{shipping:.2f}",
                            f"{tax:.2f}",
                            f"{discount:.2f}",
                            code,
                            f"{total:.2f}",
                            status,
                            "fulfilled",
                            country,
                            f"{1000 + c % 8999} AB",
                            city,
                            cancelled.isoformat() if cancelled else "",
                            f"{refunded:.2f}" if refunded else "",
                            sku,
                            title,
                            qty,
                            f"{price:.2f}",
                            "0.00",
                            product_id,
                            kind,
                        ]
                    )
                    continue
                row = [""] * len(SHOPIFY_HEADER)
                values = {
                    "Name": f"#{1000 + orders}",
                    "Email": email,
                    "Lineitem quantity": qty,
                    "Lineitem name": title,
                    "Lineitem price": f"{price:.2f}",
                    "Lineitem sku": sku,
                    "Lineitem requires shipping": "true",
                    "Lineitem taxable": "true",
                    "Lineitem fulfillment status": "fulfilled",
                    "Vendor": "De Roasterij",
                    "Lineitem discount": "0.00",
                }
                if i == 0:
                    stamp = placed.strftime("%Y-%m-%d %H:%M:%S %z")
                    values |= {
                        "Financial Status": status,
                        "Paid at": stamp,
                        "Fulfillment Status": "fulfilled",
                        "Fulfilled at": (placed + timedelta(days=1)).strftime(
                            "%Y-%m-%d %H:%M:%S %z"
                        ),
                        "Accepts Marketing": "yes" if c % 3 else "no",
                        "Currency": "EUR",
                        "Subtotal": f"{subtotal:.2f}",
                        "Shipping": f"{shipping:.2f}",
                        "Taxes": f"{tax:.2f}",
                        "Total": f"{total:.2f}",
                        "Discount Code": code,
                        "Discount Amount": f"{discount:.2f}",
                        "Shipping Method": "Standard",
                        "Created at": stamp,
                        "Billing Name": f"{first} {last}",
                        "Billing Street": f"Kerkstraat {c % 200}",
                        "Billing Address1": f"Kerkstraat {c % 200}",
                        "Billing City": city,
                        "Billing Zip": f"'{1000 + c % 8999} AB",
                        "Billing Country": country,
                        "Shipping Name": f"{first} {last}",
                        "Shipping Street": f"Kerkstraat {c % 200}",
                        "Shipping Address1": f"Kerkstraat {c % 200}",
                        "Shipping City": city,
                        "Shipping Zip": f"'{1000 + c % 8999} AB",
                        "Shipping Country": country,
                        "Cancelled at": cancelled.strftime("%Y-%m-%d %H:%M:%S %z")
                        if cancelled
                        else "",
                        "Payment Method": "Shopify Payments",
                        "Refunded Amount": f"{refunded:.2f}",
                        "Outstanding Balance": "0.00",
                        "Id": f"{5_600_000_000_000 + orders}",
                        "Risk Level": "Low",
                        "Source": "web",
                        "Tax 1 Name": "BTW 21%",
                        "Tax 1 Value": f"{tax:.2f}",
                    }
                for name, value in values.items():
                    row[index[name]] = value
                out.writerow(row)
            written += n
    return orders


def run_one(lines: int, fmt: str, postgres_url: str | None, workers: int | None) -> dict:
    """Generate, import twice, measure; runs in its own process (see main)."""
    data_dir = tempfile.mkdtemp(prefix="aftercart-bench-")
    os.environ["AFTERCART_DATA_DIR"] = data_dir
    os.environ.setdefault("SECRET_KEY", "bench-not-secret")
    os.environ["DJANGO_SETTINGS_MODULE"] = "aftercart.settings"
    database = None
    if postgres_url:
        database = fresh_postgres(postgres_url)
        os.environ["DATABASE_URL"] = database
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from aftercart.core.services import create_shop
    from aftercart.integrations.csv.importer import LAYOUTS, import_orders
    from aftercart.integrations.csv.parallel import workers_for

    call_command("migrate", verbosity=0)
    shop, _ = create_shop("bench", name="Bench Roastery")
    path = Path(data_dir) / f"orders-{fmt}.csv"
    t = time.perf_counter()
    orders = generate(path, lines, fmt)
    generated = time.perf_counter() - t
    rss_before = _peak_rss_mb()
    problems = []
    cpu = _cpu_seconds()
    first = import_orders(shop, path, LAYOUTS[fmt], report=problems.append, workers=workers)
    cpu_first = _cpu_seconds() - cpu
    rss_first = _peak_rss_mb()
    cpu = _cpu_seconds()
    again = import_orders(shop, path, LAYOUTS[fmt], report=problems.append, workers=workers)
    cpu_again = _cpu_seconds() - cpu
    result = {
        "database": "postgresql" if postgres_url else "sqlite",
        "format": fmt,
        "processes": workers or workers_for(path.stat().st_size),
        "csv_lines": first.lines,
        "orders": orders,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "generate_s": round(generated, 1),
        "import_s": round(first.seconds, 1),
        "lines_per_s": round(first.lines_per_second),
        "import_cpu_s": round(cpu_first, 1),
        "lines_per_cpu_s": round(first.lines / cpu_first),
        "reimport_cpu_s": round(cpu_again, 1),
        "load_average": os.getloadavg()[0],
        "created": first.outcomes["created"],
        "reimport_s": round(again.seconds, 1),
        "reimport_lines_per_s": round(again.lines_per_second),
        "reimport_unchanged": again.outcomes["unchanged"],
        "problems": len(problems),
        "peak_rss_before_import_mb": rss_before,
        "peak_rss_import_mb": rss_first,
        "peak_rss_end_mb": _peak_rss_mb(),
    }
    if database:
        from django.db import connections

        connections.close_all()
        drop_postgres(database)
    return result


def _peak_rss_mb() -> float:
    # The largest of this process and the import's parts (KiB on Linux).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parts = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, parts) / 1024, 1)


def _cpu_seconds() -> float:
    """CPU time of this process and of the import's parts that have ended."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    parts = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + parts.ru_utime + parts.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lines", type=int, nargs="+", default=[1_000_000])
    p.add_argument("--format", choices=["shopify", "generic"], default="shopify")
    p.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="Also run on PostgreSQL (DATABASE_URL, or the local server); a database is "
        "created for the run and dropped after",
    )
    p.add_argument("--skip-sqlite", action="store_true", help="Only run on PostgreSQL")
    p.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 0],
        help="Processes per import; 0 is the product's choice (two for a large file). "
        "Several values run one after the other, the first being the baseline",
    )
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:  # the child process: one size, one database
        print(
            json.dumps(run_one(args.lines[0], args.format, args.postgres, args.workers[0] or None))
        )
        return
    targets = ([] if args.skip_sqlite else [None]) + ([args.postgres] if args.postgres else [])
    for url in targets:
        for lines in args.lines:
            baseline = None
            for workers in args.workers:
                cmd = [sys.executable, __file__, "--one", "--lines", str(lines)]
                cmd += ["--format", args.format, "--workers", str(workers)]
                if url:
                    cmd += ["--postgres", url]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                baseline = baseline or r
                ratio = r["lines_per_s"] / baseline["lines_per_s"]
                print(
                    f"{r['database']:<10} {r['format']:<8} {r['csv_lines']:>9,} lines "
                    f"({r['orders']:,} orders, {r['file_mb']} MB), {r['processes']} process(es): "
                    f"import {r['import_s']} s = {r['lines_per_s']:,} lines/s "
                    f"({ratio:.2f} x the first run) (CPU {r['import_cpu_s']} s = "
                    f"{r['lines_per_cpu_s']:,} lines/CPU-s); re-import {r['reimport_s']} s = "
                    f"{r['reimport_lines_per_s']:,} lines/s ({r['reimport_unchanged']:,} "
                    f"unchanged); peak RSS {r['peak_rss_before_import_mb']} MB before import, "
                    f"{r['peak_rss_import_mb']} MB after the first import, "
                    f"{r['peak_rss_end_mb']} MB at the end; load average {r['load_average']:.1f}"
                )
                sys.stdout.flush()


if __name__ == "__main__":
    main()
