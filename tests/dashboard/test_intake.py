"""The intake page: recent deliveries, failed ones highlighted."""

from aftercart.integrations import intake
from aftercart.integrations.models import Delivery
from tests.conftest import load


def test_intake_lists_deliveries_and_highlights_failures(
    staff_client, shop, other_shop, shopify, drain
):
    assert (
        shopify(
            shop, "orders/create", load("shopify/orders_create.json"), event_id="e1"
        ).status_code
        == 200
    )
    intake.store_delivery(
        shop,
        source="shopify",
        topic="orders/updated",
        event_id="e2",
        body='{"id": 1, "broken',
        intake=intake.Intake("order:1", None, apply=lambda shop: None),
    )
    intake.store_delivery(
        other_shop,
        source="shopify",
        topic="refunds/create",
        event_id="elsewhere",
        body="{}",
        intake=None,
    )
    drain()

    page = staff_client.get(f"/shops/{shop.slug}/intake/").content.decode()
    assert "orders/create" in page and "orders/updated" in page
    assert "refunds/create" not in page  # another shop's delivery
    failed_row = page[page.index('class="row-failed"') :]
    assert "orders/updated" in failed_row[: failed_row.index("</tr>")]
    assert "malformed JSON" in failed_row

    only_failed = staff_client.get(f"/shops/{shop.slug}/intake/", {"status": "failed"}).content
    assert b"orders/updated" in only_failed and b"orders/create" not in only_failed


def test_failed_deliveries_can_be_applied_again(staff_client, shop, other_shop):
    for s, event_id in [(shop, "mine"), (other_shop, "theirs")]:
        intake.store_delivery(
            s,
            source="shopify",
            topic="orders/updated",
            event_id=event_id,
            body="{broken",
            intake=intake.Intake("order:1", None, apply=lambda shop: None),
        )
    intake.drain()
    page = staff_client.get(f"/shops/{shop.slug}/intake/").content.decode()
    assert "Apply failed deliveries again" in page

    assert staff_client.get(f"/shops/{shop.slug}/intake/retry/").status_code == 405
    response = staff_client.post(f"/shops/{shop.slug}/intake/retry/", follow=True)
    assert "1 failed delivery will be applied again." in response.content.decode()
    statuses = dict(Delivery.objects.values_list("event_id", "status"))
    assert statuses == {"mine": "pending", "theirs": "failed"}  # the other shop's stays put
    assert staff_client.post(f"/shops/{other_shop.slug}/intake/retry/").status_code == 404
