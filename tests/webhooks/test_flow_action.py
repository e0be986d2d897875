"""A flow step that calls the shop's outgoing webhooks, and the email events they carry."""

import pytest

from aftercart.flows.definitions import DefinitionError, parse
from aftercart.flows.models import Enrolment
from aftercart.flows.services import run_due, save_flow
from aftercart.messaging.services import send_due as send_mail
from aftercart.webhooks.services import create_endpoint
from aftercart.webhooks.services import send_due as send_webhooks
from tests.flows.test_loop import place

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_flow_step_sends_its_own_event_to_the_endpoints_that_want_it(shop, receiver):
    create_endpoint(shop, receiver.url, "flow.*", "the CRM")
    save_flow(
        shop,
        "vip",
        {
            "name": "Tell the CRM about every order",
            "trigger": "order.placed",
            "steps": [{"action": "webhook", "event": "flow.order_seen"}],
        },
    )
    order = place(shop, "2001")
    run_due()
    send_webhooks()

    [request] = [r for r in receiver.requests if r.json()["type"] == "flow.order_seen"]
    data = request.json()["data"]
    assert data["flow"] == "vip" and data["order_id"] == order.pk
    assert request.headers["webhook-signature"].startswith("v1,")
    enrolment = Enrolment.objects.get(flow__key="vip")
    assert "call the webhooks with flow.order_seen (1 endpoint(s))" in [
        entry["what"] for entry in enrolment.history
    ]


def test_an_email_sent_reaches_a_webhook_as_message_sent(shop, receiver, inbox):
    create_endpoint(shop, receiver.url, "message.*", "the data warehouse")
    place(shop, "2002")
    run_due()
    send_mail()
    send_webhooks()
    sent = [r.json() for r in receiver.requests if r.json()["type"] == "message.sent"]
    assert [event["data"]["kind"] for event in sent] == ["order_confirmation"]
    assert len(inbox.messages) == 1


def test_a_webhook_step_without_a_proper_event_name_is_refused_with_where():
    with pytest.raises(DefinitionError, match=r"steps\[0\]\.event"):
        parse(
            {
                "name": "x",
                "trigger": "order.placed",
                "steps": [{"action": "webhook", "event": "Not An Event"}],
            }
        )
