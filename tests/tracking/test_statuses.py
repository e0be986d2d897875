"""Every source's parcel statuses map onto one model."""

import pytest

from aftercart.tracking import statuses
from aftercart.tracking.statuses import normalise


@pytest.mark.parametrize(
    ("source", "raw", "detail", "expected"),
    [
        ("shopify", "label_printed", None, "info_received"),
        ("shopify", "confirmed", None, "info_received"),
        ("shopify", "in_transit", None, "in_transit"),
        ("shopify", "out_for_delivery", None, "out_for_delivery"),
        ("shopify", "attempted_delivery", None, "failed_attempt"),
        ("shopify", "ready_for_pickup", None, "available_for_pickup"),
        ("shopify", "picked_up", None, "delivered"),
        ("shopify", "delivered", None, "delivered"),
        ("shopify", "failure", None, "exception"),
        ("woocommerce", "pre_transit", None, "info_received"),
        ("woocommerce", "In_Transit", None, "in_transit"),
        ("woocommerce", "out_for_delivery", None, "out_for_delivery"),
        ("woocommerce", "failure", None, "failed_attempt"),
        ("woocommerce", "available_for_pickup", None, "available_for_pickup"),
        ("woocommerce", "delivered", None, "delivered"),
        ("woocommerce", "exception", None, "exception"),
        ("woocommerce", "return_to_sender", None, "returned_to_sender"),
        ("woocommerce", "unknown", None, None),
        ("api", "shipped", None, "in_transit"),
        ("api", "returned_to_sender", None, "returned_to_sender"),
        ("aftership", "InfoReceived", "InfoReceived_001", "info_received"),
        ("aftership", "InTransit", "InTransit_007", "in_transit"),
        ("aftership", "OutForDelivery", "OutForDelivery_001", "out_for_delivery"),
        ("aftership", "AttemptFail", "AttemptFail_001", "failed_attempt"),
        ("aftership", "AvailableForPickup", "AvailableForPickup_001", "available_for_pickup"),
        ("aftership", "Delivered", "Delivered_002", "delivered"),
        ("aftership", "Exception", "Exception_013", "exception"),
        ("aftership", "Exception", "Exception_011", "returned_to_sender"),
        ("aftership", "Expired", None, "exception"),
        ("aftership", "Pending", None, None),
        ("aftership", "intransit", None, None),  # AfterShip's words are case-sensitive
        ("shopify", "teleported", None, None),
        ("shopify", "", None, None),
    ],
)
def test_each_sources_status_maps_onto_the_model(source, raw, detail, expected):
    assert normalise(source, raw, detail) == expected


def test_every_mapping_lands_inside_the_model():
    allowed = set(statuses.TRACKING_STATUSES) | {"pending", "cancelled", None}
    for table in (*statuses.SOURCES.values(), statuses.SHOPIFY_FULFILMENT):
        assert set(table.values()) <= allowed
