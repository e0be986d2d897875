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
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from aftercart.core.events import publish
from aftercart.core.models import Shop
from aftercart.orders.models import Order, OrderEvent
from aftercart.orders.queries import order_with_items
from aftercart.orders.services import lock_order, record_return_step
from aftercart.returns.models import (
    UNDER_WAY,
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

Status = ReturnRequest.Status


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
            if earlier.order_id != order.pk:
                raise ReturnProblem(f"request_key: {key!r} was used for a return of another order")
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
    fresh = (
        ReturnRequest.objects.select_for_update(of=("self",)).select_related("order").get(pk=ret.pk)
    )
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
            raise ReturnProblem(
                f"{lines[pk].title}: between 0 and {lines[pk].quantity} came back, not {count}"
            )
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
def cancel_return(ret: ReturnRequest, *, by: str, by_customer: bool = False) -> ReturnRequest:
    """Withdrawn by her before she sent it, or stopped by an agent (also once it is on its
    way back: a parcel lost for good, say); nothing was given back."""
    allowed = {Status.REQUESTED, Status.APPROVED}
    if not by_customer:
        allowed.add(Status.IN_TRANSIT)
    ret = _locked(ret, allowed, "cancelled")
    if ret.settlements.exclude(status=Settlement.Status.FAILED).exists():
        raise ReturnProblem(f"return {ret.number} has been settled in part: it cannot be cancelled")
    now = timezone.now()
    ret.status, ret.cancelled_at = Status.CANCELLED, now
    ret.save(update_fields=["status", "cancelled_at", "updated_at"])
    _step(ret, OrderEvent.Type.RETURN_CANCELLED, "cancelled", now, by)
    publish("return.cancelled", ret.shop_id, **_ids(ret))
    return ret


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
