"""The plain-text part: what a mail app without HTML shows, and what spam filters compare."""

import pytest

from aftercart.core.models import Shop
from aftercart.messaging.kinds import KINDS
from aftercart.messaging.rendering import Source, compiled_text, plain_text, render
from aftercart.messaging.services import preview, source


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
def test_each_default_emails_text_part_says_what_its_html_says(shop, tricky_order, kind, locale):
    """The text part is filled from a template written once from the HTML; it must read as
    the text read from each message's HTML would (links, lines, values and all)."""
    Shop.objects.filter(pk=shop.pk).update(logo_url="https://roastery.example/logo.png")
    shop.refresh_from_db()
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
