"""`aftercart demo`: one command from nothing to a running shop with a year of history.

First run: create and migrate the database, create the demo shop with its catalogue and
a year of orders, create a login. Every run: print the login and serve. A second run
finds the demo shop and reuses everything.
"""

import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from aftercart.core.models import Shop
from aftercart.core.money import format_money
from aftercart.core.services import add_member, create_admin, create_shop, issue_api_key
from aftercart.core.services import shop_for_api_key as _shop_for_key
from aftercart.customers.models import Customer
from aftercart.demo.catalogue import create_catalogue
from aftercart.demo.generator import SOURCE, plan_orders, record_orders
from aftercart.orders.models import Order, OrderEvent

DEMO_SLUG = "demo"
UNFINISHED_SLUG = "demo-unfinished"
BATCH = 200
USERNAME = "demo"
LOGIN_FILE = "demo-login.txt"
SHOP = {
    "name": "Koffiebar Noord",
    "currency": "EUR",
    "locale": "nl",
    "timezone_name": "Europe/Amsterdam",
    "brand_colour": "#7a4a2a",
    "sender_name": "Koffiebar Noord",
    "sender_email": "hallo@koffiebarnoord.example",
    "reply_to": "klantenservice@koffiebarnoord.example",
}
ADMIN_EMAIL = "demo@koffiebarnoord.example"


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
    )


class _Migrate(MigrateCommand):
    """Django's migrate, reporting each applied migration to a progress bar."""

    on_applied = staticmethod(lambda: None)

    def migration_progress_callback(self, action, migration=None, fake=False):
        if action == "apply_success":
            self.on_applied()


def migrate(console: Console) -> None:
    """Create or upgrade the tables, with a progress bar when there is something to do."""
    from django.db.migrations.executor import MigrationExecutor

    db = settings.DATABASES["default"]
    where = db["NAME"] if connection.vendor == "sqlite" else f"{connection.vendor} {db['NAME']}"
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        console.print(f"Database [bold]{where}[/] is up to date.")
        return
    fresh = "django_migrations" not in connection.introspection.table_names()
    command = _Migrate()
    with _progress(console) as progress:
        task = progress.add_task(
            "Creating the database" if fresh else "Upgrading the database", total=len(plan)
        )
        command.on_applied = lambda: progress.advance(task)
        call_command(command, interactive=False, verbosity=0)
    console.print(f"Database [bold]{where}[/] is ready ({len(plan)} migrations applied).")


def build_demo_shop(console: Console, orders: int, now: datetime) -> tuple[Shop, str]:
    """The demo shop, its catalogue and a year of orders.

    Orders are recorded in batches (a transaction each: far quicker than one for all, and
    the services' catalogue cache fills once a batch commits). The shop is built under a
    working slug and takes its real one in the last transaction, so an interrupted first
    run never leaves a half-filled demo shop: the next run starts over.
    """
    Shop.objects.filter(slug=UNFINISHED_SLUG).delete()
    shop, api_key = create_shop(UNFINISHED_SLUG, **SHOP)
    products = create_catalogue(shop)
    console.print(f"Created shop [bold]{shop.name}[/] with {products} products.")
    started = time.monotonic()
    with console.status("Planning a year of orders ..."):
        plan = plan_orders(orders, now)
    with _progress(console) as progress:
        task = progress.add_task("Recording orders", total=len(plan))
        for i in range(0, len(plan), BATCH):
            with transaction.atomic():
                record_orders(shop, plan[i : i + BATCH], lambda n: progress.advance(task, n))
    with transaction.atomic():
        _backdate(shop)
        Shop.objects.filter(pk=shop.pk).update(slug=DEMO_SLUG)
    shop.refresh_from_db()
    console.print(f"Recorded {len(plan)} orders in {time.monotonic() - started:.1f} s.")
    with console.status("Running the post-purchase loop for the last orders ..."):
        played = play_recent_loop(shop)
    console.print(f"Ran the loop for the {played} most recent orders: see Emails in the dashboard.")
    with console.status("Returns and questions from this week's customers ..."):
        care = play_care(shop)
    console.print(
        f"{care['returns']} returns and {care['tickets']} customer questions came in: see "
        "Returns and Customer care."
    )
    return shop, api_key


