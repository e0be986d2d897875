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
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import DatabaseError, IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from aftercart.core import schedule, stopping
from aftercart.core.bulk import update_rows
from aftercart.core.events import DomainEvent, publish_many
from aftercart.core.models import Shop
from aftercart.core.queues import in_index_order
from aftercart.customers.models import Customer, Suppression
from aftercart.customers.services import local_zone, suppression_reason
from aftercart.messaging import esp, links, mime, rules
from aftercart.messaging.context import message_context
from aftercart.messaging.courier import Courier, CourierLost
from aftercart.messaging.kinds import kind as kind_of
from aftercart.messaging.models import Message, MessageTemplate
from aftercart.messaging.rendering import Rendered, Source, read_default, render
from aftercart.orders.queries import orders_with_items

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


def new_message(
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
    to_email: str = "",
) -> Message:
    """A message for the outbox, not saved yet (queue_message or queue_messages saves it).

    `to_email`: another address than the customer's (the order's own, for its status link)."""
    spec = kind_of(kind)
    due = due_at or timezone.now()
    return Message(
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
        to_email=to_email or customer.email,
        locale=message_locale(shop, customer, order_locale),
    )


def queue_message(shop: Shop, kind: str, **fields) -> tuple[Message, bool]:
    """Put a message in the outbox; returns (message, created). The same key twice: no-op.

    `fields` are new_message's."""
    message = new_message(shop, kind, **fields)
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:  # queued by another process a moment ago
        return Message.objects.get(shop=shop, dedupe_key=message.dedupe_key), False
    _send_soon([message])
    return message, True


def queue_messages(messages: list[Message]) -> None:
    """Put a batch of new messages in the outbox in one statement (their ids are set).

    All or nothing: a dedupe key queued already raises IntegrityError (and, inside a
    transaction, spoils it). The caller then queues them one at a time with
    queue_message, which takes a duplicate as a no-op. A batch of flow steps does so."""
    if messages:
        Message.objects.bulk_create(messages)
        _send_soon(messages)


def _send_soon(messages: list[Message]) -> None:
    if any(m.due_at <= timezone.now() + timedelta(seconds=5) for m in messages):
        from aftercart.messaging.tasks import send_messages

        schedule.soon(send_messages)  # later ones: the periodic sender, every few seconds


@dataclass(frozen=True)
class Decision:
    send: bool = False
    suppress: str = ""  # the reason, when it is not sent
    postpone_until: datetime | None = None


def decide(
    message: Message, shop: Shop, now: datetime, suppressed: dict[str, str] | None = None
) -> Decision:
    """Whether the message goes now, later, or not at all, with the state of this moment.

    suppressed: the suppression list's entries for a batch's addresses, read at once
    ({address: reason}); without it the list is asked for this address."""
    customer = message.customer
    if suppressed is None:
        listed = lambda: suppression_reason(shop, message.to_email)  # noqa: E731
    else:
        listed = lambda: suppressed.get((message.to_email or "").strip().lower())  # noqa: E731
    if customer is None or customer.erased_at:
        return Decision(suppress="the customer's data was erased")
    if message.expires_at and now > message.expires_at:
        return Decision(suppress="expired: it could not be sent while it still made sense")
    if not message.marketing:
        # Order mail always goes, but not to an address that does not exist (a hard bounce
        # reported by the provider): sending to one again hurts every other email's delivery.
        if listed() == Suppression.Reason.BOUNCED:
            return Decision(suppress="the address bounced: it does not exist")
        return Decision(send=True)
    refusal = rules.marketing_refusal(customer.accepts_marketing, listed)
    if refusal:
        return Decision(suppress=refusal)
    later = _after_quiet_hours(shop, customer, now) or _next_free_slot(shop, customer, now)
    if later is None:
        return Decision(send=True)
    if message.expires_at and later > message.expires_at:
        return Decision(suppress="the frequency cap or quiet hours left no time before it expired")
    return Decision(postpone_until=later)


