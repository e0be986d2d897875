"""Shops, their staff and their API keys."""

import hashlib
import hmac
import secrets
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from aftercart.core.events import publish
from aftercart.core.models import ApiKey, Shop, ShopMembership

KEY_PREFIX = "ac_"


class ShopError(ValueError):
    pass


def _hash_key(secret: str) -> str:
    # The key carries 256 bits of randomness, so a plain SHA-256 is enough: there is
    # nothing to brute-force that a slow hash would protect.
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_shop(
    slug: str,
    *,
    name: str,
    currency: str = "EUR",
    locale: str = "en",
    timezone_name: str = "Europe/Amsterdam",
    **brand,
) -> tuple[Shop, str]:
    """Create a shop and its first API key; returns the key in clear, the only time it exists."""
    if slugify(slug) != slug:
        raise ShopError(f"slug {slug!r} may hold only lowercase letters, digits and hyphens")
    if Shop.objects.filter(slug=slug).exists():
        raise ShopError(f"a shop with slug {slug!r} already exists")
    if len(currency) != 3 or not currency.isalpha():
        raise ShopError(f"currency {currency!r} is not a three-letter ISO code")
    if locale.split("-")[0] not in {"en", "nl"}:
        raise ShopError(f"locale {locale!r} is not supported (en, nl)")
    try:
        zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ShopError(f"time zone {timezone_name!r} is unknown") from None
    shop = Shop.objects.create(
        slug=slug,
        name=name,
        currency=currency.upper(),
        locale=locale,
        timezone=timezone_name,
        sender_name=brand.pop("sender_name", name),
        **brand,
    )
    key = issue_api_key(shop)
    publish("shop.created", shop.id)
    return shop, key


def issue_api_key(shop: Shop, name: str = "default") -> str:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    full = f"{KEY_PREFIX}{prefix}_{secret}"
    ApiKey.objects.create(shop=shop, name=name, prefix=prefix, key_hash=_hash_key(full))
    return full


def shop_for_api_key(presented: str) -> Shop | None:
    """The shop a key belongs to, or None for an unknown, malformed or revoked key."""
    if not presented.startswith(KEY_PREFIX):
        return None
    prefix = presented[len(KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("shop").filter(prefix=prefix, revoked_at=None).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash_key(presented)):
        return None
    # Touch at most once a minute, so a busy integration does not write on every call.
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.shop


def add_member(shop: Shop, user: AbstractBaseUser, role: str = ShopMembership.Role.OWNER) -> None:
    ShopMembership.objects.get_or_create(shop=shop, user=user, defaults={"role": role})


def _visible_shops(user):
    if not user.is_authenticated:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    return Shop.objects.filter(shopmembership__user=user)


def shops_for_user(user) -> list[Shop]:
    """Superusers see every shop; staff see the shops they belong to."""
    return list(_visible_shops(user))


def shop_for_user(user, slug: str) -> Shop | None:
    """The shop with this slug if the user may see it: one query, on every dashboard page."""
    return _visible_shops(user).filter(slug=slug).first()


def ensure_migrated() -> None:
    """Apply migrations if the database is behind, so every command works on a fresh install."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)


def create_admin(
    username: str, *, email: str = "", password: str | None = None, shop_slugs: list[str] = ()
) -> tuple[str, str]:
    """A dashboard login: superuser when no shop is named, else staff of those shops only."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValueError(f"user {username!r} already exists")
    shops = []
    for slug in shop_slugs:
        shop = Shop.objects.filter(slug=slug).first()
        if shop is None:
            raise ValueError(f"no shop {slug!r}")
        shops.append(shop)
    password = password or secrets.token_urlsafe(12)
    try:
        validate_password(password)
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from None
    with transaction.atomic():
        user = User.objects.create_user(
            username, email=email, password=password, is_staff=True, is_superuser=not shops
        )
        for shop in shops:
            add_member(shop, user)
    return username, password
