"""Attempts counted per key in windows every process shares."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from aftercart.core import ratelimit
from aftercart.core.models import RateLimit

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_key_gets_its_limit_per_window_then_starts_again():
    with time_machine.travel(T0, tick=False):
        assert [ratelimit.allow("k", 3, timedelta(hours=1)) for _ in range(5)] == [
            True,
            True,
            True,
            False,
            False,
        ]
        assert ratelimit.allow("other", 3, timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(minutes=59), tick=False):
        assert not ratelimit.allow("k", 3, timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert ratelimit.allow("k", 3, timedelta(hours=1))


def test_keys_name_addresses_by_hash_only_and_old_windows_are_dropped():
    key = ratelimit.private_key("status:1:address", " Anne@Example.com")
    assert key == ratelimit.private_key("status:1:address", "anne@example.com")
    assert "anne" not in key
    with time_machine.travel(T0, tick=False):
        ratelimit.allow(key, 5, timedelta(hours=1))
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        ratelimit.allow("fresh", 5, timedelta(hours=1))
        assert ratelimit.forget_old() == 1
    assert list(RateLimit.objects.values_list("key", flat=True)) == ["fresh"]