def _after_quiet_hours(shop: Shop, customer: Customer, now: datetime) -> datetime | None:
    """The end of the quiet hours if `now` falls in them (customer's local time), else None."""
    zone = local_zone(shop, customer)
    return rules.after_quiet_hours(shop.quiet_hours_start, shop.quiet_hours_end, zone, now)


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
    return rules.next_free_slot(recent, shop.marketing_cap, window, now)


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


def next_due_at() -> datetime | None:
    """When the next queued message falls due (the index on status and due_at answers it)."""
    return (
        Message.objects.filter(status=Message.Status.QUEUED, due_at__gt=timezone.now())
        .order_by("due_at")
        .values_list("due_at", flat=True)
        .first()
    )


BATCH = 50  # messages decided and rendered in one transaction, sent over one connection


def send_due(*, limit: int | None = None, batch: int = BATCH) -> dict[str, int]:
    """Send every message that is due; returns how many were sent, held, postponed, failed.

    Messages are claimed a batch at a time (decided and rendered, and committed as
    `sending`), then handed to the mail server one by one over one connection, each marked
    `sent` as soon as the server took it. A crash in between leaves one `sending`: never
    sent twice by itself. A backlog over SMTP goes through the courier process, which
    hands a batch over while the next is rendered (a crash then leaves at most its batch).
    """
    done = {"sent": 0, "suppressed": 0, "postponed": 0, "failed": 0, "retry": 0, "unknown": 0}
    # The backend first: a mistake in EMAIL_URL (a provider that does not exist, a setting
    # it needs) stops here with every message still queued, not failed one by one.
    mailer = _Mailer(get_connection())
    courier: Courier | None = None
    courier_wanted = _courier_wanted(mailer)  # until one ends: not a new fork per batch
    in_hand: list[Message] = []  # the batch the courier is handing over
    # What is due now: under a steady stream this run ends, and the flow steps queueing
    # the next emails get their turn in the worker (see flows.run_due).
    due_by = timezone.now()
    try:
        # A worker asked to stop ends after the batch in hand; the rest stay due.
        while not stopping.requested():
            handled = sum(done.values()) + len(in_hand)
            if limit is not None and handled >= limit:
                break
            size = batch if limit is None else min(batch, limit - handled)
            claimed = _claim_batch(done, size, due_by)  # while the courier hands over the last
            if in_hand:
                batch_in_hand, in_hand = in_hand, []  # answered once, even if recording fails
                courier = _settle(courier, batch_in_hand, done)
                courier_wanted = courier is not None
            if claimed is None:
                break
            if courier is None and courier_wanted and len(claimed) == size:
                # A full batch, so more are due: the next is rendered while this one goes.
                courier = _start_courier(mailer)
                courier_wanted = courier is not None
            if courier is not None:
                if _hand_to(courier, claimed):
                    in_hand = claimed
                    continue
                courier, courier_wanted = None, False  # it ended before taking the batch
            _deliver_batch(claimed, mailer, done)
    finally:
        if in_hand:
            batch_in_hand, in_hand = in_hand, []
            courier = _settle(courier, batch_in_hand, done)
        if courier is not None:
            courier.stop()
        mailer.close()
    return done


def _courier_wanted(mailer: "_Mailer") -> bool:
    # Plain SMTP only: API backends (django-anymail) answer in one request each.
    return type(mailer.connection) is SmtpBackend and bool(settings.EMAIL_COURIER)


def _start_courier(mailer: "_Mailer") -> Courier | None:
    mailer.close()  # the courier opens its own connection
    try:
        return Courier(mailer)
    except OSError:  # no process to be had (memory, limits): the worker sends by itself
        log.exception("the courier process could not be started")
        return None


