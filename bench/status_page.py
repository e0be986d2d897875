"""Order-status page benchmark: concurrent customers opening their signed links, on loopback.

    .venv/bin/python bench/status_page.py                      # SQLite, 50 concurrent
    .venv/bin/python bench/status_page.py --concurrency 10 --requests 5000

In a fresh SQLite database, a shop with --orders orders (1–3 lines each, a parcel with
six carrier scans each) is written through the services. The production server
(granian, --web-workers x --threads) then serves, to --concurrency clients on keep-alive
connections, each asking for page after page with no pause:
  * baseline: a bare page reading one order row by its key (server, middleware, a query);
  * first views: the order-status page of orders nobody opened yet, each once, through
    its signed link (token checked, order, lines, parcels, scans and timeline read,
    rendered in the customer's language);
  * views again: customers opening their page again (a fifth of those orders, five
    times each, shuffled): the page as rendered for the order's current version.
Prints requests/s, p50 and p99 for each, and the ratio to the baseline.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aftercart.server import THREADS, web_command  # noqa: E402
from bench import loadgen  # noqa: E402
from bench.intake import free_port, server_env, wait_for_port  # noqa: E402

SEED = """
import django, json, random, sys
django.setup()
from datetime import timedelta
from decimal import Decimal
from django.core.management import call_command
from django.utils import timezone
call_command("migrate", verbosity=0)
from aftercart.core.events import muted
from aftercart.core.services import create_shop
from aftercart.customers.services import CustomerData
from aftercart.orders.links import status_url
from aftercart.orders.records import Checkpoint, LineData, OrderData, ShipmentData, TrackingUpdate
from aftercart.orders.services import record_order
from aftercart.orders.tracking import record_tracking

rng = random.Random(7)
shop, _ = create_shop("bench", name="Bench Roastery", locale="nl")
now = timezone.now()
paths = []
STEPS = ["info_received", "in_transit", "in_transit", "in_transit", "out_for_delivery", "delivered"]
with muted():  # history: no flows, no emails
    for i in range({orders}):
        placed = now - timedelta(days=rng.randint(1, 20))
        order = record_order(shop, OrderData(
            external_id=str(i), source="api", number=str(1000 + i), email=f"c{{i}}@example.com",
            customer=CustomerData(email=f"c{{i}}@example.com", first_name="Klant"),
            currency="EUR", total=Decimal("39.90"), placed_at=placed, financial_status="paid",
            locale=rng.choice(["nl", "en"]), shipping_country="NL", shipping_postcode="1016 GV",
            lines=[LineData(title=f"Koffie {{j}}", quantity=1, unit_price=Decimal("13.30"))
                   for j in range(rng.randint(1, 3))],
            shipments=[ShipmentData(external_id="p1", status="info_received",
                                    tracking_number=f"3SBNCH{{i:07d}}", updated_at=placed)],
        )).order
        record_tracking(shop, TrackingUpdate(
            tracking_number=f"3SBNCH{{i:07d}}", source="api",
            checkpoints=[Checkpoint(placed + timedelta(hours=6 * k), s, s, f"Scan {{k}}", "Utrecht")
                         for k, s in enumerate(STEPS)]))
        paths.append((order.pk, status_url(shop.pk, order.pk).split("://", 1)[1].split("/", 1)[1]))
        if i % 500 == 0:
            print(f"  orders written: {{i:,}}/{orders:,}", file=sys.stderr, end="\\r")
from aftercart.core.worker import refresh_planner_stats
refresh_planner_stats()  # as a worker does at start
print(json.dumps(paths))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=6000)
    parser.add_argument("--requests", type=int, default=10000, help="baseline and views again")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per web worker")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="aftercart-bench-"))
    env = server_env(data_dir)
    env.pop("DATABASE_URL", None)
    print(
        f"Order-status page on SQLite (WAL): {args.orders:,} orders, {args.requests:,} requests, "
        f"{args.concurrency} concurrent clients, granian {args.web_workers} workers x "
        f"{args.threads} threads, {os.cpu_count()} cores"
    )
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", SEED.format(orders=args.orders)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    import json

    orders = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"  {len(orders):,} orders with parcels and scans written in {time.perf_counter() - started:.0f} s"
    )

    port = free_port()
    web = subprocess.Popen(
        web_command("127.0.0.1", port, args.web_workers, args.threads), env=env, cwd=ROOT
    )
    try:
        wait_for_port(port)
        rng = random.Random(11)

        def get(path: str) -> bytes:
            return loadgen.build_get("127.0.0.1", port, path)

        warm, fresh = orders[: len(orders) // 6], orders[len(orders) // 6 :]
        rng.shuffle(fresh)
        again = fresh[: len(fresh) // 5] * 5
        rng.shuffle(again)
        again = again[: args.requests]
        bare = [get(f"/bench/read/{rng.choice(orders)[0]}") for _ in range(args.requests)]
        loadgen.run("127.0.0.1", port, [get(f"/{p}") for _, p in warm], args.concurrency)
        loadgen.run("127.0.0.1", port, bare[:2000], args.concurrency)
        baseline = loadgen.run("127.0.0.1", port, bare, args.concurrency)
        first = loadgen.run("127.0.0.1", port, [get(f"/{p}") for _, p in fresh], args.concurrency)
        repeat = loadgen.run("127.0.0.1", port, [get(f"/{p}") for _, p in again], args.concurrency)
        loadgen.report("bare page, 1 row (baseline)", baseline)
        loadgen.report(f"status page, first views ({len(fresh):,})", first, baseline, "baseline")
        loadgen.report(f"status page, views again ({len(again):,})", repeat, baseline, "baseline")
    finally:
        web.terminate()
        web.wait(timeout=10)


if __name__ == "__main__":
    main()
