"""The only code that changes returns. One transaction per call; events published on commit.

The life of a return:

    requested ─► approved ─► in transit ─► received ─► inspected ─► completed
        │           (automatically, when the policy says so; else by an agent)
        └► rejected                          any open state ─► cancelled

Items can be received before anything is given back; what is given back (a refund, an
exchange order, store credit) is a Settlement per line and quantity, so a return can be
refunded in parts. Every step lands on the order's timeline (orders.services) and is
published as return.<step> with the return's id, for flows (the emails) and webhooks.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation

from aftercart.core.events import publish
from aftercart.core.models import Shop
from aftercart.orders.models import Order, OrderEvent
from aftercart.orders.queries import order_with_items
from aftercart.orders.records import RefundData
from aftercart.orders.services import lock_order, record_refund, record_return_step
from aftercart.returns import outlets
from aftercart.returns.models import (
    CreditEntry,
    ReturnLine,
    ReturnPhoto,
    ReturnRequest,
    Settlement,
)
from aftercart.returns.photos import MAX_PHOTOS, PhotoProblem, clean_photo
from aftercart.returns.policies import policy_for, stored_policy
from aftercart.returns.policy import Decision, Request, Resolution, Verdict, evaluate
from aftercart.returns.queries import (
    circumstances,
    exchange_options,
    line_key,
    returnable_items,
)

CENT = Decimal("0.01")
Status = ReturnRequest.Status
UNDER_WAY = [Settlement.Status.PENDING, Settlement.Status.SENDING, Settlement.Status.MANUAL]


class ReturnProblem(ValueError):
    """A step the return cannot take now (approving a completed return), or bad input."""


class ReturnRefused(Exception):
    """The policy rejects the request; `verdict.reasons` says why, in her language."""

    def __init__(self, verdict: Verdict):
        super().__init__("; ".join(verdict.reasons))
        self.verdict = verdict


@dataclass
class ReturnAsk:
    """What she asks for: per order line (its id), how many; why; and what she wants back."""

    quantities: dict[int, int]
    reason: str
    resolution: str = Resolution.REFUND
    comment: str = ""
    exchange_for: str = ""
    photos: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, content)
    # The same form sent twice makes one return: the portal and the API send one.
    request_key: str = ""
    # For an exchange: per order line, the variant of the same product she wants instead.
    exchange_variants: dict[int, str] = field(default_factory=dict)

    def as_request(self) -> Request:
        try:
            resolution = Resolution(self.resolution)
        except ValueError:
            raise ReturnProblem(
                f"resolution: {self.resolution!r} is not one of "
                + ", ".join(r.value for r in Resolution)
            ) from None
        return Request(
            quantities=self.quantities,
            reason=self.reason,
            resolution=resolution,
            comment=self.comment,
            photos=len(self.photos),
        )


def preview_return(shop: Shop, order: Order, ask: ReturnAsk) -> Verdict:
    """What the policy says, with the amounts, before she confirms. Changes nothing."""
    order = order_with_items(shop, order.pk)
    return evaluate(
        policy_for(shop), returnable_items(order), ask.as_request(), circumstances(shop, order)
    )


def request_return(
    shop: Shop, order: Order, ask: ReturnAsk, *, source: str, by: str = ""
) -> ReturnRequest:
    """Judge the request and keep it: approved at once when the policy allows, waiting for
    an agent when it says a person looks first; a rejection raises ReturnRefused and keeps
    nothing. Photos are checked (PhotoProblem) before anything is written."""
    if len(ask.photos) > MAX_PHOTOS:
        raise PhotoProblem(translation.gettext("Add at most %d photos.") % MAX_PHOTOS)
    photos = [clean_photo(content, name) for name, content in ask.photos]
    if len(ask.comment) > 5000 or len(ask.exchange_for) > 255:
        raise ReturnProblem("comment: at most 5,000 characters; exchange_for: at most 255")
    key = ask.request_key[:64]
    if key:
        earlier = ReturnRequest.objects.filter(shop=shop, request_key=key).first()
        if earlier is not None:
            return earlier
    try:
        with transaction.atomic():
            return _request(shop, order, ask, photos, source=source, by=by, key=key)
    except IntegrityError:
        if key:  # the same form, sent twice at the same moment
            earlier = ReturnRequest.objects.filter(shop=shop, request_key=key).first()
            if earlier is not None:
                return earlier
        raise


def _request(shop, order, ask, photos, *, source, by, key) -> ReturnRequest:
    # Locked: two requests for the same order must not both count its items as returnable.
    locked = lock_order(shop, order.pk)
    order = order_with_items(shop, locked.pk)
    items = returnable_items(order)
    now = timezone.now()
    verdict = evaluate(policy_for(shop), items, ask.as_request(), circumstances(shop, order, now))
    if verdict.decision == Decision.REJECTED:
        raise ReturnRefused(verdict)
    reason = policy_for(shop).reason(ask.reason)
    automatic = verdict.decision == Decision.APPROVED
    ret = ReturnRequest.objects.create(
        shop=shop,
        order=order,
        customer_id=order.customer_id,
        number=_next_number(shop, order),
        status=Status.APPROVED if automatic else Status.REQUESTED,
        resolution=verdict.resolution.value,
        reason=ask.reason,
        reason_label=str(reason.label),
        comment=ask.comment.strip(),
        exchange_for=ask.exchange_for.strip(),
        notes=[str(r) for r in verdict.reasons],
        locale=translation.get_language() or "",
        currency=order.currency,
        items_value=verdict.items_value,
        restocking_fee=verdict.restocking_fee,
        shipping_fee=verdict.shipping_fee,
        refund_amount=verdict.refund,
        store_credit_amount=verdict.store_credit,
        credit_bonus_percent=stored_policy(shop).store_credit_bonus_percent,
        source=source,
        request_key=key,
        requested_at=now,
        decided_at=now if automatic else None,
        decided_by="auto" if automatic else "",
    )
    lines_by_id = {line.pk: line for line in order.lines.all()}
    chosen = _exchange_variants(order, ask) if verdict.resolution == Resolution.EXCHANGE else {}
    ReturnLine.objects.bulk_create(
        [
            ReturnLine(
                request=ret,
                line_external_id=line_key(lines_by_id[lv.item.line_id]),
                title=lines_by_id[lv.item.line_id].title,
                variant_title=lines_by_id[lv.item.line_id].variant_title,
                sku=lv.item.sku,
                product_external_id=lv.item.product,
                category=lv.item.category,
                unit_paid=lv.item.unit_paid,
                quantity=lv.accepted,
                exchange_variant=chosen.get(lv.item.line_id, ("", ""))[0],
                exchange_variant_title=chosen.get(lv.item.line_id, ("", ""))[1],
            )
            for lv in verdict.lines
            if lv.accepted
        ]
    )
    ReturnPhoto.objects.bulk_create(
        [ReturnPhoto(request=ret, image=p.jpeg, width=p.width, height=p.height) for p in photos]
    )
    _step(ret, OrderEvent.Type.RETURN_REQUESTED, "requested", now, by or source)
    publish(
        "return.requested",
        shop.pk,
        **_ids(ret),
        awaiting_review=int(not automatic),
    )
    if automatic:
        _step(ret, OrderEvent.Type.RETURN_APPROVED, "approved", now, "auto")
        publish("return.approved", shop.pk, **_ids(ret), by_agent=0)
    return ret


def _exchange_variants(order: Order, ask: ReturnAsk) -> dict[int, tuple[str, str]]:
    """The variants asked for, each checked to be one of the same product's."""
    options = exchange_options(order)
    chosen = {}
    for line_id, wanted in ask.exchange_variants.items():
        if not wanted:
            continue
        known = dict(options.get(line_id, []))
        if wanted not in known:
            raise ReturnProblem(f"exchange for line {line_id}: {wanted!r} is not a variant of it")
        chosen[line_id] = (wanted, known[wanted])
    return chosen


