"""A step that fails is tried again later, not in a loop, and after five failures the
customer leaves the flow with the reason; other customers' steps go on meanwhile."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from aftercart.flows import predicates
from aftercart.flows.models import Enrolment
from aftercart.flows.services import GIVE_UP_AFTER, RETRY_AFTER_ERROR, run_due, save_flow
from aftercart.messaging.models import Message
from tests.flows.test_loop import place

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit


@pytest.fixture
def exploding():
    @predicates.predicate("explodes_for_the_test")
    def explodes(enrolment, args):
        raise RuntimeError("the order service is down")

    yield
    predicates.REGISTRY.pop("explodes_for_the_test", None)


def test_a_failing_step_is_retried_later_then_given_up(shop, exploding):
    save_flow(
        shop,
        "fragile",
        {
            "name": "Fragile",
            "trigger": "order.placed",
            "steps": [{"if": "explodes_for_the_test"}, {"action": "tag_customer", "tag": "never"}],
        },
    )
    place(shop, "3001")
    run_due()  # returns: the failed step is not due again at once, so no loop on it
    fragile = Enrolment.objects.get(flow__key="fragile")
    confirmation = Enrolment.objects.get(flow__key="order-confirmation")
    assert confirmation.status == Enrolment.Status.COMPLETED  # the others went on
    # Its email queued once, though the batch it was in ran twice (see run_due).
    assert Message.objects.filter(kind="order_confirmation").count() == 1
    assert fragile.status == Enrolment.Status.ACTIVE
    assert fragile.next_run_at > timezone.now() + RETRY_AFTER_ERROR - timedelta(minutes=1)
    assert fragile.history[-1]["what"].startswith("step failed: RuntimeError: the order")

    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(GIVE_UP_AFTER - 1):
            clock.shift(RETRY_AFTER_ERROR + timedelta(seconds=1))
            run_due()
    fragile.refresh_from_db()
    assert fragile.status == Enrolment.Status.EXITED
    assert fragile.exit_reason == f"a step failed {GIVE_UP_AFTER} times"
