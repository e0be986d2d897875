"""Outgoing email built as bytes: what arrives reads as what Django's own would have."""

import email
import email.policy
import re
import smtplib
from datetime import UTC, datetime

import pytest
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aftercart.messaging.mime import raw_email

UNSUBSCRIBE = (
    "<https://shop.example/unsubscribe/" + "a1B2c3D4e5" * 27 + ">, "
    "<mailto:unsubscribe@mail.shop.example?subject=" + "f6G7h8I9j0" * 26 + ">"
)


# An order confirmation's parts: each test changes what it is about.
FIELDS = {
    "subject": "Your order #1001",
    "from_email": "De Roasterij <hallo@roasterij.example>",
    "to": ["anne@example.com"],
    "reply_to": None,
    "headers": {"Message-ID": "<1001.confirmation@roasterij.example>"},
    "text": "Thank you, Anne!\n",
    "html": "<p>Thank you, Anne!</p>\n",
}


def build(**given) -> bytes:
    return raw_email(**(FIELDS | given))


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def text_of(message) -> str | None:
    part = message.get_body(("plain",))
    return None if part is None else part.get_content().replace("\r\n", "\n")


def html_of(message) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")


def head(raw: bytes) -> list[bytes]:
    return raw.partition(b"\r\n\r\n")[0].split(b"\r\n")


def assert_well_formed(raw: bytes):
    """CRLF line ends only, no line over SMTP's limit, headers 7-bit, encoded words short."""
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(map(len, raw.split(b"\r\n"))) <= 998
    assert all(line.isascii() for line in head(raw))
    # Display names in From, To and Reply-To are encoded as Django encodes them (Python's
    # Header.encode), whose words can be 76 long; splitting them differently would read
    # differently in Python's parser (it keeps the space between two words there).
    ours = re.sub(
        rb"(?im)^(from|to|reply-to|cc):.*(\r\n[ \t].*)*", b"", raw.partition(b"\r\n\r\n")[0]
    )
    for word in re.findall(rb"=\?utf-8\?[qb]\?[^?]*\?=", ours, flags=re.IGNORECASE):
        assert len(word) <= 75
    for word in re.findall(rb"=\?utf-8\?[qb]\?[^?]*\?=", raw, flags=re.IGNORECASE):
        assert len(word) <= 76


def test_an_ascii_email_reads_as_written():
    raw = build(
        reply_to=["Customer service <service@roasterij.example>"],
        headers={
            "Message-ID": "<1001.confirmation@roasterij.example>",
            "X-Aftercart-Message": "order:1001:confirmation",
        },
    )
    assert_well_formed(raw)
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    mail = parse(raw)
    assert mail["Subject"] == "Your order #1001"
    assert mail["From"] == "De Roasterij <hallo@roasterij.example>"
    assert mail["To"] == "anne@example.com"
    assert mail["Reply-To"] == "Customer service <service@roasterij.example>"
    assert mail["Message-ID"] == "<1001.confirmation@roasterij.example>"
    assert mail["X-Aftercart-Message"] == "order:1001:confirmation"
    assert mail["MIME-Version"] == "1.0"
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    assert text_of(mail) == "Thank you, Anne!\n"
    assert html_of(mail) == "<p>Thank you, Anne!</p>\n"


@pytest.mark.parametrize(
    "subject",
    [
        "Bedankt voor je bestelling, Zoë",
        "Crème brûlée & café: à bientôt",
        "🎉 Your order is on its way 🚚📦",
        "Спасибо за заказ",
        "ご注文ありがとうございます",
        "Zoë, " + "je koffie is onderweg en komt morgen aan, ééntje met crème " * 6,
        "x" * 1200,  # no space to fold at: encoded words it is
        "Looks like =?utf-8?q?an_encoded_word?= but is not",
    ],
)
def test_a_subject_arrives_as_written(subject):
    raw = build(subject=subject)
    assert_well_formed(raw)
    subject_lines = []
    for line in head(raw):
        if line.startswith(b"Subject:") or (subject_lines and line.startswith(b" ")):
            subject_lines.append(line)
        elif subject_lines:
            break
    assert all(len(line) <= 78 for line in subject_lines)
    assert parse(raw)["Subject"] == subject


