"""Store connections: the secrets a shop's store platform signs with, and API credentials."""

import base64
import hashlib
import hmac
import time

from django.db import transaction

from aftercart.core.crypto import decrypt, encrypt
from aftercart.core.models import Shop
from aftercart.integrations.models import StoreConnection

Platform = StoreConnection.Platform


class ConnectionError_(ValueError):
    pass


@transaction.atomic
def connect_store(
    shop: Shop,
    platform: str,
    *,
    webhook_secret: str,
    store_url: str = "",
    access_token: str = "",
    consumer_key: str = "",
    consumer_secret: str = "",
) -> StoreConnection:
    """Save (or replace) how a shop's store signs webhooks and how we call its API."""
    if platform not in Platform.values:
        raise ConnectionError_(f"platform {platform!r} is not one of {', '.join(Platform.values)}")
    if not webhook_secret:
        raise ConnectionError_(
            "the webhook secret is required: without it no webhook can be verified"
        )
    if store_url and not store_url.startswith(("http://", "https://")):
        raise ConnectionError_(f"store URL {store_url!r} must start with https://")
    connection, _ = StoreConnection.objects.update_or_create(
        shop=shop,
        platform=platform,
        defaults={
            "webhook_secret": encrypt(webhook_secret),
            "store_url": store_url.rstrip("/"),
            "access_token": encrypt(access_token),
            "consumer_key": encrypt(consumer_key),
            "consumer_secret": encrypt(consumer_secret),
        },
    )
    _secrets.clear()
    return connection


# The shop and its secret are needed on every delivery and looking them up is not free,
# so each process keeps them a few seconds (a changed secret takes effect within SECRET_TTL).
_secrets: dict[tuple[str, str], tuple[float, tuple[Shop | None, str | None]]] = {}
SECRET_TTL = 10.0


def webhook_target(shop_slug: str, platform: str) -> tuple[Shop | None, str | None]:
    """The shop a webhook URL names and the secret its store signs with (None if unknown)."""
    key = (shop_slug, platform)
    hit = _secrets.get(key)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    shop = Shop.objects.filter(slug=shop_slug).first()
    connection = (
        StoreConnection.objects.filter(shop=shop, platform=platform).only("webhook_secret").first()
        if shop
        else None
    )
    target = (shop, decrypt(connection.webhook_secret) if connection else None)
    _secrets[key] = (time.monotonic() + SECRET_TTL, target)
    return target


def signature_matches(secret: str, body: bytes, presented: str | None) -> bool:
    """HMAC-SHA256 of the raw body, base64, compared in constant time (Shopify and WooCommerce alike)."""
    if not presented:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, presented.strip())


def credentials(connection: StoreConnection) -> dict[str, str]:
    return {
        "access_token": decrypt(connection.access_token),
        "consumer_key": decrypt(connection.consumer_key),
        "consumer_secret": decrypt(connection.consumer_secret),
    }


def connections(shop: Shop) -> list[StoreConnection]:
    return list(StoreConnection.objects.filter(shop=shop))
