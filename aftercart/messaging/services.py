"""The outbox: queue a message once, decide at send time, send at most once.

A message is a row before it is sent (its dedupe key is unique per shop, so asking for
the same message twice is a no-op). When it is due, a worker claims it in a transaction
and decides with the state of that moment: consent and the suppression list, quiet
hours and the frequency cap for marketing mail, expiry. A message it sends is marked
`sending` and committed BEFORE the mail goes out, then `sent`: a crash in between leaves
it in `sending`, and it is never sent again by itself; the merchant decides (at most
once, rather than twice).
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercart.core import schedule
from aftercart.core.models import Shop
from aftercart.customers.models import Customer
from aftercart.customers.services import local_zone, suppression_reason
from aftercart.messaging import links
from aftercart.messaging.context import message_context
from aftercart.messaging.kinds import kind as kind_of
from aftercart.messaging.models import Message, MessageTemplate
from aftercart.messaging.rendering import Rendered, Source, read_default, render

log = logging.getLogger(__name__)
LANGUAGES = tuple(code for code, _name in settings.LANGUAGES)  # what templates exist in
RETRY_AFTER = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
]
STUCK_AFTER = timedelta(minutes=10)  # `sending` this long: the worker died mid-send


def message_locale(shop: Shop, customer: Customer | None, order_locale: str = "") -> str:
    """The order's language, else the customer's, else the shop's; English if none is ours."""
    for candidate in (order_locale, customer.locale if customer else "", shop.locale):
        language = (candidate or "").split("-")[0].split("_")[0].lower()
        if language in LANGUAGES:
            return language
    return "en"


def queue_message(
    shop: Shop,
    kind: str,
    *,
    customer: Customer,
    dedupe_key: str,
    order_id: int | None = None,
    shipment_id: int | None = None,
    order_locale: str = "",
    due_at: datetime | None = None,
    extra: dict | None = None,
    flow_id: int | None = None,
) -> tuple[Message, bool]:
    """Put a message in the outbox; returns (message, created). The same key twice: no-op."""
    spec = kind_of(kind)
    due = due_at or timezone.now()
    existing = Message.objects.filter(shop=shop, dedupe_key=dedupe_key).first()
    if existing:
        return existing, False
    message = Message(
        shop=shop,
        customer=customer,
        order_id=order_id,
        shipment_id=shipment_id,
        extra=extra or {},
        flow_id=flow_id,
        kind=spec.key,
        marketing=spec.marketing,
        priority=spec.priority,
        dedupe_key=dedupe_key[:200],
        due_at=due,
        expires_at=due + spec.expires_after if spec.expires_after else None,
        to_email=customer.email,
        locale=message_locale(shop, customer, order_locale),
    )
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:  # queued by another process a moment ago
        return Message.objects.get(shop=shop, dedupe_key=dedupe_key), False
    if due <= timezone.now() + timedelta(seconds=5):
        from aftercart.messaging.tasks import send_messages

        schedule.soon(send_messages)  # later ones: the periodic sender, every few seconds
    return message, True


@dataclass(frozen=True)
class Decision:
    send: bool = False
    suppress: str = ""  # the reason, when it is not sent
    postpone_until: datetime | None = None


def decide(message: Message, shop: Shop, now: datetime) -> Decision:
    """Whether the message goes now, later, or not at all, with the state of this moment."""
    customer = message.customer
    if customer is None or customer.erased_at:
        return Decision(suppress="the customer's data was erased")
    if message.expires_at and now > message.expires_at:
        return Decision(suppress="expired: it could not be sent while it still made sense")
    if not message.marketing:
        return Decision(send=True)
    if not customer.accepts_marketing:
        return Decision(suppress="no recorded consent to marketing mail")
    reason = suppression_reason(shop, message.to_email)
    if reason:
        return Decision(suppress=f"the address is on the suppression list ({reason})")
    later = _after_quiet_hours(shop, customer, now) or _next_free_slot(shop, customer, now)
    if later is None:
        return Decision(send=True)
    if message.expires_at and later > message.expires_at:
        return Decision(suppress="the frequency cap or quiet hours left no time before it expired")
    return Decision(postpone_until=later)


def _after_quiet_hours(shop: Shop, customer: Customer, now: datetime) -> datetime | None:
    """The end of the quiet hours if `now` falls in them (customer's local time), else None."""
    start, end = shop.quiet_hours_start, shop.quiet_hours_end
    if start == end:
        return None
    local = now.astimezone(local_zone(shop, customer))
    quiet = (start <= local.hour or local.hour < end) if start > end else start <= local.hour < end
    if not quiet:
        return None
    wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if wake <= local:
        wake = (local + timedelta(days=1)).replace(hour=end, minute=0, second=0, microsecond=0)
        wake = wake.replace(tzinfo=local.tzinfo)  # the same wall-clock hour after a DST change
    return wake