def _next_number(shop: Shop, order: Order) -> str:
    base = (order.number or order.external_id).lstrip("#")[:30]
    count = ReturnRequest.objects.filter(shop=shop, order=order).count()
    return f"R{base}-{count + 1}"


def _ids(ret: ReturnRequest) -> dict:
    return {
        "order_id": ret.order_id,
        "customer_id": ret.customer_id,
        "return_id": ret.pk,
        "number": ret.number,
    }


def _step(ret: ReturnRequest, type_: str, key: str, at: datetime, by: str, **more) -> None:
    payload = {"return": ret.number, "by": by, **more}
    record_return_step(ret.order, type_, f"return:{ret.pk}:{key}", at, payload, source="aftercart")


def _locked(ret: ReturnRequest, allowed: set[str], doing: str) -> ReturnRequest:
    fresh = ReturnRequest.objects.select_for_update().select_related("order").get(pk=ret.pk)
    if fresh.status not in allowed:
        raise ReturnProblem(
            f"return {fresh.number} is {fresh.get_status_display().lower()}: it cannot be {doing}"
        )
    return fresh


@transaction.atomic
def approve_return(ret: ReturnRequest, *, by: str) -> ReturnRequest:
    ret = _locked(ret, {Status.REQUESTED}, "approved")
    now = timezone.now()
    ret.status, ret.decided_at, ret.decided_by = Status.APPROVED, now, by[:150]
    ret.save(update_fields=["status", "decided_at", "decided_by", "updated_at"])
    _step(ret, OrderEvent.Type.RETURN_APPROVED, "approved", now, by)
    publish("return.approved", ret.shop_id, **_ids(ret), by_agent=1)
    return ret


