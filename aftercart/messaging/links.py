"""Signed links in messages: unsubscribe and preferences, without a login.

The token names the shop and the address and is signed with the secret key; it does not
expire, because an unsubscribe link in a year-old email must still work.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "aftercart.messaging.unsubscribe"


def unsubscribe_token(shop_id: int, email: str) -> str:
    return signing.dumps([shop_id, email], salt=SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(shop id, address) from a token, or None when it was not made by us."""
    try:
        shop_id, email = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return int(shop_id), str(email)


def unsubscribe_url(shop_id: int, email: str) -> str:
    return settings.BASE_URL + reverse(
        "portal:unsubscribe", args=[unsubscribe_token(shop_id, email)]
    )


def preferences_url(shop_id: int, email: str) -> str:
    return settings.BASE_URL + reverse(
        "portal:preferences", args=[unsubscribe_token(shop_id, email)]
    )
