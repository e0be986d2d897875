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
    "delivered": {
        "name": "Delivered",
        "trigger": "shipment.delivered",
        "steps": [{"send": "delivered"}],
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
            {"send": "check_in"},
            {"wait": {"days": 4, "at_hour": 10}},
            # A refunded order gets no review request (and a return in progress or an
            # open complaint will hold it too, once returns and tickets exist).
            {"if": "not_refunded"},
            {"send": "review_request"},
            {"wait": {"days": 7, "at_hour": 10}},
            {"if": "not_refunded"},
            {"send": "cross_sell"},
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
            {"send": "win_back"},
        ],
    },
}