def _next_free_slot(shop: Shop, customer: Customer, now: datetime) -> datetime | None:
    """When the customer may get another marketing message, if the cap is full now."""
    window = timedelta(days=shop.marketing_cap_days)
    recent = list(
        Message.objects.filter(
            customer=customer,
            marketing=True,
            status__in=[Message.Status.SENT, Message.Status.SENDING],
            sent_at__gt=now - window,
        )
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)[: shop.marketing_cap]
    )
    if len(recent) < shop.marketing_cap:
        return None
    return recent[-1] + window  # when the oldest of the last `cap` leaves the window


def source(shop: Shop, kind: str, locale: str) -> Source:
    """The shop's own template for the kind and language, else Aftercart's default."""
    languages = list(dict.fromkeys((locale, shop.locale, "en")))
    own = {
        t.locale: t
        for t in MessageTemplate.objects.filter(shop=shop, kind=kind, locale__in=languages)
    }
    for language in languages:
        if language in own:
            t = own[language]
            return Source(t.subject, t.preheader, t.body, language, str(t.version))
        default = read_default(kind, language)
        if default:
            return default
    raise ValueError(f"no template for {kind!r}")


def send_due(*, limit: int | None = None) -> dict[str, int]:
    """Send every message that is due; returns how many were sent, held, postponed, failed."""
    done = {"sent": 0, "suppressed": 0, "postponed": 0, "failed": 0, "retry": 0}
    while limit is None or sum(done.values()) < limit:
        claimed = _claim_next(done)
        if claimed is None:
            break
        if claimed.status == Message.Status.SENDING:
            done[_deliver(claimed)] += 1
    return done


def _claim_next(done: dict[str, int]) -> Message | None:
    now = timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Message.Status.QUEUED, due_at__lte=now)
            .select_related("shop", "customer")
            .order_by("-priority", "due_at", "id")
            .first()
        )
        if message is None:
            return None
        if message.customer_id:
            # One decision at a time per customer, so two workers cannot both fill the cap;
            # and the customer as she is now (consent may have changed since the read).
            message.customer = (
                Customer.objects.select_for_update().filter(pk=message.customer_id).first()
            )
        try:
            decision = decide(message, message.shop, now)
        except Exception as exc:
            # Like a broken template: this message fails with the reason, the rest go on.
            log.exception("message %s could not be decided on", message.pk)
            message.status = Message.Status.FAILED
            message.reason = f"could not be decided on: {exc}"[:300]
            done["failed"] += 1
            message.save()
            return message
        if decision.suppress:
            message.status, message.reason = Message.Status.SUPPRESSED, decision.suppress
            done["suppressed"] += 1
        elif decision.postpone_until:
            message.due_at = decision.postpone_until
            message.reason = "postponed by quiet hours or the frequency cap"
            done["postponed"] += 1
        else:
            try:
                rendered = render(
                    source(message.shop, message.kind, message.locale),
                    message_context(message, message.shop),
                )
            except Exception as exc:
                # A broken template must not block the queue behind it: this one fails
                # with the reason, shown in the outbox, and the rest go on.
                log.exception("message %s could not be rendered", message.pk)
                message.status = Message.Status.FAILED
                message.reason = f"could not be rendered: {exc}"[:300]
                done["failed"] += 1
                message.save()
                return message
            message.subject, message.html, message.text = (
                rendered.subject,
                rendered.html,
                rendered.text,
            )
            message.status, message.attempts = Message.Status.SENDING, message.attempts + 1
            message.sending_at = message.sent_at = now  # sent_at: counts toward the cap now
            message.message_id = make_msgid(domain=_sender_domain(message.shop))
        message.save()
    return message


def _deliver(message: Message) -> str:
    try:
        email = build_email(message)
        connection = get_connection()
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        return _failed(message, exc)  # nothing went out: try again later
    except Exception as exc:  # e.g. a header the mail library refuses: retrying won't help
        return _failed(message, exc, retry=False)
    try:
        try:
            connection.send_messages([email])
        except (smtplib.SMTPException, OSError) as exc:
            return _failed(message, exc)  # refused before the server took it
        except Exception as exc:
            return _failed(message, exc, retry=False)
    finally:
        try:
            # The server took the mail; a failure saying goodbye must not send it again.
            connection.close()
        except Exception:
            log.warning("closing the mail connection failed after message %s", message.pk)
    status = getattr(email, "anymail_status", None)
    kept = getattr(connection, "keeps_mail", False)
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENT,
        sent_at=timezone.now(),
        reason="kept in the outbox, not delivered (EMAIL_URL=outbox://)" if kept else "",
        provider_id=(getattr(status, "message_id", None) or "")[:200],
    )
    return "sent"