@transaction.atomic
def reject_return(ret: ReturnRequest, *, by: str, reason: str) -> ReturnRequest:
    """Rejected with a reason she is told (in the email and on her return's page)."""
    if not reason.strip():
        raise ReturnProblem("reason: tell the customer why the return is rejected")
    ret = _locked(ret, {Status.REQUESTED, Status.APPROVED}, "rejected")
    now = timezone.now()
    ret.status, ret.decided_at, ret.decided_by = Status.REJECTED, now, by[:150]
    ret.rejection_reason = reason.strip()[:2000]
    ret.save(update_fields=["status", "decided_at", "decided_by", "rejection_reason", "updated_at"])
    _step(ret, OrderEvent.Type.RETURN_REJECTED, "rejected", now, by, reason=ret.rejection_reason)
    publish("return.rejected", ret.shop_id, **_ids(ret))
    return ret


@transaction.atomic
def mark_shipped_back(ret: ReturnRequest, *, by: str, tracking_number: str = "") -> ReturnRequest:
    ret = _locked(ret, {Status.APPROVED, Status.IN_TRANSIT}, "sent back")
    now = timezone.now()
    if tracking_number.strip():
        ret.tracking_number = tracking_number.strip()[:100]
    if ret.status == Status.APPROVED:
        ret.status, ret.shipped_back_at = Status.IN_TRANSIT, now
        _step(ret, OrderEvent.Type.RETURN_SHIPPED, "shipped", now, by)
        publish("return.shipped", ret.shop_id, **_ids(ret))
    ret.save(update_fields=["status", "shipped_back_at", "tracking_number", "updated_at"])
    return ret


@transaction.atomic
def receive_return(
    ret: ReturnRequest, *, by: str, quantities: dict[int, int] | None = None
) -> ReturnRequest:
    """The parcel is here. `quantities`: per return line, how many came back (all, if not
    given); what did not come back cannot be refunded."""
    ret = _locked(ret, {Status.APPROVED, Status.IN_TRANSIT}, "received")
    lines = {line.pk: line for line in ret.lines.all()}
    if quantities is None:
        quantities = {pk: line.quantity for pk, line in lines.items()}
    for pk, count in quantities.items():
        if pk not in lines:
            raise ReturnProblem(f"return {ret.number} has no line {pk}")
        if not 0 <= count <= lines[pk].quantity:
            raise ReturnProblem(f"line {pk}: between 0 and {lines[pk].quantity} came back")
    if not any(quantities.values()):
        raise ReturnProblem("nothing came back: cancel or reject the return instead")
    for pk, count in quantities.items():
        lines[pk].received_quantity = count
    ReturnLine.objects.bulk_update(lines.values(), ["received_quantity"])
    now = timezone.now()
    ret.status, ret.received_at = Status.RECEIVED, now
    ret.save(update_fields=["status", "received_at", "updated_at"])
    _step(ret, OrderEvent.Type.RETURN_RECEIVED, "received", now, by)
    publish("return.received", ret.shop_id, **_ids(ret))
    return ret


