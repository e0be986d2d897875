"""Flow definitions: checked on the way in, every problem named where it is."""

import pytest

from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.definitions import DefinitionError, parse
from aftercart.flows.services import is_control


@pytest.mark.parametrize("key", list(DEFAULT_LOOP))
def test_the_default_loop_is_valid(key):
    assert parse(DEFAULT_LOOP[key]).steps


@pytest.mark.parametrize(
    "definition,problem",
    [
        ({"name": "x", "trigger": "order.shipped", "steps": [{"send": "delivered"}]}, "trigger"),
        ({"name": "x", "trigger": "order.placed", "steps": []}, "steps"),
        (
            {"name": "x", "trigger": "order.placed", "steps": [{"send": "thank_you_card"}]},
            "steps[0].send",
        ),
        (
            {"name": "x", "trigger": "order.placed", "steps": [{"wait": {"days": -1}}]},
            "steps[0].wait.days",
        ),
        (
            {"name": "x", "trigger": "order.placed", "steps": [{"if": "is_vip"}]},
            "steps[0].if",
        ),
        (
            {"name": "x", "trigger": "order.placed", "steps": [{"send": "review_request"}]},
            "marketing",
        ),
        (
            {
                "name": "x",
                "trigger": "order.placed",
                "steps": [{"wait": {"until_event": "shipment.delivered"}}],
            },
            "timeout_days",
        ),
        (
            {
                "name": "x",
                "trigger": "order.placed",
                "steps": [{"if": "order_total_at_least", "args": {"amount": "lots"}}],
            },
            "steps[0].args",
        ),
    ],
)
def test_a_bad_definition_says_what_and_where(definition, problem):
    with pytest.raises(DefinitionError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse(definition)


def test_the_holdout_is_ten_percent_within_tolerance_over_ten_thousand_customers():
    controls = sum(is_control(7, customer_id, 0.1) for customer_id in range(1, 10_001))
    assert 900 <= controls <= 1100  # 10 % ± 1 point; the binomial spread is 0.3 point
    # The same customer, the same answer, every time; another flow draws anew.
    assert [is_control(7, c, 0.1) for c in range(50)] == [is_control(7, c, 0.1) for c in range(50)]
    assert [is_control(7, c, 0.1) for c in range(200)] != [
        is_control(8, c, 0.1) for c in range(200)
    ]