def play_care(shop: Shop) -> dict[str, int]:
    from aftercart.demo.care import play_care as play
    from aftercart.flows.services import run_due
    from aftercart.messaging.services import send_due

    done = play(shop)
    run_due()  # their emails: return confirmations, acknowledgements, replies
    send_due()
    return done


def play_recent_loop(shop: Shop, orders: int = 30) -> int:
    """The year of history was recorded quietly (no emails for old orders); the most recent
    orders go through the default loop as if they had just happened, so the outbox shows
    confirmations, shipping mails and the check-ins and review requests waiting their turn.
    """
    from aftercart.core.events import DomainEvent
    from aftercart.flows.services import install_default_loop, on_event, run_due
    from aftercart.messaging.services import send_due

    install_default_loop(shop)  # a no-op when the shop has its loop already

    recent = list(
        Order.objects.filter(shop=shop, customer__isnull=False)
        .order_by("-placed_at")
        .prefetch_related("shipments")[:orders]
    )
    for order in reversed(recent):
        on_event(DomainEvent("order.placed", shop.id, {"order_id": order.pk}))
        for shipment in order.shipments.all():
            ids = {"order_id": order.pk, "shipment_id": shipment.pk}
            on_event(DomainEvent("shipment.created", shop.id, ids))
            if shipment.delivered_at:
                on_event(DomainEvent("shipment.delivered", shop.id, ids))
        if order.fulfilment_status == Order.Fulfilment.DELIVERED:
            on_event(DomainEvent("order.delivered", shop.id, {"order_id": order.pk}))
    run_due()
    send_due()
    return len(recent)


def _backdate(shop: Shop) -> None:
    # The demo plays a year that already happened: customers and orders were "first seen"
    # when they ordered, not when this command ran, so charts of new customers look real.
    first_order = (
        Order.objects.filter(customer=OuterRef("pk")).order_by("placed_at").values("placed_at")[:1]
    )
    Customer.objects.filter(shop=shop).update(created_at=Subquery(first_order))
    Order.objects.filter(shop=shop).update(created_at=F("placed_at"))
    OrderEvent.objects.filter(shop=shop).update(recorded_at=F("occurred_at"))


def summary(shop: Shop) -> dict:
    orders = Order.objects.filter(shop=shop)
    customers = Customer.objects.filter(shop=shop).annotate(n=Count("orders"))
    buyers = customers.filter(n__gte=1).count()
    money = orders.aggregate(total=Sum("total"), refunded=Sum("refunded"))
    return {
        "orders": orders.count(),
        "customers": buyers,
        "repeat_customers": customers.filter(n__gte=2).count(),
        "marketing_consent": customers.filter(accepts_marketing=True).count(),
        "delivered": orders.filter(fulfilment_status=Order.Fulfilment.DELIVERED).count(),
        "shipped": orders.filter(shipments__isnull=False).distinct().count(),
        "cancelled": orders.filter(cancelled_at__isnull=False).count(),
        "refunded": orders.filter(~Q(refunded=0), cancelled_at__isnull=True).count(),
        "revenue": (money["total"] or 0) - (money["refunded"] or 0),
    }


