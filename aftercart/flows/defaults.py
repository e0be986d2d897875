"""The default post-purchase loop every new shop starts with; each flow is editable."""

DEFAULT_LOOP: dict[str, dict] = {
    "order-confirmation": {
        "name": "Order confirmation",
        "trigger": "order.placed",
        "steps": [{"send": "order_confirmation"}],
    },
    "shipping-update": {
        "name": "Shipping update",
        "trigger": "shipment.created",
        "steps": [{"send": "shipping_notification"}],
    },
    "out-for-delivery": {
        "name": "Out for delivery",
        "trigger": "shipment.out_for_delivery",
        "steps": [{"send": "out_for_delivery"}],
    },
    # Late, or the carrier reported trouble: an apology before she has to ask.
    "delivery-delayed": {
        "name": "Delivery delayed: an apology",
        "trigger": "shipment.delayed",
        "steps": [{"send": "delivery_delayed"}],
    },
    "delivered": {
        "name": "Delivered",
        "trigger": "shipment.delivered",
        "steps": [{"send": "delivered"}],
    },
    # The life of a return, each step told when it happens (returns.services publishes them).
    "return-requested": {
        "name": "Return requested: confirmation (with the label when approved at once)",
        "trigger": "return.requested",
        "steps": [{"send": "return_requested"}],
    },
    "return-approved": {
        "name": "Return approved by an agent: the label",
        "trigger": "return.approved",
        "filters": {"by_agent": 1},
        "steps": [{"send": "return_approved"}],
    },
    "return-rejected": {
        "name": "Return rejected: why",
        "trigger": "return.rejected",
        "steps": [{"send": "return_rejected"}],
    },
    "return-received": {
        "name": "Return received",
        "trigger": "return.received",
        "steps": [{"send": "return_received"}],
    },
    "return-completed": {
        "name": "Return completed: refund, store credit or exchange",
        "trigger": "return.completed",
        "steps": [{"send": "return_completed"}],
    },
    "after-delivery": {
        "name": "After delivery: check-in, review request, cross-sell",
        # The whole order, not each parcel: an order in two parcels gets one check-in.
        "trigger": "order.delivered",
        "marketing": True,
        "holdout": 0.1,
        "steps": [
            {"wait": {"days": 3, "at_hour": 10}},
            {"if": "not_cancelled"},
            # A customer with a complaint open hears from customer care, not from marketing:
            # no check-in (the review request below waits for the complaint to be settled).
            {"if": "no_open_complaint", "else": "skip"},
            {"send": "check_in"},
            {"wait": {"days": 4, "at_hour": 10}},
            # No review request while a complaint or a return is open: it waits until they
            # are settled, two weeks at most (still open then: no request at all).
            {
                "wait": {
                    "until": ["no_open_complaint", "no_open_return"],
                    "check_every_hours": 12,
                    "timeout_days": 14,
                    "on_timeout": "exit",
                }
            },
            # A refunded order gets no review request.
            {"if": "not_refunded"},
            {"send": "review_request"},
            {"wait": {"days": 7, "at_hour": 10}},
            {"if": "not_refunded"},
            # Sending something back: no offer to buy more from this order.
            {"if": "no_open_return"},
            {"if": "no_open_complaint"},
            {"send": "cross_sell"},
        ],
    },
    "replenishment": {
        "name": "Replenishment reminder before a product runs out",
        # Placed, not delivered: reorder intervals are counted from order to order, and
        # every order is placed while not every shop hears of deliveries.
        "trigger": "order.placed",
        "marketing": True,
        "holdout": 0.1,
        "steps": [
            # Leaves at once when the order has no consumable with a reorder interval.
            {"wait": {"reorder_interval": True, "days_before": 3, "at_hour": 10}},
            {"if": "not_cancelled"},
            {"if": "not_refunded"},
            # She ordered them again already: nothing to remind her of.
            {"if": "not_reordered"},
            {"if": "no_open_complaint"},
            {"send": "replenishment_reminder"},
        ],
    },
    "referral-after-review": {
        "name": "Referral invitation after a 4 or 5 star review",
        "trigger": "review.submitted",
        "filters": {"rating_at_least": 4},
        "marketing": True,
        "holdout": 0.1,
        "steps": [
            # An hour later: a thank-you, not an automatic reply to the review form.
            {"wait": {"hours": 1}},
            {"if": "no_open_complaint"},
            {"send": "referral_invitation"},
        ],
    },
    "win-back": {
        "name": "Win-back after 90 days without an order",
        "trigger": "order.placed",
        "marketing": True,
        "holdout": 0.1,
        "exit_on": ["order.placed"],
        "steps": [
            {"wait": {"days": 90, "at_hour": 10}},
            {"if": "no_newer_order"},
            {"if": "no_open_complaint"},
            {"send": "win_back"},
        ],
    },
}