@transaction.atomic
def inspect_return(ret: ReturnRequest, *, by: str, note: str = "") -> ReturnRequest:
    ret = _locked(ret, {Status.RECEIVED}, "inspected")
    now = timezone.now()
    ret.status, ret.inspected_at, ret.inspection_note = Status.INSPECTED, now, note.strip()[:2000]
    ret.save(update_fields=["status", "inspected_at", "inspection_note", "updated_at"])
    _step(ret, OrderEvent.Type.RETURN_INSPECTED, "inspected", now, by)
    publish("return.inspected", ret.shop_id, **_ids(ret))
    return ret


@transaction.atomic
def cancel_return(ret: ReturnRequest, *, by: str) -> ReturnRequest:
    """Withdrawn (by her, before sending it) or stopped by an agent; nothing was given back."""
    ret = _locked(ret, {Status.REQUESTED, Status.APPROVED, Status.IN_TRANSIT}, "cancelled")
    if ret.settlements.exclude(status=Settlement.Status.FAILED).exists():
        raise ReturnProblem(f"return {ret.number} has been settled in part: it cannot be cancelled")
    now = timezone.now()
    ret.status, ret.cancelled_at = Status.CANCELLED, now
    ret.save(update_fields=["status", "cancelled_at", "updated_at"])
    _step(ret, OrderEvent.Type.RETURN_CANCELLED, "cancelled", now, by)
    publish("return.cancelled", ret.shop_id, **_ids(ret))
    return ret


def settle_return(
    ret: ReturnRequest,
    *,
    by: str,
    quantities: dict[int, int] | None = None,
    refund_shipping: bool = False,
) -> Settlement:
    """Give back what came back: per return line, how many (all received and not settled
    yet, if not given). A refund or an exchange goes to the store (returns.outlets) or to
    an agent to do by hand; store credit is added to her balance at once.

    The money: what the units cost her, less their share of the restocking fee and, once
    per return and unless `refund_shipping`, the return shipping fee; store credit adds
    the policy's bonus. Never more than the order has left to refund."""
    with transaction.atomic():
        ret = _locked(ret, {Status.RECEIVED, Status.INSPECTED}, "settled")
        settlement = _new_settlement(ret, by, quantities, refund_shipping)
        if settlement.kind == Settlement.Kind.STORE_CREDIT:
            _credit(ret, settlement)
            _finish_settlement(ret, settlement, external_id=f"credit:{settlement.pk}", by=by)
        else:
            publish(
                "return.settlement_created",
                ret.shop_id,
                **_ids(ret),
                settlement_id=settlement.pk,
                kind=settlement.kind,
                to_store=int(settlement.status == Settlement.Status.PENDING),
            )
    return settlement