def test_the_subject_of_a_dutch_order_stays_readable_in_the_source():
    raw = build(subject="Bedankt voor je bestelling, Zoë")
    assert b"Subject: =?utf-8?q?Bedankt_voor_je_bestelling=2C_Zo=C3=AB?=" in raw


def test_display_names_with_commas_quotes_and_accents():
    raw = build(
        from_email="Café Zoë <hallo@roasterij.example>",
        to=['"Doe, Jane \\"JD\\"" <jane@example.com>', '"de Vries, Zoë" <zoe@example.nl>'],
        reply_to=['"Service, Roasterij" <service@roasterij.example>'],
    )
    assert_well_formed(raw)
    mail = parse(raw)
    assert [(a.display_name, a.addr_spec) for a in mail["To"].addresses] == [
        ('Doe, Jane "JD"', "jane@example.com"),
        ("de Vries, Zoë", "zoe@example.nl"),
    ]
    assert mail["From"].addresses[0].display_name == "Café Zoë"
    assert mail["Reply-To"].addresses[0].display_name == "Service, Roasterij"


def test_an_international_domain_goes_out_as_punycode():
    raw = build(to=["Zoë <zoe@bücher.example>"], from_email="hallo@café.example")
    assert_well_formed(raw)
    assert b"zoe@xn--bcher-kva.example" in raw
    assert b"hallo@xn--caf-dma.example" in raw
    mail = parse(raw)
    assert mail["To"].addresses[0].display_name == "Zoë"
    assert mail["To"].addresses[0].domain == "xn--bcher-kva.example"


def test_an_address_whose_local_part_is_not_ascii_is_refused():
    with pytest.raises(ValueError, match="zoë@example.com"):
        build(to=["zoë@example.com"])