def _hand_to(courier: Courier, messages: list[Message]) -> bool:
    """Give the courier a batch; False when it has ended (it is stopped, and nothing of the
    batch went out: the worker sends it itself)."""
    try:
        courier.hand_over([(m.pk, _parts(m)) for m in messages], BATCH_SECONDS)
    except CourierLost:
        log.error("the courier ended before it took a batch; sending without it")
        courier.stop()
        return False
    return True


def _settle(courier: Courier, messages: list[Message], done: dict[str, int]) -> Courier | None:
    """Record what the courier did with a batch; returns the courier, or None when it ended
    (the worker then goes on sending by itself)."""
    try:
        answers = courier.results()
    except CourierLost as exc:
        log.error("the courier stopped with %s emails in its hands", len(messages))
        Message.objects.filter(
            pk__in=[m.pk for m in messages], status=Message.Status.SENDING
        ).update(reason=f"unknown whether it went out ({exc})"[:300])
        done["unknown"] += len(messages)
        courier.stop()
        return None
    by_pk = {m.pk: m for m in messages}
    marks = [
        _sent_row(pk, datetime.fromtimestamp(value, tz=UTC))
        for pk, stage, value in answers
        if stage == "sent"
    ]
    if marks:
        # One round of statements (psycopg pipelines executemany), one commit.
        with transaction.atomic(), db_connection.cursor() as cursor:
            cursor.executemany(_MARK_SENT, marks)
    sent = [_event(by_pk[pk], Message.Status.SENT) for pk, stage, _ in answers if stage == "sent"]
    done["sent"] += len(sent)
    for pk, stage, exc in answers:
        if stage == "prepare":  # e.g. a header the mail library refuses: retrying won't help
            done[_failed(by_pk[pk], exc, retry=False)] += 1
        elif stage == "ready":  # the server could not be reached: nothing went out
            done[_failed(by_pk[pk], exc)] += 1
        elif stage == "send":
            done[_refused(by_pk[pk], exc)] += 1
    answered = {pk for pk, _, _ in answers}
    _requeue([m.pk for m in messages if m.pk not in answered])  # the batch ran out of time
    publish_many(sent)
    return courier


def _requeue(pks: list[int]) -> None:
    """Claimed but not handed to the server: back to the queue, as they were before."""
    if pks:
        Message.objects.filter(pk__in=pks, status=Message.Status.SENDING).update(
            status=Message.Status.QUEUED, sent_at=None, attempts=F("attempts") - 1
        )


def _claim_batch(
    done: dict[str, int], size: int, due_by: datetime | None = None
) -> list[Message] | None:
    """Decide on (and render) up to `size` messages due by `due_by` (now); returns those to
    send now, or None when nothing was due.

    A batch is decided in one transaction with no savepoint per message: on PostgreSQL each
    is two round trips, a tenth of a worker's time when it sends. When a database error
    breaks the transaction (a lock timeout while deciding), all of it is undone and the
    batch decided again with a savepoint per message, so the error fails only its message.
    """
    counts = dict.fromkeys(done, 0)
    try:
        claimed = _claim(counts, size, due_by, careful=False)
    except DatabaseError:
        log.warning("a batch of emails met a database error; deciding it message by message")
        counts = dict.fromkeys(done, 0)
        claimed = _claim(counts, size, due_by, careful=True)
    for outcome, count in counts.items():
        done[outcome] += count
    return claimed


