"""`aftercart demo`: a year of a coffee shop's orders, a login, and a server that answers."""

import os
import re
import signal
import socket
import stat
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.utils import timezone

from aftercart.core.models import Shop
from aftercart.customers.models import Customer
from aftercart.demo import run_demo
from aftercart.demo.generator import plan_orders
from aftercart.flows.models import Enrolment
from aftercart.messaging.models import Message
from aftercart.orders.models import Order, OrderEvent, Product, Refund, Shipment, Variant
from aftercart.returns.models import ReturnRequest
from aftercart.support.models import Ticket

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Shop,
            Product,
            Variant,
            Customer,
            Order,
            Shipment,
            Refund,
            OrderEvent,
            get_user_model(),
        )
    }


def _credentials(text: str) -> tuple[str, str]:
    username = re.search(r"Username:\s+(\S+)", text).group(1)
    password = re.search(r"Password:\s+(\S+)", text).group(1)
    return username, password


@pytest.mark.django_db
def test_demo_builds_a_year_of_a_coffee_shop_once(settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    now = timezone.now()

    assert run_demo(serve=False, orders=300) == 0

    shop = Shop.objects.get(slug="demo")
    assert (shop.name, shop.currency, shop.locale, shop.timezone) == (
        "Koffiebar Noord",
        "EUR",
        "nl",
        "Europe/Amsterdam",
    )
    products = Product.objects.filter(shop=shop)
    assert products.count() >= 40
    assert len(set(products.values_list("category", flat=True))) == 5
    beans = products.filter(category="Koffiebonen")
    assert beans.exists() and all(p.consumable and p.reorder_interval_days == 30 for p in beans)
    assert products.filter(consumable=False).exists()

    orders = Order.objects.filter(shop=shop, source="demo")
    assert orders.count() == 300
    placed = sorted(orders.values_list("placed_at", flat=True))
    assert placed[0] >= now - timedelta(days=366) and placed[-1] <= timezone.now()
    per_customer = Counter(orders.values_list("customer_id", flat=True))
    repeat_share = sum(1 for n in per_customer.values() if n >= 2) / len(per_customer)
    assert 0.20 <= repeat_share <= 0.30

    delivered = orders.filter(fulfilment_status=Order.Fulfilment.DELIVERED)
    assert delivered.count() >= 0.8 * 300
    shipment = Shipment.objects.filter(order__shop=shop, status="delivered").first()
    assert shipment.carrier in {"PostNL", "DHL", "DPD"} and shipment.tracking_number
    assert timedelta(hours=12) < shipment.delivered_at - shipment.shipped_at < timedelta(days=9)
    events = set(shipment.order.events.values_list("type", flat=True))
    assert {"placed", "paid", "shipped", "delivered"} <= events

    cancelled = orders.filter(cancelled_at__isnull=False)
    assert 1 <= cancelled.count() <= 15
    assert all(o.financial_status == "refunded" for o in cancelled)
    refunded = orders.filter(cancelled_at__isnull=True, refunded__gt=0)
    assert 5 <= refunded.count() <= 30
    assert refunded.filter(financial_status="partially_refunded").exists()
    assert any("WELCOME10" in codes for codes in orders.values_list("discount_codes", flat=True))
    assert set(orders.values_list("shipping_country", flat=True)) == {"NL", "BE", "DE"}
    customers = Customer.objects.filter(shop=shop)
    assert 0.5 <= customers.filter(accepts_marketing=True).count() / customers.count() <= 0.7
    # The most recent orders went through the default loop: their emails are in the outbox,
    # rendered; what comes days after delivery waits its turn.
    emails = Message.objects.filter(shop=shop)
    assert emails.filter(kind="order_confirmation", status="sent").count() == 30
    assert emails.filter(kind="shipping_notification", status="sent").exists()
    assert "{{" not in emails.filter(status="sent").first().html
    waiting = Enrolment.objects.filter(shop=shop, status="active", waiting=True)
    assert waiting.filter(flow__key="after-delivery").exists()
    # This week's returns and questions, at their different steps. (Their flow emails go
    # out on commit, which this test's transaction never does: tests/portal has them.)
    statuses = set(ReturnRequest.objects.filter(shop=shop).values_list("status", flat=True))
    assert {"approved", "in_transit", "received", "completed"} <= statuses
    tickets = Ticket.objects.filter(shop=shop)
    assert tickets.count() == 4 and tickets.filter(status="resolved", rating__score=5).exists()
    assert emails.filter(kind="ticket_acknowledgement", status="sent").count() == 4

    first_output = capsys.readouterr().out
    username, password = _credentials(first_output)
    assert authenticate(username=username, password=password) is not None
    login_file = tmp_path / "demo-login.txt"
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    assert password in login_file.read_text()
    assert "http://127.0.0.1:8000/" in first_output

    before = _counts()
    assert run_demo(serve=False, orders=300, port=8123) == 0
    second_output = capsys.readouterr().out
    assert _counts() == before
    assert "reusing" in second_output
    assert _credentials(second_output) == (username, password)
    assert "http://127.0.0.1:8123/" in second_output


def test_the_plan_is_the_same_every_time_and_follows_the_shops_week_and_year():
    # A fixed moment, so the year looked at holds one whole December whenever this runs.
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    plan = plan_orders(3000, now)
    again = plan_orders(3000, now)
    assert [(o.number, o.email, o.total, o.placed_at) for o in plan] == [
        (o.number, o.email, o.total, o.placed_at) for o in again
    ]
    assert [o.number for o in plan[:2]] == ["#1001", "#1002"]
    assert all(a.placed_at <= b.placed_at for a, b in zip(plan, plan[1:], strict=False))

    local = [o.placed_at.astimezone(AMSTERDAM) for o in plan]
    weekdays = Counter(t.weekday() for t in local)
    assert weekdays[6] + weekdays[0] > 1.4 * (weekdays[4] + weekdays[5])  # Sun+Mon vs Fri+Sat
    evenings = sum(1 for t in local if 19 <= t.hour < 23)
    assert evenings > 0.3 * len(local)
    months = Counter(t.month for t in local if t < local[-1] - timedelta(days=31))
    assert months[12] == max(months.values())

    per_customer = Counter(o.email for o in plan)
    assert 0.2 <= sum(1 for n in per_customer.values() if n > 1) / len(per_customer) <= 0.3
    # Coffee drinkers come back when the beans run out: about a month later.
    last_beans: dict[str, object] = {}
    gaps = []
    for order in plan:
        beans = {ln.product_external_id for ln in order.lines if ln.category == "Koffiebonen"}
        previous = last_beans.get(order.email)
        if previous and beans & previous[1]:
            gaps.append((order.placed_at - previous[0]).days)
        if beans:
            last_beans[order.email] = (order.placed_at, beans)
    assert len(gaps) > 200
    assert 24 <= statistics.median(gaps) <= 42
    codes = Counter(code for o in plan for code in o.discount_codes)
    assert codes["WELCOME10"] > 100
    for order in plan:
        assert order.total == order.subtotal + order.shipping
        assert sum(ln.unit_price * ln.quantity - ln.discount for ln in order.lines) == (
            order.subtotal
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_demo_command_serves_a_dashboard_you_can_log_in_to(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AFTERCART_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "AFTERCART_BASE_URL"):
        env.pop(name, None)  # the product's own settings, on SQLite, as a user runs it
    log_path = tmp_path / "demo.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aftercart.cli", "demo", "--orders", "200", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"demo stopped early:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"no answer in 90 s:\n{log_path.read_text()}"
            try:
                if httpx.get(f"{base}/login/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)

        username, password = _credentials(log_path.read_text())
        with httpx.Client(base_url=base, timeout=10) as client:
            page = client.get("/login/")
            token = client.cookies["csrftoken"]
            assert 'name="csrfmiddlewaretoken"' in page.text
            stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', page.text)
            answer = client.post(
                "/login/",
                data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            )
            assert answer.status_code == 302, answer.text
            dashboard = client.get("/", follow_redirects=True)
            assert dashboard.status_code == 200
            assert not dashboard.url.path.startswith("/login/")
            assert "Koffiebar Noord" in dashboard.text
            for href in stylesheets or ["/static/admin/css/base.css"]:
                static = client.get(href)
                assert static.status_code == 200 and "text/css" in static.headers["content-type"]
            assert client.get("/api/v1/docs").status_code == 200
            # An order's link to the customer's page points at this server, on its port.
            order = re.search(r'href="(/shops/demo/orders/\d+/)"', dashboard.text).group(1)
            link = re.search(r'href="([^"]*/o/[^"]+)"', client.get(order).text).group(1)
            assert link.startswith(f"{base}/o/")
            assert client.get(link.removeprefix(base)).status_code == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert code == 0, log_path.read_text()
