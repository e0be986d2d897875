"""Flows benchmark: enrol orders into the default loop, drain every due step, send the mail.

    .venv/bin/python bench/flows.py                          # 100,000 orders, SQLite and PostgreSQL
    .venv/bin/python bench/flows.py --orders 20000 --databases sqlite --workers 1

For each database, in a fresh database, with a local SMTP sink (aiosmtpd, its own process):
  1. 100,000 orders (1–3 lines each, 60,000 customers) are written, then their order.placed
     events go through the flows in batches of 1,000, as a webhook drain publishes them:
     enrolments per second. Each order starts three flows: the confirmation (send at
     once), the win-back (wait 90 days) and the replenishment reminder (no consumables
     in these orders: it ends at once).
  2. `aftercart worker` processes (1, then 2) drain every due step: steps per second, and
     emails rendered and sent per second (each one decided, rendered from MJML, committed
     as `sending`, handed to the SMTP server, marked `sent`).
  3. With the workers idle, steps fall due at a steady rate (half of what one worker
     drained): the delay from a step's due time to its email's `sent`, p50 and p99.
  4. The ceiling, in the same run: plain smtplib sending the same number of pre-rendered
     messages to the same sink over one connection; the ratio of (2) per worker to it.
"""

import argparse
import json
import os
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/aftercart_bench_flows"

from bench.intake import free_port, wait_for_port  # noqa: E402


def progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    sys.stderr.write(f"\r  {label}: {done:,}/{total:,} ({rate:,.0f}/s)   ")
    sys.stderr.flush()


# --- the run for one database: its own process, so Django is set up once for it ---------


def run_database(args) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    shop = make_shop()
    result = {"database": args.database}
    result.update(make_orders(shop, args.orders))
    result.update(enrol(shop, args.orders))
    runs = []
    for workers in args.workers:
        if runs:
            reset(shop)
        runs.append(drain(shop, workers, args))
    result["drains"] = runs
    result["ceiling"] = ceiling(args)
    return result


def make_shop():
    from django.db import transaction

    from aftercart.core.services import create_shop

    with transaction.atomic():
        shop, _key = create_shop("bench", name="Bench shop", locale="en")
    from aftercart.flows.models import Flow

    # The loop is installed after commit by the shop.created handler.
    assert Flow.objects.filter(shop=shop).count() >= 5, "the default loop was not installed"
    return shop


