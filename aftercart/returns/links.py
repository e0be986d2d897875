"""Signed links to a return's page and its label: no login, like the order's status page."""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "aftercart.returns.page"
LIFETIME = timedelta(days=365)  # a return can take a while; its page stays hers


def return_token(shop_id: int, return_id: int) -> str:
    return signing.dumps([shop_id, return_id], salt=SALT, compress=True)


def read_return_token(token: str) -> tuple[int, int] | None:
    """(shop id, return id), or None for a token we did not make or that is too old."""
    try:
        shop_id, return_id = signing.loads(token, salt=SALT, max_age=LIFETIME)
        return int(shop_id), int(return_id)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def return_url(shop_id: int, return_id: int) -> str:
    return settings.BASE_URL + reverse("portal:return", args=[return_token(shop_id, return_id)])


def label_url(shop_id: int, return_id: int) -> str:
    token = return_token(shop_id, return_id)
    return settings.BASE_URL + reverse("portal:return_label", args=[token])
