"""The return policy's verdicts: what a customer and an agent are told, and the amounts."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from aftercart.returns.policy import (
    Circumstances,
    Decision,
    Exclusion,
    Item,
    Policy,
    Request,
    RequestProblem,
    Resolution,
    evaluate,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DELIVERED = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)  # 1 November, 11:00 in Amsterdam
SHIRT = Item(1, "Linen shirt", Decimal("40.00"), delivered=3, product="p-shirt", category="Shirts")
EARRINGS = Item(
    2,
    "Silver earrings",
    Decimal("25.00"),
    delivered=1,
    category="Jewellery",
    tags=frozenset({"Hygiene"}),
)
SALE = Item(3, "Wool scarf", Decimal("12.50"), delivered=1, tags=frozenset({"final-sale"}))
POLICY = Policy(
    window_days=14,
    exclusions=(
        Exclusion("Final sale", tags=frozenset({"FINAL-SALE"})),
        Exclusion("Hygiene", tags=frozenset({"hygiene"})),
    ),
)
ITEMS = [SHIRT, EARRINGS, SALE]


def when(now: datetime, delivered: datetime | None = DELIVERED, earlier: int = 0) -> Circumstances:
    ordered = datetime(2026, 10, 28, 9, 0, tzinfo=UTC)
    return Circumstances(ordered, delivered, now, AMSTERDAM, earlier)


def ask(quantities, reason="changed_mind", **more) -> Request:
    return Request(quantities, reason, **more)


# The last day is 15 November on the shop's clock: 23:59 there is 22:59 UTC.
@pytest.mark.parametrize(
    "now,decision",
    [
        (datetime(2026, 11, 15, 22, 59, tzinfo=UTC), Decision.APPROVED),
        (datetime(2026, 11, 15, 23, 1, tzinfo=UTC), Decision.REJECTED),  # 16 Nov, 00:01 there
    ],
)
def test_the_windows_last_day_ends_at_midnight_on_the_shops_clock(now, decision):
    verdict = evaluate(POLICY, ITEMS, ask({1: 1}), when(now))
    assert verdict.decision == decision
    assert str(verdict.last_day) == "2026-11-15"
    if decision == Decision.REJECTED:
        assert verdict.reasons == ["The return period ended on 15 November 2026."]
        with translation.override("nl"):
            dutch = evaluate(POLICY, ITEMS, ask({1: 1}), when(now))
        assert dutch.reasons == ["De retourtermijn liep af op 15 november 2026."]


def test_an_order_never_reported_delivered_counts_from_the_order_date():
    verdict = evaluate(
        POLICY, ITEMS, ask({1: 1}), when(datetime(2026, 11, 12, 9, tzinfo=UTC), delivered=None)
    )
    assert verdict.decision == Decision.REJECTED and str(verdict.last_day) == "2026-11-11"


def test_final_sale_and_hygiene_items_stay_and_the_rest_comes_back():
    verdict = evaluate(
        POLICY, ITEMS, ask({1: 1, 2: 1, 3: 1}), when(datetime(2026, 11, 3, tzinfo=UTC))
    )
    assert verdict.decision == Decision.APPROVED
    assert [(line.item.line_id, line.accepted) for line in verdict.lines] == [
        (1, 1),
        (2, 0),
        (3, 0),
    ]
    assert verdict.reasons == [
        "Silver earrings: Hygiene: it cannot be returned.",
        "Wool scarf: Final sale: it cannot be returned.",
    ]
    assert verdict.refund == Decimal("40.00")


def test_only_excluded_items_is_a_refusal():
    verdict = evaluate(POLICY, ITEMS, ask({3: 1}), when(datetime(2026, 11, 3, tzinfo=UTC)))
    assert verdict.decision == Decision.REJECTED
    assert verdict.reasons == ["Wool scarf: Final sale: it cannot be returned."]


def test_a_product_marked_not_returnable_stays():
    item = replace(SHIRT, returnable=False)
    verdict = evaluate(POLICY, [item], ask({1: 1}), when(datetime(2026, 11, 3, tzinfo=UTC)))
    assert verdict.reasons == ["Linen shirt: this item cannot be returned."]


@pytest.mark.parametrize(
    "delivered,returned,asked,accepted,why",
    [
        (3, 0, 2, 2, ""),  # part of a line
        (3, 1, 3, 2, "Linen shirt: only 2 can still be returned."),
        (3, 2, 2, 1, "Linen shirt: only 1 can still be returned."),
        (3, 3, 1, 0, "Linen shirt: it has been returned already or has not reached you yet."),
        (1, 0, 3, 1, "Linen shirt: only 1 can still be returned."),  # 3 ordered, 1 delivered
    ],
)
def test_only_delivered_quantities_not_returned_already(delivered, returned, asked, accepted, why):
    item = replace(SHIRT, delivered=delivered, returned=returned)
    verdict = evaluate(POLICY, [item], ask({1: asked}), when(datetime(2026, 11, 3, tzinfo=UTC)))
    assert verdict.lines[0].accepted == accepted
    assert verdict.reasons == ([why] if why else [])
    assert verdict.refund == Decimal("40.00") * accepted


def test_a_frequent_returner_is_looked_at_by_a_person():
    policy = replace(POLICY, review_after=3)
    third = evaluate(policy, ITEMS, ask({1: 1}), when(datetime(2026, 11, 3, tzinfo=UTC), earlier=2))
    fourth = evaluate(
        policy, ITEMS, ask({1: 1}), when(datetime(2026, 11, 3, tzinfo=UTC), earlier=3)
    )
    assert third.decision == Decision.APPROVED
    assert fourth.decision == Decision.REVIEW
    assert fourth.reasons == []  # the pages say what a review means, in their own words
    assert fourth.refund == Decimal("40.00")  # what it would be, shown before she confirms


@pytest.mark.parametrize(
    "reason,photos,comment,refusal",
    [
        ("damaged", 0, "", "Please add a photo that shows the problem."),
        ("damaged", 1, "", None),
        ("not_as_described", 0, "  ", "Please tell us in a few words what is wrong."),
        ("not_as_described", 0, "The colour is grey, not blue", None),
        ("bored", 0, "", "Please choose one of the reasons for the return."),
    ],
)
def test_reasons_that_need_a_photo_or_a_comment(reason, photos, comment, refusal):
    request = ask({1: 1}, reason=reason, photos=photos, comment=comment)
    verdict = evaluate(POLICY, ITEMS, request, when(datetime(2026, 11, 3, tzinfo=UTC)))
    assert verdict.reasons == ([refusal] if refusal else [])
    assert verdict.decision == (Decision.REJECTED if refusal else Decision.APPROVED)


def test_a_resolution_the_reason_does_not_allow_says_what_is_offered():
    policy = replace(
        POLICY,
        reasons=(
            replace(POLICY.reasons[0], resolutions=(Resolution.EXCHANGE, Resolution.STORE_CREDIT)),
        ),
    )
    verdict = evaluate(policy, ITEMS, ask({1: 1}), when(datetime(2026, 11, 3, tzinfo=UTC)))
    assert verdict.reasons == ["For “I changed my mind” we offer an exchange, store credit."]


@pytest.mark.parametrize(
    "reason,resolution,refund,credit,restocking,shipping",
    [
        # 2 × 40.00 = 80.00; 10 % restocking 8.00; the customer's reason: 4.95 shipping
        ("changed_mind", Resolution.REFUND, "67.05", "0", "8.00", "4.95"),
        # store credit: 67.05 plus 10 % bonus = 73.755, rounded half up
        ("changed_mind", Resolution.STORE_CREDIT, "0", "73.76", "8.00", "4.95"),
        # the shop's fault: no fees at all
        ("damaged", Resolution.REFUND, "80.00", "0", "0", "0"),
        # an exchange keeps the sale: no fees either
        ("changed_mind", Resolution.EXCHANGE, "0", "0", "0", "0"),
    ],
)
def test_what_comes_back_in_money(reason, resolution, refund, credit, restocking, shipping):
    policy = replace(
        POLICY,
        restocking_fee_percent=Decimal(10),
        store_credit_bonus_percent=Decimal(10),
        return_shipping_fee=Decimal("4.95"),
    )
    request = ask({1: 2}, reason=reason, resolution=resolution, photos=1)
    verdict = evaluate(policy, ITEMS, request, when(datetime(2026, 11, 3, tzinfo=UTC)))
    assert verdict.items_value == Decimal("80.00")
    assert (verdict.refund, verdict.store_credit) == (Decimal(refund), Decimal(credit))
    assert (verdict.restocking_fee, verdict.shipping_fee) == (
        Decimal(restocking),
        Decimal(shipping),
    )


def test_fees_never_make_a_refund_negative():
    policy = replace(POLICY, return_shipping_fee=Decimal("15.00"))
    cheap = replace(SALE, tags=frozenset(), unit_paid=Decimal("12.50"))
    verdict = evaluate(policy, [cheap], ask({3: 1}), when(datetime(2026, 11, 3, tzinfo=UTC)))
    assert verdict.refund == Decimal("0")


@pytest.mark.parametrize(
    "quantities,problem",
    [
        ({9: 1}, "the order has no line 9"),
        ({1: -1}, "a quantity cannot be negative"),
        ({1: 0}, "choose at least one item to return"),
    ],
)
def test_a_request_the_order_cannot_hold_is_refused_with_what_is_wrong(quantities, problem):
    with pytest.raises(RequestProblem, match=problem):
        evaluate(POLICY, ITEMS, ask(quantities), when(datetime(2026, 11, 3, tzinfo=UTC)))