def _show_summary(console: Console, shop: Shop) -> None:
    s = summary(shop)
    n, people = max(s["orders"], 1), max(s["customers"], 1)
    span = Order.objects.filter(shop=shop).aggregate(first=Min("placed_at"), last=Max("placed_at"))
    table = Table(title=shop.name, show_header=False, box=None)
    period = "–"
    if span["first"]:
        ends = [timezone.localtime(span[k], ZoneInfo(shop.timezone)) for k in ("first", "last")]
        period = " – ".join(f"{d.day} {d:%b %Y}" for d in ends)
    rows = (
        ("Orders placed", period),
        ("Orders", f"{s['orders']}"),
        ("Net revenue", format_money(s["revenue"], shop.currency)),
        ("Customers", f"{s['customers']}"),
        (
            "Came back (2+ orders)",
            f"{s['repeat_customers']} ({s['repeat_customers'] / people:.0%})",
        ),
        ("Marketing opt-in", f"{s['marketing_consent']} ({s['marketing_consent'] / people:.0%})"),
        ("Shipped / delivered", f"{s['shipped'] / n:.0%} / {s['delivered'] / n:.0%}"),
        ("Cancelled / refunded", f"{s['cancelled'] / n:.1%} / {s['refunded'] / n:.1%}"),
    )
    for label, value in rows:
        table.add_row(f"  {label}", value)
    console.print(table)


@dataclass
class Login:
    username: str
    password: str
    api_key: str
    path: Path


def _read_login(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.startswith("#")}


def _write_login(login: Login) -> None:
    login.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(login.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(login.path, 0o600)  # it may have existed with wider permissions
    with os.fdopen(fd, "w") as fh:
        fh.write(
            "# The Aftercart demo's login, written by `aftercart demo`. Keep it private.\n"
            f"username: {login.username}\npassword: {login.password}\napi_key: {login.api_key}\n"
        )


def ensure_login(shop: Shop, api_key: str | None = None) -> Login:
    """The demo's dashboard login and API key: the stored ones if they still work, else new ones."""
    path = Path(settings.DATA_DIR) / LOGIN_FILE
    stored = _read_login(path)
    user = get_user_model().objects.filter(username=USERNAME).first()
    password = stored.get("password", "")
    if user is None:
        _, password = create_admin(USERNAME, email=ADMIN_EMAIL)
        user = get_user_model().objects.get(username=USERNAME)
    elif not (password and user.check_password(password)):
        if user.email != ADMIN_EMAIL:
            raise SystemExit(
                f"aftercart: error: a user {USERNAME!r} exists that the demo did not create"
            )
        # The saved password is gone (data dir copied, file deleted): give the demo a new one.
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
    add_member(shop, user)
    if not api_key:
        api_key = stored.get("api_key", "")
        if not api_key or _shop_for_key(api_key) != shop:
            api_key = issue_api_key(shop, name="demo")
    login = Login(USERNAME, password, api_key, path)
    if stored != {"username": USERNAME, "password": password, "api_key": api_key}:
        _write_login(login)
    return login


def _show_login(console: Console, login: Login, host: str, port: int) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    url = f"http://{shown}:{port}/"
    console.print(
        Panel.fit(
            f"Dashboard: [bold]{url}[/]\n"
            f"Username:  [bold]{login.username}[/]\n"
            f"Password:  [bold]{login.password}[/]\n"
            f"API key:   {login.api_key}\n"
            f"API docs:  {url}api/v1/docs",
            title="Log in",
            border_style="green",
        )
    )
    console.print(f"[dim]The login is saved in {login.path}[/]", soft_wrap=True)


def run_demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    serve: bool = True,
    orders: int = 3000,
    *,
    now: datetime | None = None,
) -> int:
    console = Console(highlight=False)
    console.rule("[bold]Aftercart demo")
    migrate(console)
    shop = Shop.objects.filter(slug=DEMO_SLUG).first()
    api_key = None
    if shop is None:
        try:
            shop, api_key = build_demo_shop(console, max(orders, 0), now or timezone.now())
        except KeyboardInterrupt:
            console.print("Interrupted. The next `aftercart demo` starts the demo shop over.")
            return 130
    elif Order.objects.filter(shop=shop, source=SOURCE).exists():
        console.print(f"Found the demo shop [bold]{shop.name}[/]: reusing its data.")
    else:
        console.print(f"A shop {DEMO_SLUG!r} exists without demo orders: using it as it is.")
    _show_summary(console, shop)
    _show_login(console, ensure_login(shop, api_key), host, port)
    if not serve:
        return 0
    from aftercart.server import serve as run_server

    return run_server(host=host, port=port)
