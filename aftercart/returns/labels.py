"""The return label: an A6 page with the return number as a barcode, the address it goes
to, what is in the parcel and how to pack it. Rendered from HTML by WeasyPrint.

Carriers' own label services (a prepaid label with their barcode) come later as adapters;
this label is what the shop scans when the parcel arrives, and what the customer writes
the address from.
"""

import base64

from barcode import Code128
from barcode.writer import SVGWriter
from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from aftercart.core.models import Shop
from aftercart.returns.models import ReturnRequest
from aftercart.returns.policies import stored_policy

LABEL_STATES = {ReturnRequest.Status.APPROVED, ReturnRequest.Status.IN_TRANSIT}


def barcode_svg(text: str) -> str:
    """Code 128 of `text` as a data URI, drawn without its own caption."""
    svg = Code128(text, writer=SVGWriter()).render(
        {"module_height": 18, "module_width": 0.35, "write_text": False, "quiet_zone": 3}
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


# The label needs nothing from the network; a URL in a shop's setting must not make the
# server fetch it (it could point anywhere, inside the merchant's network too).
_ONLY_INLINE = URLFetcher(allowed_protocols={"data"})


def label_html(shop: Shop, ret: ReturnRequest) -> str:
    policy = stored_policy(shop)
    address = policy.return_address or shop.postal_address
    return render_to_string(
        "returns/label.html",
        {
            "language_code": translation.get_language() or "en",
            "shop": shop,
            "ret": ret,
            "order": ret.order,
            "lines": list(ret.lines.all()),
            "barcode": barcode_svg(ret.number),
            "return_address": address,
            # An address that starts with the shop's name is not given the name twice.
            "address_names_shop": address.strip().lower().startswith(shop.name.strip().lower()),
            "instructions": policy.instructions,
        },
        using="django",
    )


def label_pdf(shop: Shop, ret: ReturnRequest) -> bytes:
    return HTML(string=label_html(shop, ret), url_fetcher=_ONLY_INLINE).write_pdf()