def _new_settlement(ret, by, quantities, refund_shipping) -> Settlement:
    lines = {line.pk: line for line in ret.lines.all()}
    open_units = {pk: ln.received_quantity - ln.refunded_quantity for pk, ln in lines.items()}
    if quantities is None:
        quantities = {pk: n for pk, n in open_units.items() if n > 0}
    for pk, count in quantities.items():
        if pk not in lines:
            raise ReturnProblem(f"return {ret.number} has no line {pk}")
        if not 0 <= count <= open_units[pk]:
            raise ReturnProblem(
                f"line {pk} ({lines[pk].title}): {open_units[pk]} received and not settled yet"
            )
    quantities = {pk: n for pk, n in quantities.items() if n}
    if not quantities:
        raise ReturnProblem(f"return {ret.number}: nothing received is left to settle")
    value = sum((lines[pk].unit_paid * n for pk, n in quantities.items()), Decimal(0))
    restocking = Decimal(0)
    if ret.items_value:
        restocking = (ret.restocking_fee * value / ret.items_value).quantize(CENT, ROUND_HALF_UP)
    earlier = ret.settlements.exclude(status=Settlement.Status.FAILED)
    shipping_taken = any(not s.refund_shipping for s in earlier) and ret.shipping_fee
    shipping = Decimal(0) if refund_shipping or shipping_taken else ret.shipping_fee
    net = max(Decimal(0), value - restocking - shipping)
    kind = Settlement.Kind(ret.resolution)
    if kind == Settlement.Kind.STORE_CREDIT:
        net = (net * (1 + Decimal(ret.credit_bonus_percent) / 100)).quantize(CENT, ROUND_HALF_UP)
    elif kind == Settlement.Kind.REFUND:
        order = lock_order(ret.shop, ret.order_id)
        pending = sum((s.amount for s in _unfinished_refunds(ret.shop_id, order.pk)), Decimal(0))
        left = order.total - order.refunded - pending
        if net > left:
            raise ReturnProblem(
                f"order {order}: {net} {order.currency} is more than the {max(left, 0)} "
                "left to refund"
            )
    for pk, count in quantities.items():
        lines[pk].refunded_quantity += count
    ReturnLine.objects.bulk_update(lines.values(), ["refunded_quantity"])
    items = [_item(lines[pk], n) for pk, n in quantities.items()]
    to_store = kind != Settlement.Kind.STORE_CREDIT and outlets.can_send(
        ret.shop, kind, ret.order.source, items
    )
    return Settlement.objects.create(
        shop_id=ret.shop_id,
        request=ret,
        kind=kind,
        status=Settlement.Status.PENDING if to_store else Settlement.Status.MANUAL,
        amount=net if kind != Settlement.Kind.EXCHANGE else Decimal(0),
        currency=ret.currency,
        items=items,
        refund_shipping=refund_shipping,
        created_by=by[:150],
    )


def _item(line: ReturnLine, quantity: int) -> dict:
    item = {"line": line.line_external_id, "quantity": quantity}
    if line.exchange_variant:
        item.update(variant=line.exchange_variant, variant_title=line.exchange_variant_title)
    return item


def _unfinished_refunds(shop_id: int, order_id: int):
    return Settlement.objects.filter(
        shop_id=shop_id,
        request__order_id=order_id,
        kind=Settlement.Kind.REFUND,
        status__in=UNDER_WAY,
    )


def _credit(ret: ReturnRequest, settlement: Settlement) -> None:
    if ret.customer_id is None:
        raise ReturnProblem(
            f"return {ret.number}: the order has no customer to give store credit to"
        )
    CreditEntry.objects.create(
        shop_id=ret.shop_id,
        customer_id=ret.customer_id,
        amount=settlement.amount,
        currency=settlement.currency,
        source_key=f"return:{ret.pk}:settlement:{settlement.pk}",
        note=f"Return {ret.number}",
    )


def settlement_done(settlement: Settlement, *, by: str, external_id: str = "") -> Settlement:
    """The store confirmed it (external_id: its refund or order id), or an agent did it by
    hand in the store. A refund is recorded on the order under the store's id, so the
    store's own refund webhook for it later is the same refund, not a second one."""
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
        if settlement.status == Settlement.Status.DONE:
            return settlement
        ret = (
            ReturnRequest.objects.select_for_update()
            .select_related("order")
            .get(pk=settlement.request_id)
        )
        _finish_settlement(ret, settlement, external_id=external_id, by=by)
    return settlement


def _finish_settlement(ret, settlement: Settlement, *, external_id: str, by: str) -> None:
    now = timezone.now()
    settlement.status, settlement.done_at, settlement.error = Settlement.Status.DONE, now, ""
    settlement.external_id = (external_id or f"aftercart-{ret.number}-{settlement.pk}")[:100]
    settlement.save(update_fields=["status", "done_at", "error", "external_id"])
    if settlement.kind == Settlement.Kind.REFUND:
        record_refund(
            ret.shop,
            ret.order.external_id,
            RefundData(
                external_id=settlement.external_id,
                amount=settlement.amount,
                refunded_at=now,
                reason=f"Return {ret.number}",
                items=settlement.items,
            ),
            source="aftercart",
        )
    publish(
        "return.settled",
        ret.shop_id,
        **_ids(ret),
        settlement_id=settlement.pk,
        kind=settlement.kind,
        amount=str(settlement.amount),
    )
    if all(line.refunded_quantity >= line.received_quantity for line in ret.lines.all()):
        _complete(ret, now, by)


