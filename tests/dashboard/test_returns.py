"""The returns queue, a return's page and its steps, the policy, and the return rates."""

import io
import json
from decimal import Decimal

import pytest
from PIL import Image

from aftercart.orders.queries import order_detail
from aftercart.orders.services import record_order
from aftercart.returns.models import ReturnRequest, Settlement
from aftercart.returns.policies import save_policy, stored_policy
from aftercart.returns.services import ReturnAsk, request_return
from tests.dashboard.conftest import make_user
from tests.returns.conftest import lines_of, order_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("after_delivery")]


@pytest.fixture
def order(shop):
    return record_order(shop, order_data()).order


def returned(shop, order, reason="does_not_fit", photos=(), **quantities):
    ids = lines_of(order)
    ask = ReturnAsk({ids[k]: n for k, n in quantities.items()}, reason, photos=list(photos))
    return request_return(shop, order, ask, source="portal")


def url(shop, path=""):
    return f"/shops/{shop.slug}/returns/{path}"


def test_the_queue_shows_what_waits_for_approval_and_approves_in_bulk(shop, order, staff_client):
    save_policy(shop, {"review_after": 0})
    first = returned(shop, order, L1=1)
    second = returned(shop, order, L3=1)
    html = staff_client.get(url(shop)).content.decode()
    assert "To approve" in html and first.number in html and second.number in html
    assert "Linen shirt" in html and "It does not fit" in html

    response = staff_client.post(
        url(shop, "bulk/"), {"action": "approve", "ids": [first.pk, second.pk], "view": "review"}
    )
    assert response.status_code == 302
    assert set(ReturnRequest.objects.values_list("status", flat=True)) == {"approved"}
    assert ReturnRequest.objects.get(pk=first.pk).decided_by == "anna"


def test_an_agent_takes_a_return_from_received_to_refunded_by_hand(shop, order, staff_client):
    ret = returned(shop, order, L1=2)
    page = url(shop, f"{ret.pk}/")
    act = url(shop, f"{ret.pk}/act/")
    shirt = ret.lines.get()

    staff_client.post(act, {"action": "receive", f"received-{shirt.pk}": "1"})
    staff_client.post(act, {"action": "inspect", "note": "One shirt never came"})
    html = staff_client.get(page).content.decode()
    assert "Received" in html and "One shirt never came" in html

    staff_client.post(act, {"action": "settle", f"settle-{shirt.pk}": "1"})
    settlement = Settlement.objects.get()
    assert (settlement.status, settlement.amount) == ("manual", Decimal("30.00"))
    html = staff_client.get(page).content.decode()
    assert "To be done in the store" in html

    staff_client.post(
        act, {"action": "settled", "settlement": settlement.pk, "external_id": "R-88"}
    )
    ret.refresh_from_db()
    assert ret.status == "completed"
    assert order_detail(shop, pk=order.pk).refunded == Decimal("30.00")


def test_a_step_that_is_not_possible_is_said_on_the_page(shop, order, staff_client):
    ret = returned(shop, order, L1=1)
    response = staff_client.post(url(shop, f"{ret.pk}/act/"), {"action": "settle"}, follow=True)
    assert "is approved: it cannot be settled" in response.content.decode()
    response = staff_client.post(
        url(shop, f"{ret.pk}/act/"), {"action": "reject", "reason": ""}, follow=True
    )
    assert "tell the customer why" in response.content.decode()


def test_photos_are_shown_to_the_shop_only(shop, other_shop, order, staff_client, client):
    png = io.BytesIO()
    Image.new("RGB", (300, 200), "red").save(png, "PNG")
    ret = returned(shop, order, reason="damaged", photos=[("cup.png", png.getvalue())], L2=1)
    photo = ret.photos.get()
    html = staff_client.get(url(shop, f"{ret.pk}/")).content.decode()
    src = url(shop, f"{ret.pk}/photos/{photo.pk}.jpg")
    assert src in html
    response = staff_client.get(src)
    assert response["Content-Type"] == "image/jpeg"
    assert bytes(response.content).startswith(b"\xff\xd8")
    # Another shop's member gets nothing, not even with the right numbers.
    stranger = make_user("bert", shops=[other_shop])
    client.force_login(stranger)
    assert client.get(src).status_code == 404
    assert client.get(url(shop, f"{ret.pk}/")).status_code == 404


