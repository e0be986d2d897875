"""A run of the flow steps takes what is due when it starts, so it ends under a steady
stream of due steps and the worker gets on to sending the emails they queued."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from aftercart.flows import services
from aftercart.flows.models import Enrolment
from aftercart.flows.services import run_due
from tests.flows.test_loop import place

pytestmark = pytest.mark.django_db(transaction=True)  # events go out when transactions commit


def test_steps_falling_due_during_a_run_wait_for_the_next_run(shop, monkeypatch):
    for i in range(4):
        place(shop, f"500{i}", email=f"c{i}@example.com")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        start = timezone.now()
        Enrolment.objects.update(next_run_at=start + timedelta(days=1))  # out of the way
        first, *later = Enrolment.objects.filter(flow__key="order-confirmation").order_by("pk")
        assert len(later) == 3
        Enrolment.objects.filter(pk=first.pk).update(next_run_at=start)
        Enrolment.objects.filter(pk__in=[e.pk for e in later]).update(
            next_run_at=start + timedelta(seconds=5)
        )
        real = services._advance_batch

        def a_slow_batch(size, due_by=None, **how):
            done = real(1, due_by, **how)
            clock.shift(timedelta(seconds=10))  # meanwhile the others fall due
            return done

        monkeypatch.setattr(services, "_advance_batch", a_slow_batch)
        assert run_due() == 1  # not one after another for as long as more fall due
        assert ran(first)
        assert not any(ran(e) for e in later)
        monkeypatch.undo()
        assert run_due() == 3  # the next run takes them
        assert all(ran(e) for e in later)


def ran(enrolment) -> bool:
    enrolment.refresh_from_db()
    return len(enrolment.history) > 1  # more than "enrolled"