def _claim(
    done: dict[str, int], size: int, due_by: datetime | None, *, careful: bool
) -> list[Message] | None:
    now = timezone.now()
    due_by = now if due_by is None else due_by
    with transaction.atomic():
        # In the order of the (status, -priority, due_at) index: no sort of every queued
        # message (a backlog of 100,000) for each batch.
        with in_index_order():
            messages = list(
                Message.objects.select_for_update(skip_locked=True)
                .filter(status=Message.Status.QUEUED, due_at__lte=due_by)
                .order_by("-priority", "due_at")[:size]
            )
        if not messages:
            return None
        shops = Shop.objects.in_bulk({m.shop_id for m in messages})
        # One decision at a time per customer, so two workers cannot both fill the cap; and
        # the customer as she is now (consent may have changed since the message was
        # queued). Locked in id order, so two workers never wait for each other in a circle.
        customers = {
            c.pk: c
            for c in Customer.objects.select_for_update()
            .filter(pk__in={m.customer_id for m in messages if m.customer_id})
            .order_by("pk")
        }
        try:
            with transaction.atomic() if careful else nullcontext():
                orders = _orders_of(messages)
        except DatabaseError:
            if not careful:
                raise
            log.exception("the orders of a batch of emails could not be read")
            orders = {}  # each message reads its own
        suppressed = _suppressed(messages)
        sources: dict[tuple, Source] = {}
        capped: set[int] = set()
        decided = []
        for message in messages:
            if message.marketing and message.customer_id in capped:
                # Her first marketing message in this batch is not counted in the database
                # yet: this one is decided in the next batch, against the cap as it is then.
                continue
            message.shop = shops[message.shop_id]
            message.customer = customers.get(message.customer_id)
            try:
                # Careful: a savepoint each, so a database error (a lock timeout) fails this
                # message, not the transaction the whole batch is in. Otherwise the error
                # ends the attempt (see _claim_batch).
                with transaction.atomic() if careful else nullcontext():
                    _decide_and_render(message, now, done, orders, sources, suppressed)
            except DatabaseError as exc:
                if not careful:
                    raise
                log.exception("message %s could not be decided on", message.pk)
                message.status = Message.Status.FAILED
                message.reason = f"could not be decided on: {exc}"[:300]
                done["failed"] += 1
            if message.marketing and message.status == Message.Status.SENDING:
                capped.add(message.customer_id)
            decided.append(message)
        update_rows(
            Message, _CLAIMED, ([*(getattr(m, f) for f in _CLAIMED), m.pk] for m in decided)
        )
        publish_many(
            _event(m, m.status, reason=m.reason)
            for m in decided
            if m.status in (Message.Status.SUPPRESSED, Message.Status.FAILED)
        )
    return [m for m in decided if m.status == Message.Status.SENDING]


def _event(message: Message, status: str, **more) -> DomainEvent:
    """message.sent, .failed or .suppressed: for outgoing webhooks (ids, never the text)."""
    return DomainEvent(
        f"message.{status}",
        message.shop_id,
        {
            "message_id": message.pk,
            "kind": message.kind,
            "customer_id": message.customer_id,
            "order_id": message.order_id,
            "flow_id": message.flow_id,
            **more,
        },
    )


_CLAIMED = [
    "status",
    "reason",
    "due_at",
    "subject",
    "html",
    "text",
    "attempts",
    "sending_at",
    "sent_at",
    "message_id",
]


def _orders_of(messages: list[Message]) -> dict[int, object]:
    by_shop: dict[int, set[int]] = {}
    for message in messages:
        if message.order_id:
            by_shop.setdefault(message.shop_id, set()).add(message.order_id)
    found = {}
    for shop_id, ids in by_shop.items():
        found.update(orders_with_items(shop_id, ids))
    return found


def _suppressed(messages: list[Message]) -> dict[tuple[int, str], str]:
    """The suppression list's entries for a batch's addresses, per shop, in one query."""
    addresses = {(m.shop_id, (m.to_email or "").strip().lower()) for m in messages}
    found: dict[tuple[int, str], str] = {}
    rows = Suppression.objects.filter(
        shop_id__in={shop for shop, _ in addresses}, email__in={a for _, a in addresses}
    ).values_list("shop_id", "email", "reason")
    for shop_id, email, reason in rows:
        if (shop_id, email) in addresses:
            found[(shop_id, email)] = reason
    return found


