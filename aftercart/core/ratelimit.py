"""Counting attempts per key in fixed windows, shared by every process through the database."""

import hashlib
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from aftercart.core.models import RateLimit


def private_key(prefix: str, value: str) -> str:
    """A key naming a person's data (an address) by its hash: the table holds no addresses."""
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:40]
    return f"{prefix}:{digest}"


def allow(key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt for `key`; False once more than `limit` fell in the current window."""
    now = timezone.now()
    with transaction.atomic():
        row, created = RateLimit.objects.select_for_update().get_or_create(
            key=key[:120], defaults={"window_start": now, "hits": 1}
        )
        if created:
            return limit >= 1
        if row.window_start + window <= now:
            row.window_start, row.hits = now, 0
        row.hits += 1
        row.save(update_fields=["window_start", "hits"])
        return row.hits <= limit


def forget_old(older_than: timedelta = timedelta(days=1)) -> int:
    """Windows long over say nothing any more; the maintenance job drops them."""
    return RateLimit.objects.filter(window_start__lt=timezone.now() - older_than).delete()[0]
