"""The merchant adds an endpoint, sees its secret, tests it, reads the log and resends."""

import pytest
from django.test import Client

from aftercart.webhooks.models import Attempt, Delivery, Endpoint
from aftercart.webhooks.services import create_endpoint, send_due, send_event
from tests.dashboard.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, shop):
    client.force_login(make_user("anna", shops=[shop]))
    return client


def test_adding_an_endpoint_shows_its_secret(staff_client, shop, receiver):
    base = f"/shops/{shop.slug}/webhooks"
    assert staff_client.get(f"{base}/new/").status_code == 200
    response = staff_client.post(
        f"{base}/new/",
        {"url": receiver.url, "description": "ERP", "events": ["order.*", "shipment.delivered"]},
        follow=True,
    )
    endpoint = Endpoint.objects.get(shop=shop)
    assert endpoint.event_types == ["order.*", "shipment.delivered"]
    html = response.content.decode()
    assert endpoint.signing_secret in html and "Copy its signing secret" in html
    listing = staff_client.get(f"{base}/").content.decode()
    assert receiver.url in listing and "ERP" in listing


def test_a_refused_url_is_said_next_to_the_field_and_nothing_is_saved(staff_client, shop):
    response = staff_client.post(
        f"/shops/{shop.slug}/webhooks/new/",
        {"url": "http://169.254.169.254/", "events": [], "more": "order.*"},
    )
    assert response.status_code == 400
    assert "public internet only" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_editing_keeps_types_not_offered_as_checkboxes(staff_client, shop, endpoint, receiver):
    url = f"/shops/{shop.slug}/webhooks/{endpoint.pk}/edit/"
    staff_client.post(url, {"url": receiver.url, "events": ["*"], "more": "flow.custom_step"})
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["*", "flow.custom_step"]
    assert 'value="flow.custom_step"' in staff_client.get(url).content.decode()


def test_a_test_event_is_sent_at_once_and_lands_in_the_log(staff_client, shop, endpoint, receiver):
    response = staff_client.post(f"/shops/{shop.slug}/webhooks/{endpoint.pk}/test/", follow=True)
    html = response.content.decode()
    assert "Delivered: HTTP 200" in html and "webhook.test" in html
    assert receiver.requests[0].json()["type"] == "webhook.test"


def test_the_log_filters_by_status_and_shows_payload_response_and_attempts(
    staff_client, shop, endpoint, receiver
):
    receiver.answer(500, b"stock service unavailable")
    [failing] = send_event(shop, "order.cancelled", {"reason": "out of stock"})
    send_due()
    [fine] = send_event(shop, "order.paid", {})
    send_due()
    base = f"/shops/{shop.slug}/webhooks/{endpoint.pk}/"
    failed = staff_client.get(base + "?status=failed").content.decode()
    assert "order.cancelled" in failed and "order.paid" not in failed
    assert "order.paid" in staff_client.get(base + "?status=succeeded").content.decode()

    page = staff_client.get(f"{base}deliveries/{failing.pk}/").content.decode()
    assert "out of stock" in page  # the payload
    assert "stock service unavailable" in page and "HTTP 500" in page  # the response
    assert failing.message_id in page


def test_resend_is_a_new_attempt_and_the_log_keeps_the_old_one(
    staff_client, shop, endpoint, receiver
):
    receiver.answer(500)
    [delivery] = send_event(shop, "order.paid", {})
    send_due()
    url = f"/shops/{shop.slug}/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/"
    assert staff_client.get(url + "resend/").status_code == 405
    page = staff_client.post(url + "resend/", follow=True).content.decode()
    assert "Delivered: HTTP 200" in page and "by hand" in page
    assert list(
        Attempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)
    ) == [
        500,
        200,
    ]


def test_rotate_switch_off_and_delete(staff_client, shop, endpoint):
    base = f"/shops/{shop.slug}/webhooks/{endpoint.pk}/"
    old = endpoint.signing_secret
    staff_client.post(base + "secret/")
    endpoint.refresh_from_db()
    assert endpoint.signing_secret != old

    staff_client.post(base + "status/", {"active": "no"})
    endpoint.refresh_from_db()
    assert not endpoint.active and "anna" in endpoint.disabled_reason
    assert "This endpoint is off" in staff_client.get(base).content.decode()

    assert "Delete endpoint" in staff_client.get(base + "delete/").content.decode()
    staff_client.post(base + "delete/")
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_another_shops_staff_get_404_everywhere(shop, other_shop, endpoint):
    [delivery] = send_event(shop, "order.paid", {})
    stranger = Client()
    stranger.force_login(make_user("tom", shops=[other_shop]))
    base = f"/shops/{shop.slug}/webhooks/"
    for path in [
        "",
        "new/",
        f"{endpoint.pk}/",
        f"{endpoint.pk}/edit/",
        f"{endpoint.pk}/delete/",
        f"{endpoint.pk}/deliveries/{delivery.pk}/",
    ]:
        assert stranger.get(base + path).status_code == 404, path
    for path in ["status/", "secret/", "test/", "delete/", f"deliveries/{delivery.pk}/resend/"]:
        assert stranger.post(f"{base}{endpoint.pk}/{path}").status_code == 404, path
    # Under their own shop, another shop's ids are not found either.
    own = f"/shops/{other_shop.slug}/webhooks/{endpoint.pk}/"
    assert stranger.get(own).status_code == 404
    assert stranger.post(own + "test/").status_code == 404
    assert Delivery.objects.count() == 1 and Endpoint.objects.get().active


def test_pages_need_a_login_and_posts_need_csrf(shop, endpoint):
    anonymous = Client()
    response = anonymous.get(f"/shops/{shop.slug}/webhooks/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    careful = Client(enforce_csrf_checks=True)
    careful.force_login(make_user("anna", shops=[shop]))
    assert careful.post(f"/shops/{shop.slug}/webhooks/{endpoint.pk}/delete/").status_code == 403
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()


def test_the_list_shows_the_recent_success_rate(staff_client, shop, endpoint, receiver):
    other = create_endpoint(shop, receiver.url + "/b", "customer.*")
    receiver.answer(500)
    for _ in range(4):
        send_event(shop, "order.paid", {})
    send_due()
    html = staff_client.get(f"/shops/{shop.slug}/webhooks/").content.decode()
    assert "75% of 4" in html
    assert other.url in html


@pytest.mark.parametrize(
    "path",
    [
        "endpoint/",
        "endpoint/add/",
        "endpoint/{e}/change/",
        "delivery/",
        "delivery/{d}/change/",
        "attempt/",
    ],
)
def test_the_admin_shows_endpoints_and_deliveries_but_not_the_secret(
    client, shop, endpoint, receiver, path
):
    [delivery] = send_event(shop, "order.paid", {})
    send_due()
    client.force_login(make_user("root", superuser=True))
    response = client.get("/admin/webhooks/" + path.format(e=endpoint.pk, d=delivery.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert endpoint.signing_secret not in html and endpoint.secret not in html


def test_the_admin_refuses_a_private_url(client, shop, settings):
    client.force_login(make_user("root", superuser=True))
    response = client.post(
        "/admin/webhooks/endpoint/add/",
        {"shop": shop.pk, "url": "http://10.1.2.3/", "event_types": '["*"]', "active": "on"},
    )
    assert response.status_code == 200 and "public internet only" in response.content.decode()
    assert not Endpoint.objects.exists()
