"""The plain-text part: what a mail app without HTML shows, and what spam filters compare."""

from aftercart.messaging.rendering import plain_text


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