def _decide_and_render(
    message: Message,
    now: datetime,
    done: dict[str, int],
    orders: dict,
    sources: dict,
    suppressed: dict[tuple[int, str], str],
) -> None:
    shop = message.shop
    mine = {email: reason for (shop_id, email), reason in suppressed.items() if shop_id == shop.pk}
    try:
        decision = decide(message, shop, now, mine)
    except DatabaseError:
        raise  # the transaction may be broken: the batch decides (see _claim_batch)
    except Exception as exc:
        # Like a broken template: this message fails with the reason, the rest go on.
        log.exception("message %s could not be decided on", message.pk)
        message.status = Message.Status.FAILED
        message.reason = f"could not be decided on: {exc}"[:300]
        done["failed"] += 1
        return
    if decision.suppress:
        message.status, message.reason = Message.Status.SUPPRESSED, decision.suppress
        done["suppressed"] += 1
        return
    if decision.postpone_until:
        message.due_at = decision.postpone_until
        message.reason = "postponed by quiet hours or the frequency cap"
        done["postponed"] += 1
        return
    try:
        key = (shop.pk, message.kind, message.locale)
        if key not in sources:
            sources[key] = source(shop, message.kind, message.locale)
        order = orders.get(message.order_id) if message.order_id else None
        rendered = render(sources[key], message_context(message, shop, order=order))
    except DatabaseError:
        raise
    except Exception as exc:
        # A broken template must not block the queue behind it: this one fails with the
        # reason, shown in the outbox, and the rest go on.
        log.exception("message %s could not be rendered", message.pk)
        message.status = Message.Status.FAILED
        message.reason = f"could not be rendered: {exc}"[:300]
        done["failed"] += 1
        return
    message.subject, message.html, message.text = rendered.subject, rendered.html, rendered.text
    message.status, message.attempts = Message.Status.SENDING, message.attempts + 1
    message.sending_at = message.sent_at = now  # sent_at: counts toward the cap now
    message.message_id = make_msgid(domain=_sender_domain(shop))


def _envelope(address: str) -> str:
    """The address for the SMTP envelope: a non-ASCII domain in punycode, as Django's SMTP
    backend does (its check costs a tenth of a millisecond, so ASCII is let through)."""
    return address if address.isascii() else sanitize_address(address, settings.DEFAULT_CHARSET)


class _Mailer:
    """One connection to the mail server for a run of messages, opened when first needed;
    one that sat idle is checked (NOOP) before it is used again, and opened anew when the
    server has dropped it. A message is never handed over twice."""

    IDLE = 5.0  # seconds unused before the connection is checked

    def __init__(self, connection) -> None:
        self.connection = connection
        self.opened = False
        self.used_at = 0.0

    def ready(self) -> None:
        """Open the connection (again), before a message is handed over: a failure here
        means nothing went out."""
        if self.opened and time.monotonic() - self.used_at > self.IDLE and not self._alive():
            self.close()
        if not self.opened:
            self.connection.open()
            self.opened = True

    def prepare(self, message: Message) -> tuple:
        """The message as this backend takes it. Plain SMTP: its bytes, built directly
        (mime.raw_email, a tenth of what Python's email package takes); other backends:
        Django's email object."""
        if type(self.connection) is SmtpBackend:
            return self.from_parts(_parts(message))
        return (build_email(message),)

    @staticmethod
    def from_parts(parts: dict) -> tuple:
        """(envelope sender, envelope recipients, the email's bytes) for plain SMTP."""
        raw = mime.raw_email(**parts)  # first: it refuses a line break in an address
        return (_envelope(parts["from_email"]), [_envelope(a) for a in parts["to"]], raw)

    def send(self, prepared: tuple) -> tuple[object, object]:
        """Hand it over; returns (the backend, the email object or None)."""
        if len(prepared) == 3:
            self.connection.connection.sendmail(*prepared)
            email = None
        else:
            email = prepared[0]
            self.connection.send_messages([email])
        self.used_at = time.monotonic()
        return self.connection, email

    def _alive(self) -> bool:
        smtp = getattr(self.connection, "connection", None)
        if not isinstance(smtp, smtplib.SMTP):
            return True  # an API backend: each send is a request of its own
        try:
            return smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def close(self) -> None:
        if self.opened:
            try:
                # The server took the mail; a failure saying goodbye must not send it again.
                self.connection.close()
            except Exception:
                log.warning("closing the mail connection failed")
            self.opened = False