def _failed(message: Message, exc: Exception, *, retry: bool = True) -> str:
    """Nothing went out: try again later (the server refused or could not be reached), or
    give up at once when trying again cannot help."""
    log.warning("message %s not sent: %s", message.pk, exc)
    error = f"{type(exc).__name__}: {exc}"[:300]
    if not retry or message.attempts > len(RETRY_AFTER):
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, reason=error, sent_at=None
        )
        return "failed"
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.QUEUED,
        reason=error,
        sent_at=None,
        due_at=timezone.now() + RETRY_AFTER[message.attempts - 1],
    )
    return "retry"


def build_email(message: Message) -> EmailMultiAlternatives:
    shop = message.shop
    headers = {"Message-ID": message.message_id, "X-Aftercart-Message": message.dedupe_key}
    if message.marketing:
        # RFC 8058: mail apps offer "unsubscribe" and POST to the https link, no login.
        # No mailto: until Aftercart reads incoming mail, nothing would act on it.
        headers["List-Unsubscribe"] = f"<{links.unsubscribe_url(shop.id, message.to_email)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=_sender(shop),
        to=[message.to_email],
        reply_to=[shop.reply_to] if shop.reply_to else None,
        headers=headers,
    )
    email.attach_alternative(message.html, "text/html")
    return email


def _sender(shop: Shop) -> str:
    default_name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((shop.sender_name or shop.name, shop.sender_email or default_address))


def _sender_domain(shop: Shop) -> str:
    return parseaddr(_sender(shop))[1].rpartition("@")[2] or "localhost"


def stuck_messages(shop: Shop):
    """Messages a worker began to send and never finished: only a person can tell."""
    return Message.objects.filter(
        shop=shop, status=Message.Status.SENDING, sending_at__lt=timezone.now() - STUCK_AFTER
    ).order_by("sending_at")


def settle_stuck(message: Message, *, send_again: bool) -> bool:
    """The merchant's decision on a message stuck in `sending`: send it again, or call it
    sent. Returns False when it was no longer stuck (decided already, in another tab)."""
    still_stuck = Message.objects.filter(pk=message.pk, status=Message.Status.SENDING)
    if send_again:
        changed = still_stuck.update(
            status=Message.Status.QUEUED,
            due_at=timezone.now(),
            sent_at=None,
            reason="sent again by the shop after an interrupted send",
        )
    else:
        changed = still_stuck.update(
            status=Message.Status.SENT, reason="marked as sent by the shop"
        )
    return bool(changed)


def withdraw_queued(shop_id: int, dedupe_prefix: str, reason: str) -> int:
    """Messages not sent yet that no longer make sense (their flow ended): not sent."""
    return Message.objects.filter(
        shop_id=shop_id, dedupe_key__startswith=dedupe_prefix, status=Message.Status.QUEUED
    ).update(status=Message.Status.SUPPRESSED, reason=reason[:300])


def withdraw_for_customers(
    shop_id: int, customer_ids: set[int], flow_ids: list[int], reason: str
) -> int:
    """These customers' emails from these flows that have not gone out yet: not sent."""
    if not flow_ids or not customer_ids:
        return 0
    return Message.objects.filter(
        shop_id=shop_id,
        customer_id__in=customer_ids,
        flow_id__in=flow_ids,
        status=Message.Status.QUEUED,
    ).update(status=Message.Status.SUPPRESSED, reason=reason[:300])


def preview(shop: Shop, kind: str, locale: str) -> Rendered | None:
    """The email as a customer would get it now, filled in with the shop's latest order.

    None when the shop has no order with a customer yet: there is nothing to fill it with.
    """
    spec = kind_of(kind)
    message = _sample_message(shop, spec.key, locale)
    if message is None:
        return None
    return render(source(shop, spec.key, locale), message_context(message, shop))


def send_test(shop: Shop, kind: str, locale: str, to_email: str) -> None:
    """Send the preview to the merchant (not recorded in the outbox, never to a customer)."""
    rendered = preview(shop, kind, locale)
    if rendered is None:
        raise ValueError("the shop has no order yet to fill the email with")
    message = Message(
        shop=shop,
        kind=kind,
        marketing=False,
        dedupe_key="test",
        to_email=to_email,
        subject=f"[Test] {rendered.subject}",
        html=rendered.html,
        text=rendered.text,
        message_id=make_msgid(domain=_sender_domain(shop)),
    )
    email = build_email(message)
    email.send()


def _sample_message(shop: Shop, kind: str, locale: str) -> Message | None:
    from aftercart.orders.queries import find_orders

    order = find_orders(shop).filter(customer__isnull=False).prefetch_related("shipments").first()
    if order is None:
        return None
    shipment = next(iter(order.shipments.all()), None)
    spec = kind_of(kind)
    return Message(
        shop=shop,
        customer=order.customer,
        order_id=order.pk,
        shipment_id=shipment.pk if shipment else None,
        kind=kind,
        marketing=spec.marketing,
        to_email=order.customer.email,
        locale=locale,
    )
