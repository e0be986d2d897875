"""Email service providers (django-anymail): what their webhooks tell us comes back here.

A hard bounce, a spam complaint or an unsubscribe reported by the provider puts the
address on the shop's suppression list, so no marketing mail goes to it again (and, after
a hard bounce, no mail at all: the address does not exist). A reply to the `mailto:`
unsubscribe address of List-Unsubscribe (through the provider's inbound webhook)
unsubscribes like the link does.
"""

import logging
import re

from anymail.signals import inbound, tracking
from django.conf import settings
from django.db import transaction

from aftercart.core.models import Shop
from aftercart.customers.models import Customer, Suppression
from aftercart.customers.services import suppress, unsubscribe_address
from aftercart.messaging import links
from aftercart.messaging.models import Message

log = logging.getLogger(__name__)

# The provider's verdict -> why we stop mailing the address. A "rejected" send (the
# provider refused it, usually because the address is on its own list) says why in
# reject_reason.
SUPPRESSING = {
    "bounced": Suppression.Reason.BOUNCED,
    "complained": Suppression.Reason.COMPLAINED,
    "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
}
REJECTED = {
    "bounced": Suppression.Reason.BOUNCED,
    "invalid": Suppression.Reason.BOUNCED,
    "spam": Suppression.Reason.COMPLAINED,
    "unsubscribed": Suppression.Reason.UNSUBSCRIBED,
}
_TOKEN = re.compile(r"unsubscribe\s+(\S+)", re.I)


def metadata(message: Message) -> dict[str, str]:
    """Sent along with each message; providers hand it back in their webhooks."""
    return {"aftercart_message": str(message.pk)}


def on_tracking(sender, event, esp_name: str, **kwargs) -> None:
    reason = SUPPRESSING.get(event.event_type)
    if event.event_type == "rejected":
        reason = REJECTED.get(event.reject_reason or "")
    if reason is None or not event.recipient:
        return  # delivered, opened, deferred …: nothing to stop
    message = _message_of(event)
    detail = f"{esp_name}: {event.description or event.reject_reason or event.event_type}"
    with transaction.atomic():
        if message is not None:
            Message.objects.filter(pk=message.pk).update(
                reason=f"{event.event_type} ({detail})"[:300]
            )
        if reason == Suppression.Reason.BOUNCED and not _address_is_dead(event, esp_name):
            return  # a full mailbox, a server down for a day: noted on the email only
        for shop in _shops_of(message, event.recipient, reason):
            suppress(shop, event.recipient, reason, detail=detail)


def _address_is_dead(event, esp_name: str) -> bool:
    """A hard bounce: the provider says so, or, when it does not say, the address bounced
    before too. Providers report soft bounces (a full mailbox) as bounces as well."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    name = esp_name.lower()
    says: bool | None = None
    if name == "postmark":
        says = raw.get("Type") == "HardBounce"
    elif name in ("brevo", "sendinblue"):
        says = raw.get("event") == "hard_bounce"
    elif name == "mailgun":
        severity = (raw.get("event-data") or {}).get("severity")
        says = severity == "permanent" if severity else None
    elif name == "sendgrid":
        says = raw.get("type") == "bounce"  # "blocked" is the receiving server's mood
    elif event.reject_reason in ("timed_out", "blocked", "other"):
        says = False
    if says is not None:
        return says
    return (
        Message.objects.filter(
            to_email=event.recipient.strip().lower(), reason__startswith="bounced"
        )
        .exclude(message_id="")
        .count()
        > 1  # this one is noted already
    )


def _message_of(event) -> Message | None:
    pk = (event.metadata or {}).get("aftercart_message")
    if pk and str(pk).isdigit():
        found = Message.objects.filter(pk=int(pk)).select_related("shop").first()
        if found is not None:
            return found
    if event.message_id:
        return Message.objects.filter(provider_id=event.message_id).select_related("shop").first()
    return None


def _shops_of(message: Message | None, address: str, reason: str) -> list[Shop]:
    if message is not None:
        return [message.shop]
    if reason != Suppression.Reason.BOUNCED:
        return []  # a complaint about mail we cannot find is not ours to act on
    # A bounce of a message we cannot find (sent before metadata, by another tool on the
    # same account): an address that does not exist does not exist for any shop.
    ids = Customer.objects.filter(email=address.strip().lower()).values_list("shop_id")
    return list(Shop.objects.filter(pk__in=ids))


def on_inbound(sender, event, esp_name: str, **kwargs) -> None:
    """A mail app's "unsubscribe" by email: the List-Unsubscribe mailto: we offered."""
    mailbox = getattr(settings, "AFTERCART_UNSUBSCRIBE_MAILBOX", "")
    message = event.message
    if not mailbox or message is None:
        return
    to = {a.addr_spec.lower() for a in (message.to or [])} | {
        (message.envelope_recipient or "").lower()
    }
    if mailbox.lower() not in to:
        return
    found = _TOKEN.search(message.subject or "")
    decoded = links.read_unsubscribe_token(found.group(1)) if found else None
    if decoded is None:
        log.info("an email to %s without a valid unsubscribe token was ignored", mailbox)
        return
    shop = Shop.objects.filter(pk=decoded[0]).first()
    if shop is not None:
        unsubscribe_address(shop, decoded[1], source=f"email to {mailbox}")


def unsubscribe_mailto(shop_id: int, email: str) -> str | None:
    """mailto: for List-Unsubscribe, when a mailbox whose mail reaches us is set."""
    mailbox = getattr(settings, "AFTERCART_UNSUBSCRIBE_MAILBOX", "")
    if not mailbox:
        return None
    return f"mailto:{mailbox}?subject=unsubscribe%20{links.unsubscribe_token(shop_id, email)}"


tracking.connect(on_tracking, dispatch_uid="aftercart.messaging.esp.tracking")
inbound.connect(on_inbound, dispatch_uid="aftercart.messaging.esp.inbound")
