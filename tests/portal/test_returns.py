"""The returns portal through real HTTP requests: from the order's page to the label."""

import io
import re

import pypdfium2
import pytest
from PIL import Image

from aftercart.flows.services import install_default_loop, run_due
from aftercart.messaging.services import send_due
from aftercart.orders.links import status_url
from aftercart.orders.services import record_order
from aftercart.returns.models import ReturnRequest
from aftercart.returns.policies import save_policy
from aftercart.returns.services import (
    approve_return,
    receive_return,
)
from aftercart.returns.settlements import (
    settle_return,
    settlement_done,
)
from tests.returns.conftest import lines_of, order_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("after_delivery")]


@pytest.fixture
def order(shop):
    install_default_loop(shop)  # the return emails are flows
    return record_order(shop, order_data()).order


def mail_about(inbox, subject_start: str):
    """The newest email to Anne whose subject starts so (an order's other emails go too)."""
    found = [m for m in inbox.to("anne@example.com") if m["Subject"].startswith(subject_start)]
    assert found, [m["Subject"] for m in inbox.to("anne@example.com")]
    return found[-1]


def pdf_text(content: bytes) -> str:
    document = pypdfium2.PdfDocument(content)
    return " ".join(" ".join(page.get_textpage().get_text_range().split()) for page in document)


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def start(client, order):
    status = path(status_url(order.shop_id, order.pk))
    page = client.get(status).content.decode()
    link = re.search(r'href="([^"]*/return/)"', page)
    assert link, "the order's page offers a return"
    return link.group(1)


def check(client, form_url, order, reason="changed_mind", resolution="refund", **quantities):
    ids = lines_of(order)
    data = {"step": "check", "reason": reason, "resolution": resolution}
    data.update({f"qty-{ids[k]}": n for k, n in quantities.items()})
    return client.post(form_url, data)


def confirm_fields(html: str) -> dict:
    """The hidden fields of the confirmation form (the page's other form goes back)."""
    form = re.search(r"<form[^>]*multipart.*?</form>", html, re.S).group(0)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_from_the_order_page_to_the_label(client, shop, order, inbox):
    form_url = start(client, order)
    form = client.get(form_url).content.decode()
    assert "Linen shirt" in form and "I changed my mind" in form

    checked = check(client, form_url, order, L1=1, L2=1)
    html = checked.content.decode()
    assert checked.status_code == 200
    assert "This return meets our return policy" in html
    assert "€50.00" in html  # 30 + 20 (the cup after its discount)

    fields = confirm_fields(html)
    done = client.post(form_url, fields)
    assert done.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert "Return R1001-1" in page and "Download the return label" in page

    label = client.get(done["Location"] + "label.pdf")
    assert label["Content-Type"] == "application/pdf"
    words = pdf_text(label.content)
    assert "Return R1001-1" in words and "Order 1001" in words
    assert "1 × Linen shirt (M)" in words and "1 × Espresso cup" in words

    # The same confirmation sent again (a double click) is the same return.
    again = client.post(form_url, fields)
    assert again["Location"] == done["Location"]
    assert ReturnRequest.objects.count() == 1

    run_due()
    send_due()
    mail = mail_about(inbox, "Your return R1001-1 is approved: here is your label")
    text = inbox.text(mail)
    assert "1 × Linen shirt" in text and "€50.00 back on your original payment" in text
    assert done["Location"] + "label.pdf" in inbox.html(mail)

    # The order's page lists the return.
    status = client.get(path(status_url(shop.pk, order.pk))).content.decode()
    assert "Return R1001-1: approved" in status


def test_a_reason_that_needs_a_photo_asks_for_one_and_keeps_it(client, shop, order):
    form_url = start(client, order)
    html = check(client, form_url, order, reason="damaged", L2=1).content.decode()
    assert "Add a photo that shows the problem" in html
    fields = confirm_fields(html)
    without = client.post(form_url, fields)
    assert without.status_code == 400
    again = without.content.decode()
    # Back on the page that asks for the photo, not at the start.
    assert "Please add a photo that shows the problem." in again
    assert 'name="photos"' in again

    photo = io.BytesIO()
    Image.new("RGB", (800, 600), "blue").save(photo, "PNG")
    photo.seek(0)
    photo.name = "cup.png"
    done = client.post(form_url, {**fields, "photos": photo})
    assert done.status_code == 302
    assert ReturnRequest.objects.get().photos.count() == 1


def test_what_cannot_come_back_is_explained_on_the_form(client, shop, order):
    save_policy(shop, {"window_days": 7})
    form_url = start(client, order)
    response = check(client, form_url, order, L1=1)
    assert response.status_code == 400
    assert "The return period ended on 12 November 2026." in response.content.decode()
    nothing = check(client, form_url, order)
    assert "Choose at least one item to return." in nothing.content.decode()
    assert not ReturnRequest.objects.exists()


def test_a_return_for_review_gets_its_label_once_approved(client, shop, order, inbox):
    save_policy(shop, {"review_after": 0})
    form_url = start(client, order)
    html = check(client, form_url, order, L3=1).content.decode()
    assert "Someone at the shop looks at this return first" in html
    done = client.post(form_url, confirm_fields(html))
    page_url = done["Location"]
    assert "Download the return label" not in client.get(page_url).content.decode()
    assert client.get(page_url + "label.pdf").status_code == 404
    run_due()
    send_due()
    assert mail_about(inbox, "We have your return request R1001-1")

    ret = ReturnRequest.objects.get()
    approve_return(ret, by="sam")
    run_due()
    send_due()
    assert mail_about(inbox, "Your return R1001-1 is approved: here is your label")
    assert client.get(page_url + "label.pdf").status_code == 200