FORM = {
    "window_days": "14",
    "review_after": "",
    "restocking_fee_percent": "",
    "return_shipping_fee": "",
    "store_credit_bonus_percent": "",
    "return_address": "",
    "instructions": "",
    "reasons": "",
    "exclusions": "",
}


def test_the_policy_is_edited_and_bad_input_says_where(shop, staff_client):
    response = staff_client.post(
        url(shop, "policy/"),
        {
            "window_days": "14",
            "review_after": "",
            "restocking_fee_percent": "5",
            "return_shipping_fee": "4.95",
            "store_credit_bonus_percent": "10",
            "return_address": "Keizersgracht 1\n1015 CJ Amsterdam",
            "instructions": "",
            "reasons": json.dumps(
                [{"code": "too_small", "label": {"en": "Too small", "nl": "Te klein"}}]
            ),
            "exclusions": "",
        },
    )
    assert response.status_code == 302
    row = stored_policy(shop)
    assert (row.window_days, row.review_after, row.return_shipping_fee) == (
        14,
        None,
        Decimal("4.95"),
    )
    html = staff_client.get(url(shop, "policy/")).content.decode()
    assert "Too small" in html

    bad = staff_client.post(url(shop, "policy/"), {**FORM, "reasons": "[{"})
    assert bad.status_code == 400
    assert "reasons: not JSON (line 1, column 3: Expecting property name" in bad.content.decode()
    twice = staff_client.post(
        url(shop, "policy/"),
        {
            "window_days": "14",
            "reasons": json.dumps([{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]),
        },
    )
    assert "reasons[1].code: &#x27;a&#x27; is used twice" in twice.content.decode()
    assert stored_policy(shop).reasons == [
        {
            "code": "too_small",
            "label": {"en": "Too small", "nl": "Te klein"},
            "resolutions": ["refund", "exchange", "store_credit"],
        }
    ]


def test_return_rates_by_product_and_the_reasons(shop, order, staff_client):
    returned(shop, order, L1=2)
    other = record_order(shop, order_data(number="1002")).order
    returned(shop, other, reason="changed_mind", L1=1)
    html = staff_client.get(url(shop, "insights/")).content.decode()
    assert "100 %" in html  # both orders had a return
    # Linen shirt: 3 of the 4 sold came back.
    assert "Linen shirt" in html and "75 %" in html
    assert "It does not fit: 1" in html and "I changed my mind: 1" in html


def test_the_returns_section_is_in_the_menu(shop, staff_client):
    html = staff_client.get(f"/shops/{shop.slug}/orders/").content.decode()
    assert f'href="/shops/{shop.slug}/returns/"' in html


def test_her_customer_page_shows_store_credit_and_returns(shop, order, staff_client):
    from aftercart.returns.services import receive_return
    from aftercart.returns.settlements import settle_return

    ids = lines_of(order)
    ask = ReturnAsk({ids["L3"]: 1}, "does_not_fit", resolution="store_credit")
    ret = request_return(shop, order, ask, source="portal")
    receive_return(ret, by="sam")
    settle_return(ret, by="sam")
    html = staff_client.get(f"/shops/{shop.slug}/customers/{order.customer_id}/").content.decode()
    assert "Store credit" in html and "€ 20,00" in html  # the shop writes Dutch amounts
    assert "Return R1001-1" in html


def test_dutch_amounts_are_read_and_the_tabs_speak_dutch(shop, staff_client):
    form = {**FORM, "restocking_fee_percent": "10,00", "return_shipping_fee": "4,95"}
    assert staff_client.post(url(shop, "policy/"), form).status_code == 302
    row = stored_policy(shop)
    assert (row.restocking_fee_percent, row.return_shipping_fee) == (
        Decimal("10.00"),
        Decimal("4.95"),
    )
    html = staff_client.get(url(shop), HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Goed te keuren" in html and "To approve" not in html
