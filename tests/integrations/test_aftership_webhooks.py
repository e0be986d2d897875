"""AfterShip's tracking webhook: signature, errors that say where, scans applied once."""

import json
from datetime import UTC, datetime

import pytest

from aftercart.integrations.models import Delivery
from aftercart.integrations.services import connect_store
from aftercart.orders.models import Shipment, TrackingEvent
from aftercart.orders.records import ShipmentData
from aftercart.orders.services import record_shipment
from tests.conftest import sign

SECRET = "aftership-webhook-secret"
NUMBER = "3SABCD1234567"


def update(tag="OutForDelivery", subtag="OutForDelivery_001", event_id="e-1", **msg):
    return {
        "ts": 1795500000,
        "event": "tracking_update",
        "event_id": event_id,
        "is_tracking_first_tag": True,
        "msg": {
            "id": "grhrexm6t3hiwkjwq37jd003",
            "tracking_number": NUMBER,
            "slug": "postnl-3s",
            "tag": tag,
            "subtag": subtag,
            "expected_delivery": "2026-11-23",
            "checkpoints": [
                {
                    "checkpoint_time": "2026-11-22T18:40:00+01:00",
                    "tag": "InTransit",
                    "subtag": "InTransit_007",
                    "message": "Zending is gesorteerd",
                    "location": "Utrecht",
                    "country_iso3": "NLD",
                },
                {
                    "checkpoint_time": "2026-11-23T07:55:00+01:00",
                    "tag": tag,
                    "subtag": subtag,
                    "message": "Bezorger is onderweg",
                    "city": "Amsterdam",
                },
            ],
            **msg,
        },
    }


@pytest.fixture
def aftership(client, shop):
    connect_store(shop, "aftership", webhook_secret=SECRET)

    def post(payload=None, *, raw=None, secret=SECRET, signature=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        return client.post(
            f"/webhooks/aftership/{shop.slug}",
            body,
            content_type="application/json",
            HTTP_AFTERSHIP_HMAC_SHA256=signature if signature is not None else sign(secret, body),
        )

    return post


@pytest.fixture
def shipment(shop):
    record_shipment(
        shop,
        "5001",
        ShipmentData(
            external_id="f1",
            status="in_transit",
            carrier="PostNL",
            tracking_number=NUMBER,
            updated_at=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        ),
        source="shopify",
    )
    return Shipment.objects.get(shop=shop, external_id="f1")


def test_a_signed_update_moves_the_parcel_and_keeps_its_scans(aftership, shipment, drain):
    response = aftership(update())
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "accepted"}
    drain()

    shipment.refresh_from_db()
    assert shipment.status == "out_for_delivery"
    assert list(shipment.tracking_events.values_list("description", "location")) == [
        ("Zending is gesorteerd", "Utrecht, NLD"),
        ("Bezorger is onderweg", "Amsterdam"),
    ]


def test_the_same_event_twice_is_kept_once(aftership, shipment, drain):
    assert aftership(update()).json() == {"status": "accepted"}
    assert aftership(update()).json() == {"status": "duplicate"}
    drain()
    assert TrackingEvent.objects.count() == 2


def test_a_wrong_signature_stores_nothing(aftership, shipment):
    response = aftership(update(), secret="not-the-secret")
    assert response.status_code == 401
    assert "aftership-hmac-sha256" in response.json()["error"]
    assert aftership(update(), signature="").status_code == 401
    assert not Delivery.objects.exists()


def test_malformed_json_says_where(aftership):
    response = aftership(raw=b'{"event": "tracking_update", "msg": {')
    assert response.status_code == 400
    assert "line 1 column" in response.json()["error"]


def test_wrong_fields_are_named(aftership):
    bad = update(tag="Teleported")
    bad["msg"]["checkpoints"][0]["checkpoint_time"] = "yesterday"
    del bad["msg"]["tracking_number"]
    response = aftership(bad)
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["problems"]}
    assert fields == {
        "msg.tracking_number",
        "msg.tag",
        "msg.checkpoints[0].checkpoint_time",
    }
    assert not Delivery.objects.filter(status="pending").exists()


def test_an_event_it_does_not_act_on_is_recorded_and_ignored(aftership):
    response = aftership({"event": "edd_revise", "event_id": "e-9", "msg": {}})
    assert response.status_code == 202
    assert Delivery.objects.get().status == "ignored"


def test_an_unknown_shop_is_404(client, db):
    response = client.post("/webhooks/aftership/nobody", b"{}", content_type="application/json")
    assert response.status_code == 404


def test_scans_sent_again_in_a_later_event_are_kept_once(aftership, shipment, drain):
    first = update(tag="InTransit", subtag="InTransit_007", event_id="e-1")
    first["msg"]["checkpoints"] = first["msg"]["checkpoints"][:1]
    aftership(first)
    drain()
    # AfterShip sends the whole history with every update, under a new event id.
    assert aftership(update(event_id="e-2")).json() == {"status": "accepted"}
    drain()
    shipment.refresh_from_db()
    assert shipment.status == "out_for_delivery"
    assert TrackingEvent.objects.count() == 2