def make_orders(shop, count: int) -> dict:
    """Customers, orders and lines written in bulk (their history is not what is measured)."""
    import random
    from datetime import timedelta
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from aftercart.customers.models import Customer
    from aftercart.orders.models import LineItem, Order

    rng = random.Random(7)
    started = time.monotonic()
    customers = max(1, count * 6 // 10)
    with transaction.atomic():
        Customer.objects.bulk_create(
            [
                Customer(
                    shop=shop,
                    email=f"buyer{i}@example.com",
                    first_name=rng.choice(["Anna", "Bram", "Cees", "Daan", "Eva", "Fleur"]),
                    locale=rng.choice(["en", "nl"]),
                    accepts_marketing=rng.random() < 0.6,
                )
                for i in range(customers)
            ],
            batch_size=2000,
        )
    ids = list(Customer.objects.filter(shop=shop).values_list("pk", flat=True))
    now = timezone.now()
    for at in range(0, count, 5000):
        with transaction.atomic():
            orders = []
            for i in range(at, min(count, at + 5000)):
                total = Decimal(rng.randrange(1500, 25000)) / 100
                orders.append(
                    Order(
                        shop=shop,
                        external_id=str(1_000_000 + i),
                        number=f"#{1_000_000 + i}",
                        customer_id=ids[i % len(ids)],
                        email=f"buyer{i % len(ids)}@example.com",
                        currency="EUR",
                        subtotal=total,
                        discounts=0,
                        shipping=Decimal("4.95"),
                        tax=0,
                        total=total + Decimal("4.95"),
                        refunded=0,
                        placed_at=now - timedelta(minutes=count - i),
                        financial_status="paid",
                        fulfilment_status="unfulfilled",
                        source="api",
                        shipping_country="NL",
                        shipping_name="Bench Buyer",
                        shipping_address={"address1": "Kerkstraat 1"},
                        shipping_city="Utrecht",
                        shipping_postcode="3511 AA",
                    )
                )
            Order.objects.bulk_create(orders)
            lines = []
            for order in Order.objects.filter(
                shop=shop, external_id__in=[o.external_id for o in orders]
            ):
                for n in range(rng.randint(1, 3)):
                    price = Decimal(rng.randrange(500, 8000)) / 100
                    lines.append(
                        LineItem(
                            order=order,
                            external_id=f"{order.external_id}-{n}",
                            sku=f"SKU-{rng.randrange(200)}",
                            title=rng.choice(["Linen shirt", "Coffee beans", "Tea towel", "Mug"]),
                            quantity=1,
                            unit_price=price,
                            discount=0,
                            total=price,
                        )
                    )
            LineItem.objects.bulk_create(lines, batch_size=5000)
        progress("orders written", min(count, at + 5000), count, started)
    sys.stderr.write("\n")
    return {"orders": count, "customers": customers}


def enrol(shop, count: int) -> dict:
    """order.placed for every order, 1,000 at a time, as a webhook drain publishes them."""
    from aftercart.core.events import DomainEvent
    from aftercart.flows import services as flows
    from aftercart.orders.models import Order

    pairs = list(Order.objects.filter(shop=shop).order_by("pk").values_list("pk", "customer_id"))
    started = time.monotonic()
    for at in range(0, len(pairs), 1000):
        flows.on_events(
            [
                DomainEvent("order.placed", shop.id, {"order_id": o, "customer_id": c})
                for o, c in pairs[at : at + 1000]
            ]
        )
        progress("enrolled", min(len(pairs), at + 1000), len(pairs), started)
    seconds = time.monotonic() - started
    sys.stderr.write("\n")
    from aftercart.flows.models import Enrolment

    enrolments = Enrolment.objects.filter(shop=shop).count()
    return {
        "enrol_seconds": seconds,
        "enrolled_orders_per_s": count / seconds,
        "enrolments_per_s": enrolments / seconds,
    }


def reset(shop) -> None:
    """Back to the state after enrolment: every enrolment at its first step, due now."""
    from django.db import transaction
    from django.utils import timezone

    from aftercart.flows.models import Enrolment
    from aftercart.messaging.models import Message

    with transaction.atomic():
        Message.objects.filter(shop=shop).delete()
        # The steady phase's own enrolments: not part of the starting state. (Left in, they
        # made the next run send 6,000 more emails than it counted, and its steady phase
        # start with that backlog still queued.)
        Enrolment.objects.filter(shop=shop, trigger_key__startswith="bench-steady:").delete()
        Enrolment.objects.filter(shop=shop).update(
            status="active",
            step=0,
            waiting=False,
            waiting_for="",
            next_run_at=timezone.now(),
            history=[],
            ended_at=None,
            exit_reason="",
        )


def start_workers(count: int, port: int) -> list[subprocess.Popen]:
    env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{port}"}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "aftercart.cli", "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop(processes) -> None:
    for p in processes:
        p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # Its own time and its ended children's: the courier processes it forked.
            total += sum(int(f) for f in fields[11:15]) / ticks
        except (OSError, IndexError):
            pass
    return total


def drain(shop, workers: int, args) -> dict:
    from django.db.models import Count
    from django.utils import timezone

    from aftercart.flows.models import Enrolment
    from aftercart.flows.tasks import run_flows
    from aftercart.messaging.models import Message

    sink_port, count_file = free_port(), Path(tempfile.mkstemp(prefix="sink-")[1])
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/smtp_sink.py"), str(sink_port), str(count_file)],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(sink_port)
    args.sink_port, args.count_file = sink_port, count_file
    expected = args.orders  # one confirmation per order
    steps_total = Enrolment.objects.filter(shop=shop, status="active").count()
    run_flows.enqueue()
    procs = start_workers(workers, sink_port)
    started = time.monotonic()
    steps_done_at = None
    while True:
        time.sleep(0.5)
        received = int(count_file.read_text() or 0)
        progress(f"{workers} worker(s): emails at the sink", received, expected, started)
        if (
            steps_done_at is None
            and not Enrolment.objects.filter(
                shop=shop, status="active", next_run_at__lte=timezone.now()
            ).exists()
        ):
            steps_done_at = time.monotonic()
        if received >= expected:
            break
        if time.monotonic() - started > args.timeout:
            raise SystemExit(f"\nnot drained after {args.timeout} s ({received:,} sent)")
    seconds = time.monotonic() - started
    sys.stderr.write("\n")
    statuses = dict(Message.objects.filter(shop=shop).values_list("status").annotate(n=Count("id")))
    if not args.steady_rate:  # half of what the first drain managed, for every run
        args.steady_rate = max(10, int(expected / seconds / 2))
    latency = steady_latency(shop, args, workers)
    cpu = cpu_seconds([p.pid for p in procs])
    stop(procs)
    sink.send_signal(signal.SIGTERM)
    sink.wait(timeout=10)
    steps = steps_total + expected  # each confirmation: its send; each win-back: its wait
    return {
        "workers": workers,
        "seconds": seconds,
        "steps_per_s": steps / (steps_done_at - started if steps_done_at else seconds),
        "emails_per_s": expected / seconds,
        # After the steps were done: the rate of the sending alone.
        # (Only when that phase is long enough to time: with two workers the steps and
        # the sending run side by side and end together.)
        "send_phase_emails_per_s": expected / (seconds - (steps_done_at - started))
        if steps_done_at and seconds - (steps_done_at - started) > 0.1 * seconds
        else None,
        "statuses": statuses,
        "worker_cpu_s": cpu,
        **latency,
    }


def steady_latency(shop, args, workers: int) -> dict:
    """Steps falling due at a steady rate while the workers are otherwise idle."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from aftercart.flows.models import Enrolment, Flow
    from aftercart.messaging.models import Message

    flow = Flow.objects.get(shop=shop, key="order-confirmation")
    rate = args.steady_rate
    count = int(rate * args.steady_seconds)
    orders = list(
        Enrolment.objects.filter(flow=flow).values_list("order_id", "customer_id")[:count]
    )
    start = timezone.now() + timedelta(seconds=2)
    due = {}
    with transaction.atomic():
        made = Enrolment.objects.bulk_create(
            [
                Enrolment(
                    shop=shop,
                    flow=flow,
                    version_id=flow.version_id,
                    customer_id=customer_id,
                    order_id=order_id,
                    trigger_key=f"bench-steady:{workers}:{i}",
                    started_at=start,
                    next_run_at=start + timedelta(seconds=i / rate),
                )
                for i, (order_id, customer_id) in enumerate(orders)
            ]
        )
    if not made or made[0].pk is None:  # older SQLite: no RETURNING from bulk_create
        made = list(Enrolment.objects.filter(trigger_key__startswith=f"bench-steady:{workers}:"))
    for enrolment in made:
        due[f"flow:{enrolment.pk}:step:0"] = enrolment.next_run_at
    deadline = time.monotonic() + args.steady_seconds + 120
    while time.monotonic() < deadline:
        time.sleep(1)
        sent = Message.objects.filter(dedupe_key__in=list(due), status="sent").count()
        if sent >= len(due):
            break
    delays = sorted(
        (sent_at - due[key]).total_seconds()
        for key, sent_at in Message.objects.filter(
            dedupe_key__in=list(due), status="sent"
        ).values_list("dedupe_key", "sent_at")
    )
    if not delays:
        return {"steady_rate": rate, "steady_sent": 0}
    return {
        "steady_rate": rate,
        "steady_sent": len(delays),
        "steady_expected": len(due),
        "due_to_sent_p50": statistics.median(delays),
        "due_to_sent_p99": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "due_to_sent_max": delays[-1],
    }


def ceiling(args) -> dict:
    """Plain smtplib, one connection, the same number of pre-rendered messages."""
    from aftercart.messaging.models import Message
    from aftercart.messaging.services import build_email

    message = Message.objects.filter(status="sent").select_related("shop").first()
    raw = build_email(message).message().as_bytes(linesep="\r\n")
    sink_port, count_file = free_port(), Path(tempfile.mkstemp(prefix="sink-")[1])
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/smtp_sink.py"), str(sink_port), str(count_file)],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(sink_port)
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", sink_port) as smtp:
        for i in range(args.orders):
            smtp.sendmail("shop@example.com", [message.to_email], raw)
            if i % 2000 == 0:
                progress("ceiling (smtplib, one connection)", i, args.orders, started)
    seconds = time.monotonic() - started
    sys.stderr.write("\n")
    sink.send_signal(signal.SIGTERM)
    sink.wait(timeout=10)
    return {"emails_per_s": args.orders / seconds, "bytes": len(raw)}


# --- the orchestrating process ----------------------------------------------------------


def fresh_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def report(result: dict) -> None:
    ceiling_rate = result["ceiling"]["emails_per_s"]
    print(
        f"\n== {result['database']}: {result['orders']:,} orders, {result['customers']:,} customers"
    )
    print(
        f"  enrolment (order.placed, batches of 1,000): {result['enrolled_orders_per_s']:,.0f} orders/s"
        f" ({result.get('enrolments_per_s', 0):,.0f} enrolments/s)"
    )
    print(f"  ceiling: plain smtplib, one connection, pre-rendered: {ceiling_rate:,.0f} emails/s")
    for run in result["drains"]:
        per_worker = run["emails_per_s"] / run["workers"]
        print(
            f"  {run['workers']} worker(s): {run['seconds']:.1f} s; steps {run['steps_per_s']:,.0f}/s;"
            f" emails rendered and sent {run['emails_per_s']:,.0f}/s ({per_worker:,.0f}/s per worker,"
            f" {per_worker / ceiling_rate:.0%} of the ceiling); worker CPU (with its couriers)"
            f" {run['worker_cpu_s']:.0f} s;"
            f" outbox {run['statuses']}"
        )
        if run.get("send_phase_emails_per_s"):
            print(
                f"    once the steps were done: {run['send_phase_emails_per_s']:,.0f} emails/s"
                f" ({run['send_phase_emails_per_s'] / run['workers'] / ceiling_rate:.0%} of the"
                " ceiling per worker)"
            )
        if run.get("steady_sent"):
            print(
                f"    steady {run['steady_rate']}/s due: {run['steady_sent']:,}/{run['steady_expected']:,} sent;"
                f" due-to-sent p50 {run['due_to_sent_p50']:.2f} s, p99 {run['due_to_sent_p99']:.2f} s,"
                f" max {run['due_to_sent_max']:.2f} s"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", default=PG_DEFAULT)
    parser.add_argument(
        "--steady-rate",
        type=int,
        default=0,
        help="steps due per second in phase 3 (0: half the 1-worker drain, measured)",
    )
    parser.add_argument("--steady-seconds", type=int, default=30)
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one database
    args = parser.parse_args()
    if args.one:
        args.database = args.one
        print(json.dumps(run_database(args), default=str))
        return
    for database in args.databases:
        data_dir = Path(tempfile.mkdtemp(prefix="aftercart-bench-flows-"))
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "aftercart.settings",
            "AFTERCART_DATA_DIR": str(data_dir),
            "SECRET_KEY": "bench-flows",
            "EMAIL_URL": "smtp://127.0.0.1:1",  # the drain sets the sink's port
        }
        env.pop("DATABASE_URL", None)
        if database == "postgres":
            fresh_postgres(args.postgres_url)
            env["DATABASE_URL"] = args.postgres_url
        print(f"-- {database}", file=sys.stderr)
        cmd = [
            sys.executable,
            __file__,
            "--one",
            database,
            "--orders",
            str(args.orders),
            "--workers",
            *map(str, args.workers),
            "--steady-rate",
            str(args.steady_rate),
            "--steady-seconds",
            str(args.steady_seconds),
            "--timeout",
            str(args.timeout),
        ]
        out = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True)
        report(json.loads(out.stdout.strip().splitlines()[-1]))
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
