"""Benchmark building an outgoing email's MIME bytes: Django's way against raw_email.

    .venv/bin/python bench/mime.py              # 5,000 emails each way
    .venv/bin/python bench/mime.py -n 20000

One realistic order confirmation: a subject with an accent, 12 KB of HTML shaped like
MJML's output (nested tables, long inline style attributes), 1.5 KB of plain text, a
Message-ID and the List-Unsubscribe headers of marketing mail. Times
EmailMultiAlternatives(...).message().as_bytes(linesep="\\r\\n"), which the SMTP backend
runs for every email, against aftercart.messaging.mime.raw_email; prints µs per email
(best of three runs) and the ratio. A second row does the same for HTML with lines
longer than SMTP allows (quoted-printable in both). Needs no database.
"""

import argparse
import email
import email.policy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure()
django.setup()

from django.core.mail import EmailMultiAlternatives  # noqa: E402

from aftercart.messaging.mime import raw_email  # noqa: E402

SUBJECT = "Bedankt voor je bestelling #1042, Zoë"
FROM = "Café de Roasterij <hallo@roasterij.example>"
TO = ["zoe.devries@example.com"]
REPLY_TO = ["klantenservice@roasterij.example"]
UNSUBSCRIBE = "https://shop.roasterij.example/u/" + "Zm9vYmFyYmF6cXV4" * 9
HEADERS = {
    "Message-ID": "<177.1042.order-confirmation@roasterij.example>",
    "X-Aftercart-Message": "order:1042:confirmation",
    "List-Unsubscribe": f"<{UNSUBSCRIBE}>, <mailto:unsubscribe@mail.roasterij.example?subject=u-{'a1b2c3' * 8}>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}

TD = (
    '<td align="left" style="font-size:0px;padding:10px 25px;word-break:break-word;">'
    '<div style="font-family:Helvetica, Arial, sans-serif;font-size:15px;font-weight:400;'
    'line-height:1.5;text-align:left;color:#1f2a2e;">{}</div></td>'
)
ROW = (
    '<tr><td style="padding:6px 0;border-bottom:1px solid #dfe5e5;color:#1f2a2e;'
    'font-family:Helvetica, Arial, sans-serif;font-size:15px">{} × {}</td>'
    '<td style="padding:6px 0;text-align:right;white-space:nowrap;border-bottom:1px solid '
    '#dfe5e5;font-family:Helvetica, Arial, sans-serif;font-size:15px">€ {}</td></tr>'
)
SECTION_OPEN = (
    '<div style="margin:0px auto;max-width:600px;"><table align="center" border="0" '
    'cellpadding="0" cellspacing="0" role="presentation" style="width:100%;"><tbody><tr>'
    '<td style="direction:ltr;font-size:0px;padding:20px 0;text-align:center;">'
    '<div class="mj-column-per-100 mj-outlook-group-fix" style="font-size:0px;text-align:left;'
    'direction:ltr;display:inline-block;vertical-align:top;width:100%;">'
    '<table border="0" cellpadding="0" cellspacing="0" role="presentation" '
    'style="vertical-align:top;" width="100%"><tbody>'
)
SECTION_CLOSE = "</tbody></table></div></td></tr></tbody></table></div>"


def order_html(size: int = 12_000, *, one_line: bool = False) -> str:
    """HTML as MJML writes it: a head of styles, then sections of tables; about `size`."""
    head = (
        '<!doctype html>\n<html lang="nl" xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
        "<title>Bedankt voor je bestelling</title>\n"
        '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<style type="text/css">\n#outlook a { padding:0; }\n'
        "body { margin:0;padding:0;-webkit-text-size-adjust:100%;-ms-text-size-adjust:100%; }\n"
        "table, td { border-collapse:collapse;mso-table-lspace:0pt;mso-table-rspace:0pt; }\n"
        "@media only screen and (min-width:480px) {\n"
        ".mj-column-per-100 { width:100% !important; max-width: 100%; }\n}\n</style>\n"
        '</head>\n<body style="word-spacing:normal;background-color:#f4f6f6;">\n'
    )
    sections = [
        SECTION_OPEN
        + "<tr>"
        + TD.format("Bedankt, Zoë! We hebben je bestelling <strong>#1042</strong> goed ontvangen.")
        + "</tr>\n"
    ]
    products = ["Espresso bonen 1 kg", "Filterkoffie Ethiopië 250 g", "Chemex filters (100)"]
    line = 0
    while len(head) + sum(map(len, sections)) < size - 200:
        title = products[line % len(products)]
        sections.append(ROW.format(line % 3 + 1, title, f"{12 + line % 7},{line % 10}5") + "\n")
        line += 1
    sections.append(SECTION_CLOSE + "\n</body>\n</html>\n")
    html = head + "".join(sections)
    return html.replace("\n", "") if one_line else html


def order_text(size: int = 1_500) -> str:
    lines = ["Bedankt, Zoë!", "", "We hebben je bestelling #1042 goed ontvangen.", ""]
    n = 0
    while sum(len(line) + 1 for line in lines) < size - 120:
        lines.append(f"{n % 3 + 1} × Filterkoffie Ethiopië 250 g    € {12 + n % 7},95")
        n += 1
    lines += ["", "Volg je bestelling: https://shop.roasterij.example/orders/1042", ""]
    return "\n".join(lines)


def with_django(text: str, html: str) -> bytes:
    message = EmailMultiAlternatives(
        SUBJECT, text, FROM, TO, reply_to=REPLY_TO, headers=dict(HEADERS)
    )
    message.attach_alternative(html, "text/html")
    return message.message().as_bytes(linesep="\r\n")


def with_raw_email(text: str, html: str) -> bytes:
    return raw_email(
        subject=SUBJECT,
        from_email=FROM,
        to=TO,
        reply_to=REPLY_TO,
        headers=HEADERS,
        text=text,
        html=html,
    )


def same(a: bytes, b: bytes) -> bool:
    """Both parse to the same email (what a mail app shows), line endings aside, and the
    space that Python's folding leaves at the start of a long header of Django's."""
    x, y = (email.message_from_bytes(raw, policy=email.policy.default) for raw in (a, b))

    def shown(m):
        bodies = [
            m.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html")
        ]
        return [str(m[h]).strip() for h in ("Subject", "From", "To", "Reply-To", *HEADERS)] + bodies

    return shown(x) == shown(y)


def per_email(build, text: str, html: str, n: int) -> float:
    """µs per email, the best of three runs of n."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(n):
            build(text, html)
        best = min(best, time.perf_counter() - started)
    return best / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5_000, help="emails per run (default 5,000)")
    n = parser.parse_args().n
    text = order_text()
    cases = [("typical", order_html()), ("long lines", order_html(one_line=True))]
    print(f"{n:,} emails each way; text {len(text.encode()):,} B")
    for name, html in cases:
        assert same(with_django(text, html), with_raw_email(text, html)), name
        django_us = per_email(with_django, text, html, n)
        raw_us = per_email(with_raw_email, text, html, n)
        print(
            f"{name:>10} (HTML {len(html.encode()):,} B): Django {django_us:7.1f} µs/email, "
            f"raw_email {raw_us:6.1f} µs/email, {django_us / raw_us:5.1f}× faster"
        )


if __name__ == "__main__":
    main()