def test_a_long_list_unsubscribe_is_folded_and_arrives_exactly():
    raw = build(
        headers={
            "Message-ID": "<1@roasterij.example>",
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    )
    assert_well_formed(raw)
    lines = head(raw)
    start = next(i for i, line in enumerate(lines) if line.startswith(b"List-Unsubscribe:"))
    # One URL per line: folded at the ", " between them, never inside one.
    assert lines[start].endswith(b">,") and lines[start + 1].startswith(b" <mailto:")
    assert lines[start + 2].startswith(b"List-Unsubscribe-Post:")
    mail = parse(raw)
    assert mail["List-Unsubscribe"] == UNSUBSCRIBE
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_html_with_very_long_lines_arrives_whole_in_short_lines():
    html = ("<p>" + "Zoë's koffie = vers gebrand, €12,95 per zak. " * 120 + "</p>\n") * 3
    assert min(map(len, html.splitlines())) > 5000
    text = "Hallo Zoë,\n" + "lang " * 1100 + "\n"
    raw = build(html=html, text=text)
    assert_well_formed(raw)
    body = raw.partition(b"\r\n\r\n")[2]
    assert max(map(len, body.split(b"\r\n"))) <= 76
    mail = parse(raw)
    assert html_of(mail) == html
    assert text_of(mail) == text


def test_lines_that_mean_something_to_mail_servers_stay_as_written():
    text = "From now on, Anne:\n.\n..\nFrom \nEnd\r\nWindows\rOld Mac\n  \ntrailing  "
    html = "<p>x</p>\n.\nFrom here\n"
    mail = parse(build(text=text, html=html))
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert text_of(mail) == expected
    assert html_of(mail) == html


def test_without_a_text_body_only_the_html_goes_as_django_does():
    mail = parse(build(text=""))
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/html"]


def test_date_and_message_id_are_made_when_not_given():
    before = datetime.now(UTC).replace(microsecond=0)
    mail = parse(build(headers={}))
    # "-0000": the time is UTC (RFC 5322), which Python reads as a time without a zone.
    assert before <= mail["Date"].datetime.replace(tzinfo=UTC) <= datetime.now(UTC)
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", mail["Message-ID"])
    assert parse(build(headers={}))["Message-ID"] != mail["Message-ID"]

    given = "Tue, 24 Nov 2026 09:30:00 +0100"
    assert parse(build(date=given))["Date"] == given


def test_a_standard_header_in_headers_replaces_it_whatever_its_case():
    raw = build(
        reply_to=["first@roasterij.example"],
        headers={
            "message-id": "<given@roasterij.example>",
            "REPLY-TO": "Desk <desk@roasterij.example>",
            "From": "Other <other@roasterij.example>",
            "subject": "Overridden",
        },
    )
    mail = parse(raw)
    for name in ("Message-ID", "Reply-To", "From", "Subject", "To", "Date", "MIME-Version"):
        assert len(mail.get_all(name)) == 1, name
    assert mail["Message-ID"] == "<given@roasterij.example>"
    assert mail["Reply-To"] == "Desk <desk@roasterij.example>"
    assert mail["From"] == "Other <other@roasterij.example>"
    assert mail["Subject"] == "Overridden"


def test_headers_that_would_break_the_mime_structure_are_refused():
    with pytest.raises(ValueError, match="Content-Type"):
        build(headers={"Content-Type": "text/plain"})


@pytest.mark.parametrize(
    ("given", "header"),
    [
        ({"subject": "Your order\r\nBcc: victim@example.com"}, "Subject"),
        ({"subject": "Your order\nBcc: victim@example.com"}, "Subject"),
        ({"headers": {"X-Aftercart-Message": "a\rBcc: victim@example.com"}}, "X-Aftercart-Message"),
        ({"headers": {"List-Unsubscribe": "<https://x>\nBcc: v@example.com"}}, "List-Unsubscribe"),
        ({"to": ["anne@example.com\nBcc: victim@example.com"]}, "To"),
        ({"reply_to": ["desk@example.com\r\nBcc: victim@example.com"]}, "Reply-To"),
        ({"from_email": "Shop\n <shop@example.com>"}, "From"),
        ({"headers": {"X-Tag\r\nBcc": "victim@example.com"}}, "X-Tag"),
    ],
)
def test_a_newline_in_a_header_is_refused_naming_it(given, header):
    with pytest.raises(BadHeaderError, match=re.escape(header)):
        build(**given)


# The same inputs to Django's EmailMultiAlternatives and to raw_email: what a mail app shows.
CASES = {
    "ascii": {},
    "dutch": {
        "subject": "Bedankt voor je bestelling, Zoë",
        "from_email": "Café de Roasterij <hallo@roasterij.example>",
        "to": ["Zoë de Vries <zoe@example.nl>"],
        "text": "Hallo Zoë,\n\n1 × Espresso bonen 1 kg   € 12,95\n",
        "html": "<p>Hallo Zoë,</p>\n<table><tr><td>1 × Espresso</td><td>€ 12,95</td></tr></table>",
    },
    "emoji and quotes": {
        "subject": "🎉 Your order is on its way 🚚",
        "to": ['"Doe, Jane \\"JD\\"" <jane@example.com>'],
        "reply_to": ["Service <service@roasterij.example>", "desk@roasterij.example"],
    },
    "international domain": {"to": ["Zoë <zoe@bücher.example>"]},
    "marketing": {
        "headers": {
            "Message-ID": "<1@roasterij.example>",
            "X-Aftercart-Message": "flow:winback:42",
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    },
    "non-ascii extra header": {
        "headers": {"Message-ID": "<2@roasterij.example>", "X-Shop": "Café Zoë"}
    },
    "long ascii subject": {"subject": "Your order of coffee beans and filters " * 6},
    "long lines": {
        "html": "<p>" + "Crème, " * 1500 + "</p>\n<p>.</p>\nFrom here\n",
        "text": "a" * 1200 + "\n.\nFrom me",
    },
    "text without a final newline": {"text": "Thank you", "html": "<p>Thank you</p>"},
}


def django_and_ours(fields: dict) -> tuple[email.message.EmailMessage, bytes]:
    django_email = EmailMultiAlternatives(
        fields["subject"],
        fields["text"],
        fields["from_email"],
        fields["to"],
        reply_to=fields["reply_to"],
        headers=dict(fields["headers"]),
    )
    django_email.attach_alternative(fields["html"], "text/html")
    return parse(django_email.message().as_bytes(linesep="\r\n")), raw_email(**fields)


def assert_reads_the_same(ours, theirs, names):
    for name in names:
        # Python's folding can leave a space at the start of a long header of Django's.
        assert str(ours[name]).strip() == str(theirs[name]).strip(), name
    for name in ("From", "To", "Reply-To"):
        if theirs[name]:
            assert ours[name].addresses == theirs[name].addresses, name
    assert text_of(ours) == text_of(theirs)
    assert html_of(ours) == html_of(theirs)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_what_arrives_is_what_django_would_have_sent(case):
    fields = FIELDS | case
    theirs, raw = django_and_ours(fields)
    assert_well_formed(raw)
    assert_reads_the_same(
        parse(raw), theirs, ("Subject", "From", "To", "Reply-To", *fields["headers"])
    )


# What makes encoding and folding interesting: spaces, specials, "=?", accents, emoji, CJK.
HEADER_TEXT = "ab Z09 ,.;:\"'()<>=?_-!\té€ë🎉ж漢"
BODY_TEXT = HEADER_TEXT + "\n\r.F"


@settings(max_examples=300, deadline=None)
@given(
    subject=st.text(alphabet=HEADER_TEXT, max_size=200),
    name=st.text(alphabet=HEADER_TEXT.replace('"', ""), max_size=60),
    extra=st.text(alphabet=HEADER_TEXT, max_size=200),
    text=st.text(alphabet=BODY_TEXT, max_size=300),
    html=st.text(alphabet=BODY_TEXT, max_size=300),
    long_line=st.integers(min_value=0, max_value=1200),
)
# Python's Header.encode writes this name as one word of 76 characters (found by this test).
@example(subject="", name="0000000000000000000éééééé€€€€€", extra="", text="", html="", long_line=0)
def test_any_text_reads_as_django_would_have_sent_it(subject, name, extra, text, html, long_line):
    fields = {
        "subject": subject,
        "from_email": f'"{name}" <hallo@roasterij.example>',
        "to": ["anne@example.com"],
        "reply_to": None,
        "headers": {"Message-ID": "<1@roasterij.example>", "X-Extra": extra},
        "text": text,
        "html": html + "é" * long_line,
    }
    theirs, raw = django_and_ours(fields)
    assert_well_formed(raw)
    assert_reads_the_same(parse(raw), theirs, ("Subject", "From", "X-Extra"))


def test_through_a_real_smtp_server(inbox):
    text = "Hallo Zoë,\n.\nFrom now on: koffie.\n" + "lang " * 300 + "\n"
    html = "<p>Hallo Zoë,</p>\n.\n<p>" + "€ 12,95 " * 800 + "</p>\n"
    raw = raw_email(
        subject="Bedankt voor je bestelling, Zoë",
        from_email="Café de Roasterij <hallo@roasterij.example>",
        to=["zoe@example.nl"],
        reply_to=["service@roasterij.example"],
        headers={
            "Message-ID": "<1001.confirmation@roasterij.example>",
            "X-Aftercart-Message": "order:1001:confirmation",
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        text=text,
        html=html,
    )
    with smtplib.SMTP("127.0.0.1", inbox.port, timeout=5) as smtp:
        refused = smtp.sendmail("bounces@roasterij.example", ["zoe@example.nl"], raw)
    assert refused == {}

    [mail] = inbox.to("zoe@example.nl")
    assert mail["Subject"] == "Bedankt voor je bestelling, Zoë"
    assert mail["From"].addresses[0].display_name == "Café de Roasterij"
    assert mail["Reply-To"] == "service@roasterij.example"
    assert mail["Message-ID"] == "<1001.confirmation@roasterij.example>"
    assert mail["X-Aftercart-Message"] == "order:1001:confirmation"
    assert mail["List-Unsubscribe"] == UNSUBSCRIBE
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert inbox.text(mail).replace("\r\n", "\n") == text
    assert inbox.html(mail).replace("\r\n", "\n") == html
