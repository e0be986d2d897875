"""Flow steps run a batch of enrolments at a time, their emails queued in one statement.
When something in a batch goes wrong it is undone and run again one enrolment at a time:
what the customer gets is the same either way."""

import pytest
from django.utils import timezone

from aftercart.flows.models import Enrolment
from aftercart.flows.services import run_due, save_flow
from aftercart.messaging.models import Message
from tests.flows.test_loop import place

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit


def confirmations():
    return Enrolment.objects.filter(flow__key="order-confirmation").order_by("pk")


def queued_email(enrolment) -> Message:
    """The email the enrolment's history says it queued."""
    (entry,) = [e for e in enrolment.history if "queued (email" in e["what"]]
    return Message.objects.get(pk=int(entry["what"].rsplit(" ", 1)[1].rstrip(")")))


def test_each_order_of_a_batch_gets_its_confirmation_once(shop):
    for i in range(3):
        place(shop, f"700{i}", email=f"c{i}@example.com")
    run_due()
    emails = Message.objects.filter(kind="order_confirmation").order_by("to_email")
    assert [m.to_email for m in emails] == [f"c{i}@example.com" for i in range(3)]
    for enrolment in confirmations():
        assert enrolment.status == Enrolment.Status.COMPLETED
        email = queued_email(enrolment)  # the history names the email that was queued
        assert email.dedupe_key.startswith(f"flow:{enrolment.pk}:")
        assert email.order_id == enrolment.order_id


def test_a_step_run_again_queues_no_second_email_and_the_batch_goes_on(shop):
    place(shop, "7101", email="first@example.com")
    run_due()
    first = confirmations().get()
    email = queued_email(first)
    # As if the step ran again (a worker killed after queueing, before it could record it):
    # the batch holds an email queued already, beside a new order's.
    Enrolment.objects.filter(pk=first.pk).update(
        status=Enrolment.Status.ACTIVE,
        step=0,
        history=[],
        ended_at=None,
        next_run_at=timezone.now(),
    )
    second_order = place(shop, "7102", email="second@example.com")
    run_due()
    assert Message.objects.filter(to_email="first@example.com").count() == 1
    first.refresh_from_db()
    assert first.status == Enrolment.Status.COMPLETED
    assert queued_email(first) == email
    second = confirmations().get(order_id=second_order.pk)
    assert queued_email(second).to_email == "second@example.com"


def test_a_flow_that_ends_in_the_run_that_queued_its_email_withdraws_it(shop):
    save_flow(
        shop,
        "note-then-reminder",
        {
            "name": "A note, then a reminder",
            "trigger": "order.placed",
            "marketing": True,
            "holdout": 0,
            # Espresso beans without a reorder interval: the reminder's wait ends the flow.
            "steps": [{"send": "check_in"}, {"wait": {"reorder_interval": True}}],
        },
    )
    place(shop, "7201", email="beans@example.com")
    run_due()
    enrolment = Enrolment.objects.get(flow__key="note-then-reminder")
    assert enrolment.status == Enrolment.Status.EXITED
    email = queued_email(enrolment)
    assert email.kind == "check_in"
    assert email.status == Message.Status.SUPPRESSED
    assert email.reason.startswith("the flow ended: nothing to remind of")
    # The other flows of the same batch went on as usual.
    assert confirmations().get().status == Enrolment.Status.COMPLETED


@pytest.mark.parametrize("batch_fails", [False, True])
def test_a_batch_of_returning_customers_ends_each_win_back_once(shop, monkeypatch, batch_fails):
    """The orders of a webhook drain, 1,000 at a time in production: every earlier
    win-back of these customers ends in one statement (or, when that fails, one by one)."""
    from aftercart.core.events import DomainEvent
    from aftercart.flows import services

    save_flow(shop, "win-back", {**services.DEFAULT_LOOP["win-back"], "holdout": 0})
    from aftercart.core.events import muted

    first = [place(shop, f"81{i:02d}", email=f"r{i}@example.com") for i in range(12)]
    with muted():  # their events come below, as one batch (one of them twice)
        again = [place(shop, f"82{i:02d}", email=f"r{i}@example.com") for i in range(12)]
    win_backs = Enrolment.objects.filter(flow__key="win-back")
    if batch_fails:
        real = services.update_rows

        def refuses_exits(model, fields, rows):
            if "exit_reason" in fields and model is Enrolment and "history" in fields:
                rows = list(rows)
                if any(row[0] == Enrolment.Status.EXITED for row in rows):
                    raise RuntimeError("the database refused the batch")
            return real(model, fields, rows)

        monkeypatch.setattr(services, "update_rows", refuses_exits)
    services.on_events(
        [
            DomainEvent("order.placed", shop.id, {"order_id": o.id, "customer_id": o.customer_id})
            for o in [*again, again[0]]
        ]
    )
    for order in first:
        ended = win_backs.get(order_id=order.id)
        assert ended.status == Enrolment.Status.EXITED
        assert ended.exit_reason == "order.placed ended it"
        assert [e["what"] for e in ended.history].count("order.placed ended it") == 1
    assert set(
        win_backs.filter(order_id__in=[o.id for o in again]).values_list("status", flat=True)
    ) == {Enrolment.Status.ACTIVE}