BATCH_SECONDS = 120.0  # a batch hands over no more after this; the rest go back to the queue


def _deliver_batch(messages: list[Message], mailer: _Mailer, done: dict[str, int]) -> None:
    """Hand the batch over one message at a time, each marked `sent` the moment the server
    took it (a crash leaves at most one that went out looking unsent)."""
    started, handed = time.monotonic(), 0
    sent = []
    try:
        for message in messages:
            if time.monotonic() - started > BATCH_SECONDS:
                break  # a slow server: well before they would look stuck (STUCK_AFTER)
            handed += 1
            outcome = _deliver(message, mailer)
            done[outcome] += 1
            if outcome == "sent":
                sent.append(_event(message, Message.Status.SENT))
    finally:
        # Not handed to the server (the batch ran out of time, or this worker is stopping).
        _requeue([m.pk for m in messages[handed:]])
        # message.sent for the batch at once: one look for the shops' webhook endpoints.
        publish_many(sent)


_MARK_SENT = (
    f"UPDATE {Message._meta.db_table} SET status = %s, sent_at = %s, reason = %s,"  # noqa: S608
    " provider_id = %s WHERE id = %s AND status = %s"
)


def _deliver(message: Message, mailer: _Mailer) -> str:
    """Hand one message to the mail server and mark it `sent`; returns what became of it:
    "sent", "retry", "failed", or "unknown" (left `sending`)."""
    try:
        prepared = mailer.prepare(message)
    except Exception as exc:  # e.g. a header the mail library refuses: retrying won't help
        return _failed(message, exc, retry=False)
    try:
        mailer.ready()
    except Exception as exc:
        mailer.close()
        return _failed(message, exc)  # the server could not be reached: nothing went out
    try:
        connection, email = mailer.send(prepared)
    except Exception as exc:
        mailer.close()
        return _refused(message, exc)
    status = getattr(email, "anymail_status", None)
    provider_id = getattr(status, "message_id", None)  # a set when recipients differ
    kept = getattr(connection, "keeps_mail", False)
    # One plain statement per message (the ORM's update costs four times as much).
    with db_connection.cursor() as cursor:
        cursor.execute(
            _MARK_SENT,
            _sent_row(
                message.pk,
                timezone.now(),
                "kept in the outbox, not delivered (EMAIL_URL=outbox://)" if kept else "",
                "" if provider_id is None else str(provider_id)[:200],
            ),
        )
    return "sent"


def _sent_row(pk: int, sent_at: datetime, reason: str = "", provider_id: str = "") -> list:
    at = db_connection.ops.adapt_datetimefield_value(sent_at)
    return [Message.Status.SENT, at, reason, provider_id, pk, Message.Status.SENDING]


def _refused(message: Message, exc: Exception) -> str:
    """What a failure while handing a message over means for it.

    An answer from the server says what happened: a 4xx (or an API's 429 or 5xx) took
    nothing and asks for later; a 5xx (an API's other 4xx) will never take it. No answer
    (the line dropped, a timeout) and it may have gone out: it is left `sending` for the
    merchant to decide, never sent again by itself."""
    smtp_code = getattr(exc, "smtp_code", None)
    api_status = getattr(exc, "status_code", None)  # django-anymail: the provider's answer
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [answer[0] for answer in exc.recipients.values()]
        smtp_code = 450 if codes and all(400 <= c < 500 for c in codes) else 550
    if smtp_code:
        return _failed(message, exc, retry=smtp_code < 500)
    if api_status:
        return _failed(message, exc, retry=api_status == 429 or api_status >= 500)
    if isinstance(exc, smtplib.SMTPException | OSError):
        log.warning("message %s: unknown whether it went out: %s", message.pk, exc)
        Message.objects.filter(pk=message.pk).update(
            reason=f"unknown whether it went out ({type(exc).__name__}: {exc})"[:300]
        )
        return "unknown"
    return _failed(message, exc, retry=False)  # refused before sending (a bad address …)


