"""The ticket inbox, a ticket's page, replies with saved replies, settings and CSAT."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercart.orders.records import ShipmentData
from aftercart.orders.services import record_order
from aftercart.support.models import SavedReply, Ticket
from aftercart.support.services import NewTicket, open_ticket, rate, reply
from aftercart.support.sla import stored_settings
from tests.returns.conftest import order_data

pytestmark = pytest.mark.django_db
AMS = ZoneInfo("Europe/Amsterdam")
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=AMS)


def url(shop, path=""):
    return f"/shops/{shop.slug}/tickets/{path}"


@pytest.fixture
def order(shop):
    data = order_data()
    data.shipments = [
        ShipmentData(
            external_id="f1", status="in_transit", carrier="PostNL", tracking_number="3SABCD1234567"
        )
    ]
    return record_order(shop, data).order


def ticket_for(shop, order=None, **fields):
    return open_ticket(
        shop,
        NewTicket(
            email="anne@example.com",
            subject=fields.pop("subject", "Where is it?"),
            body="My parcel has not come.",
            order_id=order.pk if order else None,
            **fields,
        ),
    )


def test_the_inbox_puts_the_overdue_first_with_their_clocks(shop, order, staff_client):
    with time_machine.travel(MONDAY, tick=False):
        late = ticket_for(shop, order, subject="Late one", priority="urgent")
    with time_machine.travel(MONDAY + timedelta(hours=2), tick=False):
        ticket_for(shop, subject="Fresh one")
        html = staff_client.get(url(shop)).content.decode()
        assert "Overdue" in html and "Late one" in html and "Fresh one" not in html
        assert "overdue" in html
        everything = staff_client.get(url(shop) + "?view=open").content.decode()
    assert everything.index("Late one") < everything.index("Fresh one")
    assert late.first_response_due == MONDAY + timedelta(hours=1)


def test_an_agent_answers_with_a_saved_reply_filled_in(shop, order, staff_client):
    ticket = ticket_for(shop, order)
    saved = SavedReply.objects.create(
        shop=shop,
        title="Where is my parcel",
        body="Hi {first_name}, order {order_number} is with the carrier: {tracking_number}. {unknown}",
    )
    page = staff_client.get(url(shop, f"{ticket.pk}/") + f"?saved={saved.pk}").content.decode()
    assert "Hi Anne, order 1001 is with the carrier: 3SABCD1234567. {unknown}" in page

    staff_client.post(
        url(shop, f"{ticket.pk}/act/"), {"action": "reply", "body": "Hi Anne, it comes tomorrow."}
    )
    ticket.refresh_from_db()
    assert ticket.status == "waiting" and ticket.assignee.username == "anna"
    page = staff_client.get(url(shop, f"{ticket.pk}/")).content.decode()
    assert "Hi Anne, it comes tomorrow." in page


def test_notes_priority_and_resolving(shop, order, staff_client, staff):
    with time_machine.travel(MONDAY, tick=False):
        ticket = ticket_for(shop, order)
    act = url(shop, f"{ticket.pk}/act/")
    staff_client.post(act, {"action": "note", "body": "Asked the warehouse."})
    staff_client.post(
        act, {"action": "change", "category": "complaint", "priority": "high", "assignee": staff.pk}
    )
    ticket.refresh_from_db()
    assert (ticket.category, ticket.priority, ticket.assignee_id) == ("complaint", "high", staff.pk)
    # High: the first answer 2 business hours, the resolution 8, from when it came in.
    assert ticket.first_response_due == MONDAY + timedelta(hours=2)
    assert ticket.resolution_due == datetime(2026, 11, 24, 9, 30, tzinfo=AMS)
    empty = staff_client.post(act, {"action": "reply", "body": " "}, follow=True)
    assert "reply: write something to send" in empty.content.decode()
    staff_client.post(act, {"action": "resolved"})
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_settings_hours_targets_and_their_mistakes(shop, staff_client):
    form = {
        "action": "hours",
        "day-mon": "08:30-17:00",
        "day-tue": "08:30-17:00",
        "day-wed": "",
        "day-thu": "08:30-17:00",
        "day-fri": "08:30-12:00",
        "day-sat": "",
        "day-sun": "",
        "country": "nl",
        "closed_days": "2026-12-28\n2026-12-29",
        **{f"first-{p}": "2" for p in ("urgent", "high", "normal", "low")},
        **{f"resolve-{p}": "16" for p in ("urgent", "high", "normal", "low")},
    }
    assert staff_client.post(url(shop, "settings/"), form).status_code == 302
    row = stored_settings(shop)
    assert row.opening["0"] == ["08:30", "17:00"] and "2" not in row.opening
    assert (row.country, row.closed_days) == ("NL", ["2026-12-28", "2026-12-29"])
    assert row.targets["urgent"] == [120, 960]

    bad = staff_client.post(url(shop, "settings/"), {**form, "day-mon": "9 till 5"})
    assert bad.status_code == 400
    assert "opening.mon: &#x27;9 till 5&#x27; is not like 09:00-17:30" in bad.content.decode()
    worse = staff_client.post(url(shop, "settings/"), {**form, "resolve-low": "1"})
    assert "targets: low resolution comes before its first answer" in worse.content.decode()


def test_a_new_inbound_secret_is_shown_once(shop, staff_client):
    page = staff_client.post(url(shop, "settings/"), {"action": "secret"}).content.decode()
    assert "The new secret (shown once" in page
    assert f"/webhooks/inbound-mail/{shop.slug}" in page
    assert "The new secret" not in staff_client.get(url(shop, "settings/")).content.decode()


def test_csat_figures(shop, staff_client):
    for score in (5, 4, 2):
        ticket = ticket_for(shop)
        reply(ticket, "Answered.", agent="Sam", resolve=True)
        rate(Ticket.objects.get(pk=ticket.pk), score)
    html = staff_client.get(url(shop, "figures/")).content.decode()
    assert "67 %" in html and "Sam" in html and "CSAT from 3 ratings" in html


def test_another_shops_member_sees_no_ticket(shop, other_shop, client):
    from tests.dashboard.conftest import make_user

    ticket = ticket_for(shop)
    client.force_login(make_user("bert", shops=[other_shop]))
    assert client.get(url(shop, f"{ticket.pk}/")).status_code == 404
    assert client.get(f"/shops/{other_shop.slug}/tickets/{ticket.pk}/").status_code == 404


def test_a_country_whose_holidays_we_do_not_know_is_refused(shop, staff_client):
    form = {"action": "hours", "day-mon": "09:00-17:00", "country": "XX"}
    response = staff_client.post(url(shop, "settings/"), form)
    assert response.status_code == 400
    assert "country: &#x27;XX&#x27; is not a country whose public holidays we know" in (
        response.content.decode()
    )
