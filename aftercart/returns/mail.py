"""What the return emails show: the return as it is when the email is written."""

from decimal import Decimal

from django.utils import translation

from aftercart.messaging import context
from aftercart.returns.links import label_url, return_url
from aftercart.returns.models import ReturnRequest, Settlement
from aftercart.returns.policies import reason_label, stored_policy

KINDS = (
    "return_requested",
    "return_approved",
    "return_rejected",
    "return_received",
    "return_completed",
)


def return_context(message, shop, order) -> dict:
    return_id = (message.extra or {}).get("return_id")
    ret = None
    if return_id:
        ret = (
            ReturnRequest.objects.filter(shop=shop, pk=return_id)
            .prefetch_related("lines", "settlements")
            .first()
        )
    elif message.order_id:  # a preview or test email: the order's latest return, if any
        ret = ReturnRequest.objects.filter(shop=shop, order_id=message.order_id).first()
    if ret is None:
        return {"return": None}
    policy = stored_policy(shop)
    done = [s for s in ret.settlements.all() if s.status == Settlement.Status.DONE]
    with translation.override(message.locale):
        values = {
            "number": ret.number,
            "status": ret.status,
            "status_label": str(ret.get_status_display()),
            "resolution": ret.resolution,
            "reason": reason_label(shop, ret.reason, ret.reason_label),
            "exchange_for": ret.exchange_for,
            "awaiting_review": ret.status == ReturnRequest.Status.REQUESTED,
            "rejection_reason": ret.rejection_reason,
            "lines": [
                {
                    "title": line.title,
                    "variant_title": line.variant_title,
                    "quantity": line.quantity,
                    "received": line.received_quantity,
                }
                for line in ret.lines.all()
            ],
            "currency": ret.currency,
            "refund_amount": ret.refund_amount,
            "store_credit_amount": ret.store_credit_amount,
            "restocking_fee": ret.restocking_fee,
            "shipping_fee": ret.shipping_fee,
            "refunded": sum(
                (s.amount for s in done if s.kind == Settlement.Kind.REFUND), Decimal(0)
            ),
            "credited": sum(
                (s.amount for s in done if s.kind == Settlement.Kind.STORE_CREDIT), Decimal(0)
            ),
            "exchanged": any(s.kind == Settlement.Kind.EXCHANGE for s in done),
            "return_address": policy.return_address,
            "instructions": policy.instructions,
        }
    return {
        "return": values,
        "links": {"return": return_url(shop.pk, ret.pk), "label": label_url(shop.pk, ret.pk)},
    }


context.provide(KINDS, return_context)
