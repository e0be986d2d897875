"""The kinds of message Aftercart sends, and what each is: transactional or marketing.

Transactional mail (about an order the customer placed) always goes. Marketing mail
(review requests, referral invitations, cross-sell, reminders, win-back and every
campaign) goes only with recorded consent, never to a suppressed address, within the
frequency cap and outside quiet hours.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Kind:
    key: str
    name: str
    marketing: bool
    # Higher goes first when the frequency cap leaves room for one message only.
    priority: int = 50
    # Not worth sending this long after it was due (None: always worth it).
    expires_after: timedelta | None = None


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("order_confirmation", _("Order confirmation"), marketing=False, priority=100),
        Kind("shipping_notification", _("Shipping notification"), marketing=False, priority=100),
        Kind(
            "out_for_delivery",
            _("Out for delivery"),
            marketing=False,
            priority=90,
            expires_after=timedelta(hours=12),
        ),
        Kind("delivered", _("Delivered"), marketing=False, priority=90),
        Kind("delivery_delayed", _("Delivery delayed"), marketing=False, priority=95),
        # Asked for on the order-status lookup form; a link she waits for, or none at all.
        Kind(
            "order_status_link",
            _("Order status link"),
            marketing=False,
            priority=100,
            expires_after=timedelta(hours=1),
        ),
        # The life of a return (returns.services), each told at the step it is about.
        Kind("return_requested", _("Return requested"), marketing=False, priority=95),
        Kind("return_approved", _("Return approved"), marketing=False, priority=95),
        Kind("return_rejected", _("Return rejected"), marketing=False, priority=95),
        Kind("return_received", _("Return received"), marketing=False, priority=90),
        Kind("return_completed", _("Return completed"), marketing=False, priority=95),
        # Customer care (support.services): a conversation with a person at the shop.
        Kind("ticket_acknowledgement", _("Ticket received"), marketing=False, priority=100),
        Kind("ticket_reply", _("Reply to a ticket"), marketing=False, priority=100),
        Kind(
            "csat_request",
            _("How did we do? (rating)"),
            marketing=False,
            priority=60,
            expires_after=timedelta(days=7),
        ),
        Kind(
            "check_in",
            _("Check-in after delivery"),
            marketing=True,
            priority=60,
            expires_after=timedelta(days=7),
        ),
        Kind(
            "review_request",
            _("Review request"),
            marketing=True,
            priority=70,
            expires_after=timedelta(days=21),
        ),
        Kind(
            "referral_invitation",
            _("Referral invitation"),
            marketing=True,
            priority=40,
            expires_after=timedelta(days=14),
        ),
        Kind(
            "cross_sell",
            _("Cross-sell"),
            marketing=True,
            priority=30,
            expires_after=timedelta(days=14),
        ),
        Kind(
            "replenishment_reminder",
            _("Replenishment reminder"),
            marketing=True,
            priority=50,
            expires_after=timedelta(days=10),
        ),
        Kind(
            "win_back", _("Win-back"), marketing=True, priority=20, expires_after=timedelta(days=30)
        ),
    )
}


def kind(key: str) -> Kind:
    try:
        return KINDS[key]
    except KeyError:
        raise ValueError(f"unknown message kind {key!r}; known: {', '.join(KINDS)}") from None
