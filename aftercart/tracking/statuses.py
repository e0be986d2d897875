"""One status model for every parcel, and how each source's own statuses map onto it.

    info_received ─► in_transit ─► out_for_delivery ─► delivered
                                   │                ├► failed_attempt ─► (out for delivery again)
                                   │                └► available_for_pickup ─► delivered
                                   └► exception ─► returned_to_sender

`pending` (nothing shipped yet) and `cancelled` (a fulfilment the store withdrew) are the
two states around it. A status no table knows maps to None: the caller keeps what it had
rather than guessing.
"""

INFO_RECEIVED = "info_received"
IN_TRANSIT = "in_transit"
OUT_FOR_DELIVERY = "out_for_delivery"
FAILED_ATTEMPT = "failed_attempt"
AVAILABLE_FOR_PICKUP = "available_for_pickup"
DELIVERED = "delivered"
EXCEPTION = "exception"
RETURNED_TO_SENDER = "returned_to_sender"

TRACKING_STATUSES = (
    INFO_RECEIVED,
    IN_TRANSIT,
    OUT_FOR_DELIVERY,
    FAILED_ATTEMPT,
    AVAILABLE_FOR_PICKUP,
    DELIVERED,
    EXCEPTION,
    RETURNED_TO_SENDER,
)
# Each is published as its own domain event ("shipment.out_for_delivery") for the flows.
PUBLISHED = (OUT_FOR_DELIVERY, FAILED_ATTEMPT, AVAILABLE_FOR_PICKUP, EXCEPTION, RETURNED_TO_SENDER)
# Something went wrong on the way: customer care should look, the customer hear from us.
TROUBLE = (FAILED_ATTEMPT, EXCEPTION, RETURNED_TO_SENDER)

# Shopify's fulfillment.shipment_status.
SHOPIFY = {
    "label_printed": INFO_RECEIVED,
    "label_purchased": INFO_RECEIVED,
    "confirmed": INFO_RECEIVED,
    "carrier_picked_up": IN_TRANSIT,
    "in_transit": IN_TRANSIT,
    "out_for_delivery": OUT_FOR_DELIVERY,
    "attempted_delivery": FAILED_ATTEMPT,
    "ready_for_pickup": AVAILABLE_FOR_PICKUP,
    "picked_up": DELIVERED,
    "delivered": DELIVERED,
    "failure": EXCEPTION,
}
# Shopify's fulfillment.status, when there is no shipment_status yet.
SHOPIFY_FULFILMENT = {
    "pending": "pending",
    "open": INFO_RECEIVED,
    "success": IN_TRANSIT,
    "cancelled": "cancelled",
    "error": EXCEPTION,
    "failure": EXCEPTION,
}
# WooCommerce has no parcel statuses of its own. Tracking plugins keep them in the order's
# meta data: TrackShip (for Advanced Shipment Tracking) in `shipment_status[].status`.
WOOCOMMERCE_TRACKSHIP = {
    "pending_trackship": None,
    "unknown": None,
    "carrier_unsupported": None,
    "label_created": INFO_RECEIVED,
    "pre_transit": INFO_RECEIVED,
    "in_transit": IN_TRANSIT,
    "out_for_delivery": OUT_FOR_DELIVERY,
    "failed_attempt": FAILED_ATTEMPT,
    "failure": FAILED_ATTEMPT,
    "available_for_pickup": AVAILABLE_FOR_PICKUP,
    "delivered": DELIVERED,
    "exception": EXCEPTION,
    "on_hold": EXCEPTION,
    "return_to_sender": RETURNED_TO_SENDER,
    "returned_to_sender": RETURNED_TO_SENDER,
}
# The event API takes the model's own words, and a few a developer is likely to send.
GENERIC = {
    **{s: s for s in TRACKING_STATUSES},
    "pending": "pending",
    "cancelled": "cancelled",
    "label_created": INFO_RECEIVED,
    "shipped": IN_TRANSIT,
    "attempted_delivery": FAILED_ATTEMPT,
    "ready_for_pickup": AVAILABLE_FOR_PICKUP,
    "returned": RETURNED_TO_SENDER,
}
# AfterShip's delivery status ("tag"); a few of its sub-statuses ("subtag") say more.
AFTERSHIP = {
    "Pending": None,
    "InfoReceived": INFO_RECEIVED,
    "InTransit": IN_TRANSIT,
    "OutForDelivery": OUT_FOR_DELIVERY,
    "AttemptFail": FAILED_ATTEMPT,
    "AvailableForPickup": AVAILABLE_FOR_PICKUP,
    "Delivered": DELIVERED,
    "Exception": EXCEPTION,
    "Expired": EXCEPTION,
}
AFTERSHIP_SUBTAGS = {
    "Exception_010": RETURNED_TO_SENDER,  # returning to sender
    "Exception_011": RETURNED_TO_SENDER,  # returned to sender
}

SOURCES = {
    "shopify": SHOPIFY,
    "woocommerce": WOOCOMMERCE_TRACKSHIP,
    "api": GENERIC,
    "aftership": AFTERSHIP,
}


def normalise(source: str, raw: str | None, detail: str | None = None) -> str | None:
    """The model's status for what a source said, or None when the source's word is unknown."""
    if not raw:
        return None
    if source == "aftership" and detail in AFTERSHIP_SUBTAGS:
        return AFTERSHIP_SUBTAGS[detail]
    table = SOURCES.get(source, GENERIC)
    return table.get(raw if source == "aftership" else raw.strip().lower())
