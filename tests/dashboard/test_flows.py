"""Flows in the dashboard: the loop as a diagram, pause, edit as a new version, the inspector."""

import json

import pytest

from aftercart.flows.models import Enrolment, Flow
from aftercart.flows.services import install_default_loop
from aftercart.messaging.services import queue_message, send_due
from tests.messaging.test_outbox import place_order


@pytest.fixture
def loop(shop):
    install_default_loop(shop)
    return {f.key: f for f in Flow.objects.filter(shop=shop)}


def test_the_flows_page_lists_the_default_loop(shop, loop, staff_client):
    page = staff_client.get(f"/shops/{shop.slug}/flows/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Order confirmation" in html and "Win-back after 90 days" in html
    assert "shipment.delivered" in html


def test_a_flow_is_drawn_step_by_step(shop, loop, staff_client):
    flow = loop["after-delivery"]
    html = staff_client.get(f"/shops/{shop.slug}/flows/{flow.pk}/").content.decode()
    assert html.index("wait 3 days, at 10:00") < html.index("send check_in")
    assert html.index("send check_in") < html.index("only if not_refunded")
    assert html.index("only if not_refunded") < html.index("send review_request")
    assert "control group: 10 %" in html
    # The lift report sits on the flow's page; a new shop is told it is too early.
    assert "Too small to tell yet" in html


def test_pausing_stops_new_enrolments(shop, loop, staff_client):
    flow = loop["order-confirmation"]
    staff_client.post(f"/shops/{shop.slug}/flows/{flow.pk}/status/", {"status": "paused"})
    flow.refresh_from_db()
    assert flow.status == Flow.Status.PAUSED
    from aftercart.core.events import DomainEvent
    from aftercart.flows.services import on_event

    order = place_order(shop)
    on_event(DomainEvent("order.placed", shop.id, {"order_id": order.pk}))
    assert not Enrolment.objects.filter(flow=flow).exists()
    staff_client.post(f"/shops/{shop.slug}/flows/{flow.pk}/status/", {"status": "active"})
    flow.refresh_from_db()
    assert flow.status == Flow.Status.ACTIVE


def test_editing_makes_a_new_version_and_a_bad_edit_says_where(shop, loop, staff_client):
    flow = loop["after-delivery"]
    url = f"/shops/{shop.slug}/flows/{flow.pk}/"
    definition = dict(flow.version.definition)
    bad = {**definition, "steps": [{"wait": {"days": "three"}}]}
    answer = staff_client.post(url, {"definition": json.dumps(bad)})
    assert answer.status_code == 400
    assert "steps[0].wait.days" in answer.content.decode()
    broken = staff_client.post(url, {"definition": "{not json"})
    assert broken.status_code == 400 and "Not valid JSON" in broken.content.decode()
    flow.refresh_from_db()
    assert flow.version.number == 1

    good = {**definition, "holdout": 0.2}
    assert staff_client.post(url, {"definition": json.dumps(good)}).status_code == 302
    flow.refresh_from_db()
    assert flow.version.number == 2 and flow.version.definition["holdout"] == 0.2
    exported = staff_client.get(f"{url}export/")
    assert exported["Content-Disposition"] == 'attachment; filename="flow-after-delivery.json"'
    assert json.loads(exported.content)["holdout"] == 0.2


def test_the_inspector_says_why_a_customer_got_no_review_request(shop, staff_client, inbox):
    order = place_order(shop, consent=False)
    queue_message(
        shop, "review_request", customer=order.customer, dedupe_key="r", order_id=order.id
    )
    send_due()
    html = staff_client.get(f"/shops/{shop.slug}/customers/{order.customer_id}/").content.decode()
    assert "Flows and emails" in html
    assert "no recorded consent to marketing mail" in html


def test_another_shops_flow_is_not_found(shop, other_shop, loop, client):
    from tests.dashboard.conftest import make_user

    client.force_login(make_user("other", shops=[other_shop]))
    flow = loop["win-back"]
    assert client.get(f"/shops/{other_shop.slug}/flows/{flow.pk}/").status_code == 404
    assert client.post(f"/shops/{other_shop.slug}/flows/{flow.pk}/status/").status_code == 404
