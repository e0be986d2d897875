"""The Django admin: every model is there, secrets are not, and shops stay walled off."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission

from aftercart.integrations.models import StoreConnection
from tests.conftest import SHOPIFY_SECRET
from tests.dashboard.conftest import make_user, place_order


def test_every_model_of_ours_is_registered():
    from django.apps import apps

    ours = ["core", "customers", "orders", "integrations", "messaging", "webhooks"]
    missing = [
        m.__name__
        for label in ours
        for m in apps.get_app_config(label).get_models()
        if m not in admin.site._registry
    ]
    assert missing == []


@pytest.mark.parametrize(
    "model",
    [
        "core/shop",
        "customers/customer",
        "orders/order",
        "orders/orderevent",
        "integrations/delivery",
        "integrations/storeconnection",
        "customers/erasurerecord",
        "core/apikey",
    ],
)
def test_changelists_render_for_a_superuser(client, shop, model):
    place_order(shop, "1001")
    client.force_login(make_user("root", superuser=True))
    assert client.get(f"/admin/{model}/").status_code == 200


def test_store_connection_never_shows_its_secrets(client, shop):
    client.force_login(make_user("root", superuser=True))
    connection = StoreConnection.objects.get(shop=shop, platform="shopify")
    page = client.get(f"/admin/integrations/storeconnection/{connection.pk}/change/").content
    assert connection.webhook_secret.encode() not in page
    assert SHOPIFY_SECRET.encode() not in page
    assert b'name="webhook_secret"' not in page


def test_order_events_and_deliveries_are_read_only(client, shop):
    order = place_order(shop, "1001")
    client.force_login(make_user("root", superuser=True))
    event = order.events.first()
    page = client.get(f"/admin/orders/orderevent/{event.pk}/change/").content
    assert b'type="submit"' not in page or b'name="_save"' not in page
    assert client.get("/admin/orders/orderevent/add/").status_code == 403
    assert client.get("/admin/integrations/delivery/add/").status_code == 403


def test_staff_with_view_permission_see_only_their_shops_rows(client, shop, other_shop):
    place_order(shop, "1001", email="mine@example.com")
    place_order(other_shop, "9001", email="theirs@example.com")
    user = make_user("anna", shops=[shop])
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)
    page = client.get("/admin/orders/order/").content.decode()
    assert "mine@example.com" in page and "theirs@example.com" not in page
