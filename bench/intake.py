"""Intake benchmark: signed Shopify order webhooks through the production server on loopback.

    .venv/bin/python bench/intake.py                 # SQLite
    .venv/bin/python bench/intake.py --postgres      # PostgreSQL at 127.0.0.1:5432

Prints, for the same server and database in the same run:
  * a bare Django view that inserts one row (the ceiling): requests/s, p50, p99;
  * Shopify orders/create webhooks (3 line items, a discount code, a customer), each
    verified, stored and queued: deliveries accepted/s, p50, p99, and the ratio to the ceiling;
  * the background worker applying them (order, lines, customer, timeline, events, and
    the enrolments in the default loop the events start): orders applied/s.
"""

import argparse
import base64
import copy
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aftercart.server import THREADS, web_command  # noqa: E402
from bench import loadgen  # noqa: E402

SECRET = "bench-webhook-secret"
FIXTURE = ROOT / "tests/fixtures/shopify/orders_create.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server did not start on port {port}")


def server_env(data_dir: Path) -> dict[str, str]:
    """The environment a benchmark's server and seeding run in: a data folder of its own,
    the bench settings (the product's URLs plus bare views to compare with), and emails
    kept in the outbox."""
    return {
        **os.environ,
        "AFTERCART_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "PYTHONPATH": str(ROOT),
        "SECRET_KEY": "bench",
        "EMAIL_URL": "outbox://",
    }


def make_bodies(count: int, offset: int) -> list[bytes]:
    template = json.loads(FIXTURE.read_text())
    bodies = []
    for i in range(offset, offset + count):
        order = copy.deepcopy(template)
        order["id"] = 10_000_000 + i
        order["name"] = f"#{100000 + i}"
        order["order_number"] = 100000 + i
        order["email"] = order["customer"]["email"] = f"buyer{i % 7000}@example.com"
        order["customer"]["id"] = 500_000 + i % 7000
        for n, line in enumerate(order["line_items"]):
            line["id"] = 90_000_000 + i * 10 + n
        bodies.append(json.dumps(order).encode())
    return bodies


def webhook_requests(port: int, slug: str, bodies: list[bytes], offset: int) -> list[bytes]:
    out = []
    for i, body in enumerate(bodies):
        sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
        out.append(
            loadgen.build_request(
                "127.0.0.1",
                port,
                f"/webhooks/shopify/{slug}",
                body,
                {
                    "Content-Type": "application/json",
                    "X-Shopify-Topic": "orders/create",
                    "X-Shopify-Hmac-Sha256": sig,
                    "X-Shopify-Event-Id": f"bench-{offset + i}",
                    "X-Shopify-Shop-Domain": "bench.myshopify.com",
                },
            )
        )
    return out


def ceiling_requests(port: int, bodies: list[bytes]) -> list[bytes]:
    return [
        loadgen.build_request(
            "127.0.0.1", port, "/bench/ceiling", b, {"Content-Type": "application/json"}
        )
        for b in bodies
    ]


def setup_database(env: dict) -> None:
    """Migrate, create the shop and its Shopify connection, and the ceiling table."""
    code = f"""
import django, os
django.setup()
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
from aftercart.core.services import create_shop
from aftercart.integrations.services import connect_store
shop, _ = create_shop("bench", name="Bench shop")
connect_store(shop, "shopify", webhook_secret={SECRET!r})
with connection.cursor() as c:
    pk = "SERIAL PRIMARY KEY" if connection.vendor == "postgresql" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    c.execute(f"CREATE TABLE bench_ceiling (id {{pk}}, body TEXT)")
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


def count(env: dict, sql: str) -> int:
    code = f"""
import django
django.setup()
from django.db import connection
with connection.cursor() as c:
    c.execute({sql!r})
    print(c.fetchone()[0])
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per web worker")
    parser.add_argument("--apply-workers", type=int, default=1, help="background workers draining")
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="aftercart-bench-"))
    env = server_env(data_dir)
    db_name = None
    if args.postgres:
        db_name = f"aftercart_bench_{os.getpid()}"
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {db_name}"],
            check=True,
        )
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db_name}"
    else:
        env.pop("DATABASE_URL", None)
    backend = "PostgreSQL" if args.postgres else "SQLite (WAL)"

    procs = []
    try:
        print(
            f"Intake benchmark on {backend}: {args.deliveries} deliveries, {args.concurrency} concurrent clients, "
            f"granian {args.web_workers} workers x {args.threads} threads, {os.cpu_count()} cores"
        )
        setup_database(env)
        port = free_port()
        web = subprocess.Popen(
            web_command("127.0.0.1", port, args.web_workers, args.threads), env=env, cwd=ROOT
        )
        procs.append(web)
        wait_for_port(port)

        warm = make_bodies(500, 0)
        loadgen.run("127.0.0.1", port, webhook_requests(port, "bench", warm, 0), args.concurrency)
        loadgen.run("127.0.0.1", port, ceiling_requests(port, warm), args.concurrency)

        bodies = make_bodies(args.deliveries, 500)
        ceiling = loadgen.run("127.0.0.1", port, ceiling_requests(port, bodies), args.concurrency)
        hooks = loadgen.run(
            "127.0.0.1", port, webhook_requests(port, "bench", bodies, 500), args.concurrency
        )
        print("Accepting (web server only, no worker running):")
        loadgen.report("bare view, 1 insert (ceiling)", ceiling)
        loadgen.report("Shopify orders/create webhook", hooks, ceiling, "ceiling")

        pending = count(env, "SELECT COUNT(*) FROM integrations_delivery WHERE status = 'pending'")
        started = time.perf_counter()
        for _ in range(args.apply_workers):
            procs.append(
                # Intake only: the flows and emails these orders start are queued for the
                # default queue and measured by bench/flows.py, not here.
                subprocess.Popen(
                    [sys.executable, "-m", "aftercart.cli", "worker", "--queues", "intake"],
                    env=env,
                    cwd=ROOT,
                )
            )
        while count(env, "SELECT COUNT(*) FROM integrations_delivery WHERE status = 'pending'"):
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        orders = count(env, "SELECT COUNT(*) FROM orders_order")
        failed = count(env, "SELECT COUNT(*) FROM integrations_delivery WHERE status = 'failed'")
        print(f"Applying ({args.apply_workers} background worker(s), web server idle):")
        print(
            f"  {pending} deliveries applied in {seconds:.1f} s  ->  {pending / seconds:.0f} orders/s "
            f"(includes worker start-up); {orders} orders in the database, {failed} failed"
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if db_name:
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-qc",
                    f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)",
                ]
            )
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
