"""Webhooks go to the public internet only: no requests into the server's own network."""

import pytest

from aftercart.webhooks.models import Delivery
from aftercart.webhooks.services import InvalidEndpoint, create_endpoint, send_due, send_event

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:8000/hooks", "127.0.0.1"),
        ("http://localhost/hooks", "private, local or reserved"),
        ("http://10.0.0.5/hooks", "10.0.0.5"),
        ("http://192.168.1.20/hooks", "192.168.1.20"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/hooks", "::1"),
        ("http://[::ffff:127.0.0.1]/hooks", "::ffff:127.0.0.1"),
        ("http://0.0.0.0/hooks", "0.0.0.0"),
        ("ftp://example.com/hooks", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://example.com:99999/hooks", "port"),
        ("https:///hooks", "host name"),
    ],
)
def test_a_url_into_our_own_network_is_refused_with_the_reason(shop, url, said):
    with pytest.raises(InvalidEndpoint) as refused:
        create_endpoint(shop, url, "*")
    assert said in refused.value.problems["url"]


def test_a_public_address_is_accepted(shop):
    endpoint = create_endpoint(shop, "https://93.184.215.14/hooks", "order.*")
    assert endpoint.url == "https://93.184.215.14/hooks"


def test_the_address_is_checked_again_when_sending(shop, receiver, settings):
    endpoint = create_endpoint(shop, receiver.url, "*")  # allowed while the setting says so
    settings.AFTERCART_WEBHOOKS_ALLOW_PRIVATE = False
    send_event(shop, "order.placed", {})
    assert send_due()["failed"] == 1
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert "private, local or reserved" in delivery.error
    assert receiver.requests == []


def test_both_problems_are_named_at_once(shop):
    with pytest.raises(InvalidEndpoint) as refused:
        create_endpoint(shop, "http://127.0.0.1/", "order placed")
    assert set(refused.value.problems) == {"url", "event_types"}
