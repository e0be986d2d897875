"""The demo's customer care: returns and tickets at every step, so the Returns and Customer
care pages show what a working week looks like.

Everything goes through the services (the same path a customer's click takes); only the
moments tickets came in are moved back afterwards, so some are due soon and one is late.
"""

from datetime import timedelta

from django.utils import timezone, translation

from aftercart.core.models import Shop
from aftercart.messaging.services import message_locale
from aftercart.orders.models import Order
from aftercart.returns import services as returns
from aftercart.returns import settlements
from aftercart.returns.policies import save_policy
from aftercart.returns.queries import returnable_items
from aftercart.support import services as support
from aftercart.support.models import Ticket
from aftercart.support.sla import sla_for

REASONS = ("does_not_fit", "changed_mind", "does_not_fit", "damaged", "changed_mind")
QUESTIONS = (
    (
        "delivery",
        "Where is my parcel?",
        "Hi, the tracking has said 'sorted' for three days now. Is my coffee still coming?",
        26,
    ),
    (
        "product",
        "Grind size for a moka pot?",
        "Which grind should I choose for a moka pot? The bag says espresso.",
        3,
    ),
    (
        "complaint",
        "Beans arrived stale",
        "The beans I got smell flat and the roast date is two months ago. Not what I expect.",
        5,
    ),
    (
        "question",
        "Can I change my address?",
        "I am moving next week; can the subscription go to my new address?",
        1,
    ),
)


def play_care(shop: Shop) -> dict[str, int]:
    """A few returns and tickets from the most recent delivered orders, each asked in the
    customer's language (as she would, on her own pages)."""
    save_policy(
        shop,
        {
            "restocking_fee_percent": "0",
            "return_shipping_fee": "4.95",
            "store_credit_bonus_percent": "10",
            "return_address": "Retouren\nNoorderstraat 12\n1015 NL Amsterdam",
            "instructions": "Pak alles goed in, met het label aan de buitenkant.",
        },
    )
    orders = list(
        Order.objects.filter(
            shop=shop,
            customer__isnull=False,
            fulfilment_status=Order.Fulfilment.DELIVERED,
            cancelled_at__isnull=True,
            refunded=0,
        )
        .order_by("-placed_at")
        .prefetch_related("lines__product", "shipments")[:200]
    )
    # Coffee and tea do not come back (the catalogue says so); mugs and grinders can.
    with_gear = [o for o in orders if _returnable(o)][:5]
    made = _returns(shop, with_gear)
    tickets = _tickets(shop, [o for o in orders if o not in with_gear][:4])
    return {"returns": made, "tickets": tickets}


def _returnable(order: Order) -> list:
    return [i for i in returnable_items(order) if i.returnable and i.returnable_quantity]


def _returns(shop: Shop, orders: list[Order]) -> int:
    made = 0
    for i, order in enumerate(orders):
        items = _returnable(order)
        ask = returns.ReturnAsk(
            quantities={items[0].line_id: 1},
            reason=REASONS[i % len(REASONS)],
            resolution="store_credit" if i == 3 else "refund",
            comment="The bag was torn open on arrival." if i == 3 else "",
            photos=[("bag.png", _photo())] if REASONS[i % len(REASONS)] == "damaged" else [],
            request_key=f"demo-return-{order.pk}",
        )
        try:
            with translation.override(message_locale(shop, order.customer, order.locale)):
                ret = returns.request_return(shop, order, ask, source="portal", by=order.email)
        except (returns.ReturnRefused, returns.ReturnProblem):
            continue
        made += 1
        # One of each: on its way, arrived (to refund), completed with credit, waiting.
        if i == 1:
            returns.mark_shipped_back(ret, by="customer", tracking_number="3SDEMO0001")
        elif i == 2:
            returns.receive_return(ret, by="warehouse")
        elif i == 3:
            returns.receive_return(ret, by="warehouse")
            settlements.settle_return(ret, by="warehouse")
    return made


def _photo() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 84, 60)).save(out, "PNG")
    return out.getvalue()


def _tickets(shop: Shop, orders: list[Order]) -> int:
    sla = sla_for(shop)
    made = 0
    for order, (category, subject, body, hours_ago) in zip(orders, QUESTIONS, strict=False):
        ticket = support.open_ticket(
            shop,
            support.NewTicket(
                email=order.email,
                subject=subject,
                body=body,
                category=category,
                priority=support.priority_for(category),
                channel=Ticket.Channel.FORM,
                order_id=order.pk,
            ),
        )
        came_in = timezone.now() - timedelta(hours=hours_ago)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=came_in,
            clock_started_at=came_in,
            last_message_at=came_in,
            first_response_due=sla.first_response_due(came_in, ticket.priority),
            resolution_due=sla.resolution_due(came_in, ticket.priority),
        )
        ticket.messages.update(created_at=came_in)
        made += 1
        if category == "product":
            support.reply(
                ticket,
                "Hi! For a moka pot choose 'filter, fine' — a little coarser than espresso.",
                agent="Sam",
                resolve=True,
            )
            support.rate(Ticket.objects.get(pk=ticket.pk), 5)
        elif category == "question":
            support.reply(ticket, "Of course — which address should we use?", agent="Sam")
    return made
