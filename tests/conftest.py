import base64
import email
import email.policy
import hashlib
import hmac
import json
import os
import shutil
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from aftercart.core.services import create_shop
from aftercart.integrations import intake
from aftercart.integrations.services import connect_store

FIXTURES = Path(__file__).parent / "fixtures"
SHOPIFY_SECRET = "shpss_test_secret_0123456789"
WOO_SECRET = "woo-webhook-secret"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture(autouse=True)
def _empty_cache():
    # Each test makes its shops anew, and ids come round again: no cached answer carries over.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _language_of_its_own():
    # A request activates its language (LocaleMiddleware) and Django leaves it active in
    # the thread: the next test must not start in it.
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _forget_cached_catalogue():
    # Shop and product ids come round again between tests; a remembered id would point at
    # a row another test made (and rolled back).
    from aftercart.orders import services

    services._catalogue_cache.clear()
    yield
    services._catalogue_cache.clear()


@pytest.fixture(autouse=True)
def _forget_cached_webhook_targets():
    # Each test makes its shops anew; a process cache must not carry one test's into the next.
    from aftercart.flows import services as flows
    from aftercart.integrations import services

    services._secrets.clear()
    flows._cache.clear()
    flows._definitions.clear()
    yield
    services._secrets.clear()
    flows._cache.clear()
    flows._definitions.clear()


@pytest.fixture
def after_delivery():
    """Fifteen days after the returns tests' orders were delivered (tests/returns/conftest.py
    order_data): inside their return window, with the clock moving on from there."""
    import time_machine

    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC)):
        yield


@pytest.fixture
def shop(db):
    shop, key = create_shop("roastery", name="De Roasterij", locale="nl")
    shop.api_key = key
    connect_store(
        shop, "shopify", webhook_secret=SHOPIFY_SECRET, store_url="https://roastery.myshopify.com"
    )
    connect_store(
        shop, "woocommerce", webhook_secret=WOO_SECRET, store_url="https://roastery.example"
    )
    return shop


@pytest.fixture
def other_shop(db):
    shop, key = create_shop(
        "teahouse", name="Tea House", currency="GBP", timezone_name="Europe/London"
    )
    shop.api_key = key
    connect_store(shop, "shopify", webhook_secret="another-secret")
    return shop


@pytest.fixture
def shopify(client: Client):
    """POST a Shopify webhook, signed like Shopify signs it."""

    def post(
        shop,
        topic: str,
        payload,
        *,
        event_id: str | None = None,
        secret: str = SHOPIFY_SECRET,
        raw: bytes | None = None,
        signature: str | None = None,
    ):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {
            "HTTP_X_SHOPIFY_TOPIC": topic,
            "HTTP_X_SHOPIFY_HMAC_SHA256": signature
            if signature is not None
            else sign(secret, body),
            "HTTP_X_SHOPIFY_SHOP_DOMAIN": "roastery.myshopify.com",
            "HTTP_X_SHOPIFY_API_VERSION": "2026-10",
        }
        if event_id:
            headers["HTTP_X_SHOPIFY_EVENT_ID"] = event_id
        return client.post(
            f"/webhooks/shopify/{shop.slug}", body, content_type="application/json", **headers
        )

    return post


@pytest.fixture
def drain():
    """Apply what the webhooks stored, as the worker's drain task would."""
    return intake.drain


# A real SMTP server (aiosmtpd) on loopback; Django sends to it over SMTP.
class Inbox:
    """What arrived at the SMTP server: parsed messages, in order."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []  # the envelope's, per message
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.arrived:
            self.recipients.append(list(envelope.rcpt_tos))
            self.messages.append(parsed)
            self.arrived.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def html(message) -> str:
        return message.get_body(("html",)).get_content()

    @staticmethod
    def text(message) -> str:
        return message.get_body(("plain",)).get_content()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(settings):
    box = Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    box.port = port
    yield box
    controller.stop()


# Headless Chromium (Debian's, driven by Playwright) for the pages people use.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 390


ARTIFACTS = Path(os.environ.get("AFTERCART_TEST_ARTIFACTS", "test-artifacts"))


def keep_screenshot(page, name: str) -> Path:
    """A full-page screenshot kept after the run (test-artifacts/, or $AFTERCART_TEST_ARTIFACTS)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / name
    page.screenshot(path=str(target), full_page=True)
    return target