def settlement_failed(settlement: Settlement, *, error: str) -> Settlement:
    """The store refused it or could not be reached after retries: an agent sees why, and
    can try again or do it by hand. Its units are free to settle again."""
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
        if settlement.status == Settlement.Status.DONE:
            return settlement
        settlement.status, settlement.error = Settlement.Status.FAILED, error[:2000]
        settlement.attempts += 1
        settlement.save(update_fields=["status", "error", "attempts"])
        lines = {ln.line_external_id: ln for ln in settlement.request.lines.all()}
        for item in settlement.items:
            line = lines.get(item["line"])
            if line is not None:
                line.refunded_quantity = max(0, line.refunded_quantity - item["quantity"])
        ReturnLine.objects.bulk_update(lines.values(), ["refunded_quantity"])
    return settlement


@transaction.atomic
def complete_return(ret: ReturnRequest, *, by: str) -> ReturnRequest:
    """Close it with what was settled so far (some items came back unusable, say)."""
    ret = _locked(ret, {Status.RECEIVED, Status.INSPECTED}, "completed")
    if ret.settlements.filter(status__in=UNDER_WAY).exists():
        raise ReturnProblem(f"return {ret.number}: a refund or exchange is still under way")
    _complete(ret, timezone.now(), by)
    return ret


def _complete(ret: ReturnRequest, now: datetime, by: str) -> None:
    if ret.status == Status.COMPLETED:
        return
    ret.status, ret.completed_at = Status.COMPLETED, now
    ret.save(update_fields=["status", "completed_at", "updated_at"])
    _step(ret, OrderEvent.Type.RETURN_COMPLETED, "completed", now, by)
    publish("return.completed", ret.shop_id, **_ids(ret))


# Settlements sent to the store (integrations sends them; these keep their state) ----------

MAX_ATTEMPTS = 5
STALE_CLAIM = timedelta(minutes=10)


def due_settlements(limit: int = 50) -> list[int]:
    """Settlements a worker should send now: pending and due, or claimed by a worker that
    seems to have died mid-call (its sender checks the store before sending again)."""
    now = timezone.now()
    pending = Q(status=Settlement.Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(status=Settlement.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    return list(
        Settlement.objects.filter(pending | stale)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def claim_settlement(pk: int) -> Settlement | None:
    """Mark it as being sent by this worker; None when another has it or it is not due.

    A claim is one UPDATE, not a lock held across the call to the store: a store may take
    a minute to answer, and no database should wait on it."""
    now = timezone.now()
    due = Q(status=Settlement.Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(status=Settlement.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    claimed = Settlement.objects.filter(Q(pk=pk) & (due | stale)).update(
        status=Settlement.Status.SENDING, claimed_at=now
    )
    if not claimed:
        return None
    return Settlement.objects.select_related("request__order", "shop").get(pk=pk)


def settlement_later(settlement: Settlement, *, error: str) -> Settlement:
    """The store could not be reached: try again later, and give up after MAX_ATTEMPTS."""
    attempts = settlement.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        Settlement.objects.filter(pk=settlement.pk).update(attempts=attempts - 1)
        settlement.attempts = attempts - 1
        return settlement_failed(settlement, error=f"{error} (after {attempts} attempts)")
    wait = timedelta(minutes=5 * 2 ** (attempts - 1))
    Settlement.objects.filter(pk=settlement.pk, status=Settlement.Status.SENDING).update(
        status=Settlement.Status.PENDING,
        attempts=attempts,
        error=error[:2000],
        next_attempt_at=timezone.now() + wait,
    )
    settlement.refresh_from_db()
    return settlement
