"""CSS inlined once per template version gives the email that inlining each message gave."""

from datetime import UTC, datetime

import css_inline
import pytest
import time_machine

from aftercart.messaging import rendering
from aftercart.messaging.rendering import DEFAULTS
from aftercart.messaging.services import preview

KINDS = sorted({path.name.split(".")[0] for path in DEFAULTS.glob("*.*.mjml")})
# Parsed and written out again, nothing inlined: the two ways may write an entity
# differently (&#x27; or ') where the HTML is the same.
_same_html = css_inline.CSSInliner(
    inline_style_tags=False, keep_style_tags=True, load_remote_stylesheets=False
).inline


@time_machine.travel(datetime(2026, 11, 25, 9, tzinfo=UTC), tick=False)  # the links' signatures
def _both(shop, kind, locale, monkeypatch):
    rendering.compiled_inlined.cache_clear()
    once = preview(shop, kind, locale)
    with monkeypatch.context() as patch:
        patch.setattr(rendering, "inlined_once", lambda html: None)
        rendering.compiled_inlined.cache_clear()
        each = preview(shop, kind, locale)
    rendering.compiled_inlined.cache_clear()
    return once, each


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_default_email_is_the_same_inlined_once(
    shop, tricky_order, kind, locale, monkeypatch
):
    assert rendering.compiled_inlined(rendering.read_default(kind, locale).body)[1]
    for logo in ("", "https://roastery.example/logo.png"):
        shop.logo_url = logo
        shop.save()
        once, each = _both(shop, kind, locale, monkeypatch)
        assert _same_html(once.html) == _same_html(each.html)
        assert (once.subject, once.text) == (each.subject, each.text)
    assert 'style="' in once.html and "aftercart" not in once.html.replace("Aftercart", "")


def test_the_brand_colour_in_the_css_reaches_every_link(shop, tricky_order, monkeypatch):
    shop.brand_colour = "#aa3300"
    shop.save()
    once, _ = _both(shop, "review_request", "en", monkeypatch)
    links = once.html.count("<a ")
    assert links >= 2 and once.html.count("color: #aa3300") >= links


@pytest.mark.parametrize(
    "css",
    [
        "{% if shop.logo_url %}a { color: red; }{% endif %}",  # CSS that a tag decides
        "p:first-child { color: red; }",  # counts siblings, which an {% if %} changes
        "td + td { color: red; }",
        "{{ shop.slug }} { color: red; }",  # a variable as a selector
    ],
)
def test_css_that_depends_on_the_tags_is_inlined_per_message(css):
    html = f"<html><head><style>{css}</style></head><body><p>x</p></body></html>"
    assert rendering.inlined_once(html) is None


def test_markup_let_through_unescaped_is_inlined_per_message():
    html = "<html><head><style>a { color: red; }</style></head><body>{{ x|safe }}</body></html>"
    assert rendering.inlined_once(html) is None


@pytest.mark.parametrize(
    "body",
    [
        '<p class="{% if late %}late{% endif %}">x</p>',  # a tag in a start tag
        '<p class="{{ state }}">x</p>',  # a variable where selectors look
        '{% if a %}<div class="a">{% else %}<div class="b">{% endif %}<p>x</p></div>',
        "<p>{{ note | safe }}</p>",
        "<p>{{ note|urlize }}</p>",
        "<p>aftercartvar0x</p>",  # our own placeholder word, written by someone
    ],
)
def test_html_whose_elements_depend_on_the_tags_is_inlined_per_message(body):
    html = f"<html><head><style>.a p {{ color: red; }}</style></head><body>{body}</body></html>"
    assert rendering.inlined_once(html) is None


def test_tags_between_table_rows_and_in_attributes_come_back_whole():
    html = (
        "<html><head><title>{{ subject }}</title><style>td { color: {{ c }}; }</style></head>"
        '<body><table>{% for i in items %}<tr><td title="{{ i.title }}">{{ i }}</td>'
        '</tr>{% endfor %}</table><a href="{{ link }}">{% if x %}a{% else %}b{% endif %}</a>'
        "</body></html>"
    )
    once = rendering.inlined_once(html)
    assert "<table><tbody>{% for i in items %}<tr>" in once
    assert "</tr>{% endfor %}</tbody></table>" in once
    assert 'title="{{ i.title }}"' in once and 'href="{{ link }}"' in once
    assert ">{% if x %}a{% else %}b{% endif %}</a>" in once
    assert "<title>{{ subject }}</title>" in once
    assert 'style="color: {{ c }};"' in once
