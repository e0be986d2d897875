"""Email to the shop's support address, pushed to us as it arrived (raw RFC 5322), or
received by the shop's email provider for its reply-to address (django-anymail).

Whatever receives the shop's mail forwards each message here: a mail server piping it to
`curl`, or an email provider's "forward the raw message" webhook. The body is signed like
the store webhooks (base64 HMAC-SHA256 of the raw body, X-Aftercart-Signature) with the
shop's inbound secret; a bad signature stores and reads nothing. support.services then
threads it into its ticket or opens one.
"""

import logging

from anymail.signals import inbound
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aftercart.core.crypto import decrypt
from aftercart.core.models import Shop
from aftercart.integrations.services import signature_matches
from aftercart.support import services
from aftercart.support.inbound import UnreadableEmail, read_email
from aftercart.support.models import SupportSettings

HEADER = "X-Aftercart-Signature"
log = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def inbound_mail(request: HttpRequest, shop_slug: str) -> JsonResponse:
    shop = Shop.objects.filter(slug=shop_slug).first()
    if shop is None:
        return JsonResponse({"error": f"no shop {shop_slug!r}"}, status=404)
    row = SupportSettings.objects.filter(shop=shop).first()
    secret = decrypt(row.inbound_secret) if row and row.inbound_secret else ""
    body = request.body
    if not secret or not signature_matches(secret, body, request.headers.get(HEADER)):
        return JsonResponse({"error": f"{HEADER} does not match the body"}, status=401)
    try:
        mail = read_email(body)
    except UnreadableEmail as problem:
        return JsonResponse({"error": str(problem)}, status=400)
    try:
        ticket, opened = services.receive_email(shop, mail)
    except services.TicketProblem as problem:
        return JsonResponse({"error": str(problem)}, status=422)
    return JsonResponse({"ticket": ticket.number, "opened": opened})


def on_esp_inbound(sender, event, esp_name: str, **kwargs) -> None:
    """An email an email provider received for a shop's reply-to address (its inbound
    webhook, verified by django-anymail): the customer answering one of our emails, or
    writing to that address. The shop is the one whose reply-to address it was sent to."""
    message = event.message
    if message is None:
        return
    recipients = {a.addr_spec.lower() for a in (message.to or [])} | {
        (message.envelope_recipient or "").lower()
    }
    recipients.discard("")
    shops = [s for s in Shop.objects.exclude(reply_to="") if s.reply_to.lower() in recipients]
    if len(shops) != 1:
        log.info("inbound email from %s to %s: no single shop of ours", esp_name, recipients)
        return
    try:
        services.receive_email(shops[0], read_email(message.as_bytes()))
    except (UnreadableEmail, services.TicketProblem) as problem:
        log.warning("inbound email from %s not kept: %s", esp_name, problem)


inbound.connect(on_esp_inbound, dispatch_uid="aftercart.integrations.inbound_mail.esp")
