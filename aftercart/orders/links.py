"""Signed links to an order's status page: no login, no account.

Two kinds, told apart inside the token. The link in every email about the order lasts
long (a customer opens last month's shipping email); the one sent on request from the
lookup form is a key handed out like a password reset, and lasts a day.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "aftercart.orders.status"
MAIL, LOOKUP = "m", "l"
LIFETIME = {MAIL: timedelta(days=180), LOOKUP: timedelta(hours=24)}


class LinkExpired(Exception):
    """Made by us, but too old: the page offers to send a fresh one."""

    def __init__(self, shop_id: int):
        self.shop_id = shop_id


def status_token(shop_id: int, order_id: int, purpose: str = MAIL) -> str:
    return signing.dumps([shop_id, order_id, purpose], salt=SALT, compress=True)


def read_status_token(token: str) -> tuple[int, int] | None:
    """(shop id, order id) from a token; None when we did not make it; LinkExpired when old."""
    try:
        shop_id, order_id, purpose = signing.loads(token, salt=SALT)
        shop_id, order_id = int(shop_id), int(order_id)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if purpose not in LIFETIME:
        return None
    try:
        signing.loads(token, salt=SALT, max_age=LIFETIME[purpose])
    except signing.SignatureExpired:
        raise LinkExpired(shop_id) from None
    return shop_id, order_id


def status_url(shop_id: int, order_id: int, purpose: str = MAIL) -> str:
    token = status_token(shop_id, order_id, purpose)
    return settings.BASE_URL + reverse("portal:order_status", args=[token])
