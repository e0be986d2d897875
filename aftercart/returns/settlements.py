"""Giving back what came back: a refund, an exchange order or store credit (a Settlement).

The only code that changes settlements. Their life:

    pending ─► sending ─► done                 (the store confirmed it)
       ▲          ├─────► failed               (the store said no: nothing was given)
       └──────────┤                            (unreachable: tried again later)
                  └─────► manual               (still unconfirmed after five tries)
    manual ─► done                             (an agent did it, or checked it, in the store)

A settlement holds its units (line and quantity) from the moment it is made; only a
failure the store confirmed frees them, so what may have been given back is never given
back again. Every change locks the return first, then the settlement, in that order.
A return is completed once every received unit is settled and nothing is under way.
"""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from aftercart.core.events import publish
from aftercart.orders.records import RefundData
from aftercart.orders.services import lock_order, record_refund
from aftercart.returns import outlets
from aftercart.returns.models import (
    UNDER_WAY,
    CreditEntry,
    ReturnLine,
    ReturnRequest,
    Settlement,
)
from aftercart.returns.services import ReturnProblem, _complete, _ids, _locked

CENT = Decimal("0.01")
Status = ReturnRequest.Status
MAX_ATTEMPTS = 5
STALE_CLAIM = timedelta(minutes=10)
# A sender gives up well before its claim looks stale to another worker, so two workers
# never send the same settlement at once.
SEND_BUDGET = timedelta(minutes=4)
# Orders from these stores report their refunds back by webhook: a refund done by hand
# there must carry the store's id, or the store's report of it would count it again.
REPORTING_STORES = {"shopify", "woocommerce"}


def marker(settlement: Settlement) -> str:
    """What a settlement's note in the store carries, to find it again; bracketed, so
    settlement 7 is never found in settlement 71's note."""
    return f"[aftercart:s{settlement.pk}]"


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
    the policy's bonus. Never more than the order has left to give back."""
    with transaction.atomic():
        ret = _locked(ret, {Status.RECEIVED, Status.INSPECTED}, "settled")
        settlement = _new_settlement(ret, by, quantities, refund_shipping)
        if settlement.kind == Settlement.Kind.STORE_CREDIT:
            _credit(ret, settlement)
            _finish(ret, settlement, external_id=f"credit:{settlement.pk}", by=by)
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
    if kind != Settlement.Kind.EXCHANGE:
        _check_left(ret, net)
    amount = net
    if kind == Settlement.Kind.STORE_CREDIT:
        amount = (net * (1 + Decimal(ret.credit_bonus_percent) / 100)).quantize(CENT, ROUND_HALF_UP)
    elif kind == Settlement.Kind.EXCHANGE:
        amount = net = Decimal(0)  # the sale stands: nothing of the order is given back
    for pk, count in quantities.items():
        lines[pk].refunded_quantity += count
    ReturnLine.objects.bulk_update([lines[pk] for pk in quantities], ["refunded_quantity"])
    items = [_item(lines[pk], n) for pk, n in quantities.items()]
    to_store = kind != Settlement.Kind.STORE_CREDIT and outlets.can_send(
        ret.shop, kind, ret.order.source, items
    )
    return Settlement.objects.create(
        shop_id=ret.shop_id,
        request=ret,
        kind=kind,
        status=Settlement.Status.PENDING if to_store else Settlement.Status.MANUAL,
        amount=amount,
        order_amount=net,
        currency=ret.currency,
        items=items,
        refund_shipping=refund_shipping,
        created_by=by[:150],
    )


def _check_left(ret: ReturnRequest, net: Decimal) -> None:
    """Refunds and store credit of one order, together, stay within what was paid: the
    store's refunds (ours included, once done), ours under way, and credit given."""
    order = lock_order(ret.shop, ret.order_id)
    ours = Settlement.objects.filter(shop_id=ret.shop_id, request__order_id=order.pk).filter(
        Q(kind=Settlement.Kind.REFUND, status__in=UNDER_WAY)
        | Q(kind=Settlement.Kind.STORE_CREDIT, status=Settlement.Status.DONE)
    )
    given = ours.aggregate(n=Sum("order_amount"))["n"] or Decimal(0)
    left = order.total - order.refunded - given
    if net > left:
        raise ReturnProblem(
            f"order {order}: {net} {order.currency} is more than the {max(left, 0)} "
            "left to give back"
        )


def _item(line: ReturnLine, quantity: int) -> dict:
    item = {"line": line.line_external_id, "quantity": quantity}
    if line.exchange_variant:
        item.update(variant=line.exchange_variant, variant_title=line.exchange_variant_title)
    return item


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


def _lock(settlement: Settlement) -> tuple[ReturnRequest, Settlement]:
    """The return, then the settlement, locked: the one order every change takes them in."""
    ret = (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("order", "shop")
        .get(pk=settlement.request_id)
    )
    return ret, Settlement.objects.select_for_update().get(pk=settlement.pk)


def settlement_done(
    settlement: Settlement, *, by: str, external_id: str = "", claimed_at=None
) -> Settlement:
    """The store confirmed it (a worker that claimed it, with the store's id), or an agent
    did it, or checked it, in the store (a manual one). A refund is recorded on the order
    under the store's id, so the store's own refund webhook for it is the same refund."""
    with transaction.atomic():
        ret, settlement = _lock(settlement)
        if settlement.status == Settlement.Status.DONE:
            return settlement
        if claimed_at is not None and settlement.status == Settlement.Status.FAILED:
            # The store did it after all (a claim that outlived its budget, answered late):
            # its units, freed by the failure, are held again before it is done.
            _hold_again(ret, settlement)
        if claimed_at is None:
            if settlement.status != Settlement.Status.MANUAL:
                raise ReturnProblem(_not_by_hand(settlement))
            if (
                settlement.kind == Settlement.Kind.REFUND
                and ret.order.source in REPORTING_STORES
                and not external_id.strip()
            ):
                raise ReturnProblem(
                    f"give the refund's number in {ret.order.source.title()}: the store "
                    "reports its refunds to Aftercart, and without it this one would count twice"
                )
        _finish(ret, settlement, external_id=external_id.strip(), by=by)
    return settlement


