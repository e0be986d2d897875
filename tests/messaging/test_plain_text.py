"""The plain-text part: what a mail app without HTML shows, and what spam filters compare."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aftercart.core.models import Shop
from aftercart.customers.services import CustomerData
from aftercart.messaging.kinds import KINDS
from aftercart.messaging.rendering import Source, compiled_text, plain_text, render
from aftercart.messaging.services import preview, source
from aftercart.orders.records import LineData, OrderData, ShipmentData
from aftercart.orders.services import record_order


def test_paragraphs_links_and_entities_come_out_readable():
    html = (
        "<!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style></head><body>"
        '<div style="display: none; max-height:0">The preheader</div>'
        "<!-- a comment -->"
        "<p>Fish &amp; chips &lt;3</p>"
        '<p><a href="https://shop.example/orders?a=1&amp;b=2">Your order</a></p>'
        '<p><a href="https://shop.example/">https://shop.example/</a></p>'
        "<table><tr><td>1 × Mug</td><td>€ 9,95</td></tr><tr><td>Total</td><td>€ 9,95</td></tr></table>"
        '<a href="javascript:alert(1)">not a link</a>'
        "</body></html>"
    )
    text = plain_text(html)
    assert text.splitlines() == [
        "Fish & chips <3",
        "",
        "Your order (https://shop.example/orders?a=1&b=2)",
        "",
        "https://shop.example/",
        "",
        "1 × Mug € 9,95",
        "Total € 9,95",
        "",
        "not a link",
    ]
    for hidden in ("DOCTYPE", "The preheader", "color:red", "comment", "javascript"):
        assert hidden not in text


def test_an_angle_bracket_that_opens_no_tag_is_kept():
    assert plain_text("<p>2 < 3 and 4 > 1</p>") == "2 < 3 and 4 > 1\n"


def test_hostile_and_tricky_text_in_links():
    html = (
        '<body><p>Go <a href="https://a.example/x"> here </a>now</p>'
        '<p><a href="">no address</a> and <a href="mailto:hi@a.example"></a></p></body>'
    )
    assert plain_text(html).splitlines() == [
        "Go here (https://a.example/x) now",
        "",
        "no address and mailto:hi@a.example",
    ]


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_default_emails_text_part_says_what_its_html_says(shop, kind, locale):
    """The text part is filled from a template written once from the HTML; it must read as
    the text read from each message's HTML would (links, lines, values and all)."""
    Shop.objects.filter(pk=shop.pk).update(
        logo_url="https://roastery.example/logo.png", postal_address="Kerkstraat 1, Utrecht"
    )
    shop.refresh_from_db()
    customer = CustomerData(
        email="anne@example.com", first_name='Anne <b>"&amp;"</b>', accepts_marketing=True
    )
    record_order(
        shop,
        OrderData(
            external_id="ext-1",
            source="api",
            number="#1001",
            email="anne@example.com",
            customer=customer,
            currency="EUR",
            subtotal=Decimal("35.00"),
            discounts=Decimal("5.00"),
            discount_codes=["WELCOME"],
            shipping=Decimal("4.95"),
            total=Decimal("34.95"),
            placed_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            financial_status="paid",
            shipping_name="Anne & Co",
            shipping_address={"address1": "Kerkstraat 1"},
            shipping_postcode="3511 AB",
            shipping_city="Utrecht",
            shipping_country="NL",
            locale=locale,
            lines=[
                LineData(
                    title="Espresso <beans> 1 kg",
                    variant_title="Whole",
                    quantity=2,
                    unit_price=Decimal("12.50"),
                ),
                LineData(title="Mug", quantity=1, unit_price=Decimal("10.00")),
            ],
            shipments=[
                ShipmentData(
                    external_id="s1",
                    carrier="PostNL",
                    tracking_number="3SABCD123",
                    tracking_url="https://postnl.example/track?code=3SABCD123&x=1",
                    status="shipped",
                )
            ],
        ),
    )
    rendered = preview(shop, kind, locale)
    assert compiled_text(source(shop, kind, locale).body) is not None
    assert rendered.text == plain_text(rendered.html)


NESTED = (
    '<mj-section><mj-column><mj-text>{% if x %}<a href="https://a.example/">{% endif %}Yes'
    '{% if x %}</a>{% endif %} {{ v|default:"a &gt; b" }}'
    "{% for i in items %}<br/>{{ i }}{% endfor %}</mj-text></mj-column></mj-section>"
)
# An {% if %} that opens inside an attribute and closes in the text: no text template can
# be written from it, so its text is read from each message's HTML.
TANGLED = (
    '<mj-section><mj-column><mj-text><a href="{% if x %}https://a.example/">'
    "Yes{% else %}https://b.example/'>No{% endif %}</a></mj-text></mj-column></mj-section>"
)


@pytest.mark.parametrize("x", [True, False])
@pytest.mark.parametrize(("body", "has_template"), [(NESTED, True), (TANGLED, False)])
def test_a_merchants_template_reads_the_same_either_way(body, has_template, x):
    rendered = render(
        Source("Hi", "", body, "en", "default"), {"x": x, "shop": {}, "items": ["one", "<3"]}
    )
    assert (compiled_text(body) is not None) is has_template
    assert rendered.text == plain_text(rendered.html)
    assert "{%" not in rendered.text
    assert ("(https://a.example/)" in rendered.text) is x