def test_she_says_she_sent_it_then_hears_it_arrived_and_was_refunded(client, shop, order, inbox):
    form_url = start(client, order)
    done = client.post(
        form_url, confirm_fields(check(client, form_url, order, L3=1).content.decode())
    )
    page_url = done["Location"]
    sent = client.post(page_url, {"action": "sent", "tracking": "3SRETURN42"}).content.decode()
    assert "We let you know when it has arrived" in sent and "On its way back" in sent
    ret = ReturnRequest.objects.get()
    assert ret.tracking_number == "3SRETURN42"
    receive_return(ret, by="sam")
    settlement_done(settle_return(ret, by="sam"), by="sam")
    run_due()
    send_due()
    assert mail_about(inbox, "Your return R1001-1 has arrived")
    refunded = mail_about(inbox, "Your refund for return R1001-1 is on its way")
    assert "We have refunded €20.00 to your original payment" in inbox.text(refunded)
    assert "Completed" in client.get(page_url).content.decode()


def test_she_can_cancel_before_sending(client, shop, order):
    form_url = start(client, order)
    done = client.post(
        form_url, confirm_fields(check(client, form_url, order, L3=1).content.decode())
    )
    page = client.post(done["Location"], {"action": "cancel"}).content.decode()
    assert "Your return is cancelled." in page
    assert ReturnRequest.objects.get().status == "cancelled"
    # The towel can be returned again.
    assert "Tea towel" in client.get(form_url).content.decode()


def test_once_she_sent_it_she_cannot_cancel_it(client, shop, order):
    form_url = start(client, order)
    done = client.post(
        form_url, confirm_fields(check(client, form_url, order, L3=1).content.decode())
    )
    client.post(done["Location"], {"action": "sent"})
    page = client.post(done["Location"], {"action": "cancel"}).content.decode()
    assert "That is no longer possible for this return." in page
    assert ReturnRequest.objects.get().status == "in_transit"


def test_links_that_are_not_ours_show_nothing(client, shop, order):
    assert client.get("/o/not-a-token/return/").status_code == 404
    assert client.get("/r/not-a-token/").status_code == 404
    assert client.get("/r/not-a-token/label.pdf").status_code == 404


def test_dutch_customer_reads_dutch(client, shop):
    install_default_loop(shop)
    order = record_order(shop, order_data(number="2002", locale="nl")).order
    form_url = start(client, order)
    html = client.get(form_url).content.decode()
    assert "Retourneren of ruilen" in html
    checked = check(client, form_url, order, L1=1).content.decode()
    assert "€ 30,00" in checked


def test_she_can_exchange_for_another_size_she_picks(client, shop):
    install_default_loop(shop)
    from decimal import Decimal

    from aftercart.orders.records import LineData

    def shirt(size, variant, number):
        return LineData(
            external_id=f"S{number}",
            title="Linen shirt",
            variant_title=size,
            quantity=1,
            unit_price=Decimal("30"),
            product_external_id="shirt",
            variant_external_id=variant,
        )

    record_order(shop, order_data(number="900", lines=[shirt("L", "v-l", 900)]))
    order = record_order(shop, order_data(number="901", lines=[shirt("M", "v-m", 901)])).order
    form_url = start(client, order)
    form = client.get(form_url).content.decode()
    line = order.lines.get()
    assert f'name="exchange-{line.pk}"' in form and ">L</option>" in form
    checked = client.post(
        form_url,
        {
            "step": "check",
            "reason": "does_not_fit",
            "resolution": "exchange",
            f"qty-{line.pk}": "1",
            f"exchange-{line.pk}": "v-l",
        },
    ).content.decode()
    assert "1 × Linen shirt – M → L" in checked
    done = client.post(form_url, confirm_fields(checked))
    assert done.status_code == 302
    kept = ReturnRequest.objects.get().lines.get()
    assert (kept.exchange_variant, kept.exchange_variant_title) == ("v-l", "L")
    assert "→ L" in client.get(done["Location"]).content.decode()


def test_changing_something_keeps_what_she_chose(client, shop, order):
    form_url = start(client, order)
    html = check(client, form_url, order, L1=1, L2=1).content.decode()
    edit = re.search(r'<form method="post">(.*?)</form>', html.split("multipart", 1)[1], re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', edit.group(1)))
    assert fields["step"] == "edit"
    again = client.post(form_url, fields).content.decode()
    ids = lines_of(order)
    assert re.search(rf'name="qty-{ids["L1"]}".*?<option value="1" selected>', again, re.S)
    assert 'value="changed_mind" checked' in again


def test_what_can_never_come_back_is_shown_but_not_offered(client, shop):
    from decimal import Decimal

    from aftercart.orders.records import LineData

    save_policy(shop, {"exclusions": [{"label": "Hygiene", "products": ["EARRINGS"]}]})
    lines = [
        LineData(
            external_id="E1", title="Earrings", sku="EARRINGS", quantity=1, unit_price=Decimal("15")
        ),
        LineData(external_id="S1", title="Scarf", quantity=1, unit_price=Decimal("25")),
    ]
    order = record_order(shop, order_data(number="3003", lines=lines)).order
    html = client.get(start(client, order)).content.decode()
    earrings = order.lines.get(external_id="E1")
    assert "Hygiene: it cannot be returned." in html
    assert re.search(rf'name="qty-{earrings.pk}" disabled', html)