def _hold_again(ret: ReturnRequest, settlement: Settlement) -> None:
    for item in settlement.items:
        ReturnLine.objects.filter(request=ret, line_external_id=item["line"]).update(
            refunded_quantity=F("refunded_quantity") + item["quantity"]
        )


def _not_by_hand(settlement: Settlement) -> str:
    if settlement.status == Settlement.Status.FAILED:
        return "this one failed and gave nothing back: settle the items again"
    return "this one is being sent to the store: it is done when the store confirms it"


def _finish(ret, settlement: Settlement, *, external_id: str, by: str) -> None:
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
    settled = all(ln.refunded_quantity >= ln.received_quantity for ln in ret.lines.all())
    busy = ret.settlements.filter(status__in=UNDER_WAY).exclude(pk=settlement.pk).exists()
    if settled and not busy:
        _complete(ret, now, by)


def settlement_failed(settlement: Settlement, *, error: str, claimed_at=None) -> Settlement:
    """The store said no (it gave nothing back): an agent sees why, and its units are free
    to settle again. Once; and not when another worker holds it now."""
    with transaction.atomic():
        ret, settlement = _lock(settlement)
        if settlement.status in (Settlement.Status.DONE, Settlement.Status.FAILED):
            return settlement
        if claimed_at is not None and settlement.claimed_at != claimed_at:
            return settlement  # claimed again since: that worker decides
        settlement.status, settlement.error = Settlement.Status.FAILED, error[:2000]
        settlement.attempts += 1
        settlement.save(update_fields=["status", "error", "attempts"])
        for item in settlement.items:
            ReturnLine.objects.filter(
                request=ret, line_external_id=item["line"], refunded_quantity__gte=item["quantity"]
            ).update(refunded_quantity=F("refunded_quantity") - item["quantity"])
    return settlement


def settlement_later(settlement: Settlement, *, error: str, claimed_at=None) -> Settlement:
    """No clear answer from the store (unreachable, or it did not say): tried again after 5,
    10, 20 and 40 minutes; after that an agent looks in the store. Its units stay held:
    it may have been done."""
    with transaction.atomic():
        ret, settlement = _lock(settlement)
        if settlement.status != Settlement.Status.SENDING:
            return settlement
        if claimed_at is not None and settlement.claimed_at != claimed_at:
            return settlement
        settlement.attempts += 1
        settlement.error = error[:2000]
        if settlement.attempts >= MAX_ATTEMPTS:
            settlement.status = Settlement.Status.MANUAL
            settlement.error = (
                f"{error} — still unconfirmed after {settlement.attempts} tries: look in "
                f"the store for a refund or order noted {marker(settlement)}, then mark it "
                "done here (or do it there first)"
            )[:2000]
        else:
            settlement.status = Settlement.Status.PENDING
            settlement.next_attempt_at = timezone.now() + timedelta(
                minutes=5 * 2 ** (settlement.attempts - 1)
            )
        settlement.save(update_fields=["status", "attempts", "error", "next_attempt_at"])
    return settlement


def remember_store_ref(settlement: Settlement, ref: str) -> None:
    """What the store made for it so far (a draft order's id), kept at once, outside the
    sender's work: a later try must find it even if this one dies right after."""
    Settlement.objects.filter(pk=settlement.pk).update(store_ref=ref[:100])
    settlement.store_ref = ref[:100]


def settlement_by_hand(settlement: Settlement, *, error: str, claimed_at=None) -> Settlement:
    """Nothing was sent, and no worker can send it (the store's access is gone): an agent
    does it in the store. Its units stay held."""
    with transaction.atomic():
        ret, settlement = _lock(settlement)
        if settlement.status not in (Settlement.Status.PENDING, Settlement.Status.SENDING):
            return settlement
        if claimed_at is not None and settlement.claimed_at != claimed_at:
            return settlement
        settlement.status, settlement.error = Settlement.Status.MANUAL, error[:2000]
        settlement.save(update_fields=["status", "error"])
    return settlement


def due_settlements(limit: int = 50) -> list[int]:
    """Settlements a worker should send now: pending and due, or claimed by a worker that
    seems to have died mid-call (its sender looks in the store before sending again)."""
    return list(
        Settlement.objects.filter(_due(timezone.now()))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )


def _due(now: datetime) -> Q:
    pending = Q(status=Settlement.Status.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    return pending | Q(status=Settlement.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)


def claim_settlement(pk: int) -> Settlement | None:
    """Mark it as being sent by this worker; None when another has it or it is not due.

    A claim is one UPDATE, not a lock held across the call to the store: a store may take
    a minute to answer, and no database should wait on it. The worker passes its
    `claimed_at` back with the outcome, so a claim taken over meanwhile is not undone."""
    now = timezone.now()
    claimed = Settlement.objects.filter(Q(pk=pk) & _due(now)).update(
        status=Settlement.Status.SENDING, claimed_at=now
    )
    if not claimed:
        return None
    return Settlement.objects.select_related("request__order__customer", "shop").get(pk=pk)