def _failed(message: Message, exc: Exception, *, retry: bool = True) -> str:
    """Nothing went out: try again later (the server refused or could not be reached), or
    give up at once when trying again cannot help."""
    log.warning("message %s not sent: %s", message.pk, exc)
    error = f"{type(exc).__name__}: {exc}"[:300]
    if not retry or message.attempts > len(RETRY_AFTER):
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, reason=error, sent_at=None
        )
        publish_many([_event(message, Message.Status.FAILED, reason=error)])
        return "failed"
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.QUEUED,
        reason=error,
        sent_at=None,
        due_at=timezone.now() + RETRY_AFTER[message.attempts - 1],
    )
    return "retry"


def _parts(message: Message) -> dict:
    """The email's subject, addresses, headers and bodies (for mime.raw_email)."""
    shop = message.shop
    headers = {"Message-ID": message.message_id, "X-Aftercart-Message": message.dedupe_key}
    # A reply in a conversation (support.services.reply): her mail app threads it.
    thread = (message.extra or {}).get("thread") or {}
    if thread.get("in_reply_to"):
        headers["In-Reply-To"] = thread["in_reply_to"]
        headers["References"] = thread.get("references") or thread["in_reply_to"]
    if message.marketing:
        # RFC 8058: mail apps offer "unsubscribe" and POST to the https link, no login. The
        # mailto: only when a mailbox is set whose mail reaches us (esp.on_inbound).
        offered = [f"<{links.unsubscribe_url(shop.id, message.to_email)}>"]
        if mailto := esp.unsubscribe_mailto(shop.id, message.to_email):
            offered.append(f"<{mailto}>")
        headers["List-Unsubscribe"] = ", ".join(offered)
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return {
        "subject": message.subject,
        "from_email": _sender(shop),
        "to": [message.to_email],
        "reply_to": [shop.reply_to] if shop.reply_to else None,
        "headers": headers,
        "text": message.text,
        "html": message.html,
    }


def build_email(message: Message) -> EmailMultiAlternatives:
    """The message as Django's email object, for any email backend."""
    parts = _parts(message)
    email = EmailMultiAlternatives(
        subject=parts["subject"],
        body=parts["text"],
        from_email=parts["from_email"],
        to=parts["to"],
        reply_to=parts["reply_to"],
        headers=parts["headers"],
    )
    email.attach_alternative(parts["html"], "text/html")
    # For providers through django-anymail (other backends ignore these): our id comes
    # back in their webhooks; opens and clicks are tracked only when the shop chose to.
    email.metadata = esp.metadata(message)
    email.tags = [message.kind]
    email.track_opens = settings.AFTERCART_TRACK_OPENS
    email.track_clicks = settings.AFTERCART_TRACK_CLICKS
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


def preview(shop: Shop, kind: str, locale: str, *, draft: Source | None = None) -> Rendered | None:
    """The email as a customer would get it now, filled in with the shop's latest order
    (with `draft`: as it would be with that text, before it is saved).

    None when the shop has no order with a customer yet: there is nothing to fill it with.
    """
    spec = kind_of(kind)
    message = _sample_message(shop, spec.key, locale)
    if message is None:
        return None
    text = draft or source(shop, spec.key, locale)
    return render(text, message_context(message, shop))


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
