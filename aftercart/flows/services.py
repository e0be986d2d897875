"""Flows: enrol customers when their trigger happens, walk them through the steps.

Each step runs as a task and decides with the state of the moment it runs: a review
request scheduled 7 days ago checks today whether the order was refunded. Nothing is
cancelled ahead of time; a customer leaves a flow when a condition fails, an exit event
arrives, or she unsubscribes (marketing flows).
"""

import hashlib
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercart.core.events import DomainEvent
from aftercart.core.models import Shop
from aftercart.customers.models import Customer
from aftercart.customers.services import tag_customer
from aftercart.flows import predicates
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.definitions import TRIGGERS, Definition, Step, parse
from aftercart.flows.models import Enrolment, Flow, FlowVersion
from aftercart.messaging.services import queue_message
from aftercart.orders.queries import order_facts

log = logging.getLogger(__name__)


def save_flow(shop: Shop, key: str, definition: dict) -> Flow:
    """Create the flow, or give it a new version; running enrolments finish on theirs."""
    parsed = parse(definition)
    with transaction.atomic():
        flow, created = Flow.objects.select_for_update().get_or_create(
            shop=shop, key=key, defaults={"name": parsed.name, "trigger": parsed.trigger}
        )
        number = 1 if created else flow.versions.count() + 1
        version = FlowVersion.objects.create(flow=flow, number=number, definition=definition)
        flow.name, flow.trigger, flow.version = parsed.name, parsed.trigger, version
        flow.save(update_fields=["name", "trigger", "version"])
    return flow


def install_default_loop(shop: Shop) -> list[Flow]:
    """The default loop for a shop; a flow the shop has already (by key) is left alone."""
    have = set(Flow.objects.filter(shop=shop).values_list("key", flat=True))
    return [
        save_flow(shop, key, definition)
        for key, definition in DEFAULT_LOOP.items()
        if key not in have
    ]


def set_status(flow: Flow, status: str) -> None:
    """Pause (no one enrols, no step runs) or resume (due steps run at once)."""
    if status not in Flow.Status.values:
        raise ValueError(f"status {status!r}: active or paused")
    flow.status = status
    flow.save(update_fields=["status"])
    if status == Flow.Status.ACTIVE:
        from aftercart.flows.tasks import run_flows

        transaction.on_commit(lambda: run_flows.enqueue())


def is_control(flow_id: int, customer_id: int, share: float) -> bool:
    """The holdout: the same customer is in (or out of) a flow's control group every time."""
    digest = hashlib.sha256(f"holdout:{flow_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def on_event(event: DomainEvent) -> None:
    """Every domain event: end waits and enrolments it ends, then enrol whom it starts."""
    who = _subject(event)
    if who is None:
        return
    customer_id, order_id, shipment_id, locale = who
    if customer_id:
        _leave_or_resume(event, customer_id)
    flows = Flow.objects.filter(
        shop_id=event.shop_id, trigger=event.name, status=Flow.Status.ACTIVE
    ).select_related("version")
    for flow in flows:
        enrol(flow, event.name, customer_id, order_id, shipment_id)


def _subject(event: DomainEvent) -> tuple[int | None, int | None, int | None, str] | None:
    if event.name not in TRIGGERS and event.name != "customer.consent_changed":
        return None
    data = event.data
    order_id, shipment_id = data.get("order_id"), data.get("shipment_id")
    if order_id:
        facts = order_facts(event.shop_id, order_id)
        if facts is None:
            return None
        return facts["customer_id"], order_id, shipment_id, facts["locale"]
    return data.get("customer_id"), None, None, ""


def enrol(
    flow: Flow,
    trigger: str,
    customer_id: int | None,
    order_id: int | None,
    shipment_id: int | None,
) -> Enrolment | None:
    """Start a customer on a flow; the same trigger twice enrols once."""
    if customer_id is None:
        return None  # an order without an address: no one to write to
    definition = parse(flow.version.definition)
    key = f"{trigger}:{order_id or ''}:{shipment_id or ''}:{customer_id}"
    control = definition.marketing and is_control(flow.id, customer_id, definition.holdout)
    now = timezone.now()
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                shop_id=flow.shop_id,
                flow=flow,
                version=flow.version,
                customer_id=customer_id,
                order_id=order_id,
                shipment_id=shipment_id,
                trigger_key=key[:200],
                control=control,
                started_at=now,
                next_run_at=now,
                history=[_entry(now, 0, "enrolled" + (" (control group)" if control else ""))],
            )
    except IntegrityError:
        return None
    _schedule(enrolment.pk, now)
    return enrolment


def _leave_or_resume(event: DomainEvent, customer_id: int) -> None:
    now = timezone.now()
    running = Enrolment.objects.filter(
        shop_id=event.shop_id, customer_id=customer_id, status=Enrolment.Status.ACTIVE
    ).select_related("version")
    withdrew = event.name == "customer.consent_changed" and not event.data.get("accepts_marketing")
    for enrolment in running:
        definition = parse(enrolment.version.definition)
        own_trigger = enrolment.trigger_key.startswith(
            f"{event.name}:{event.data.get('order_id') or ''}:"
        )
        if withdrew and definition.marketing:
            _end(enrolment.pk, Enrolment.Status.EXITED, "unsubscribed from marketing mail")
        elif event.name in definition.exit_on and not own_trigger:
            _end(enrolment.pk, Enrolment.Status.EXITED, f"{event.name} ended it")
        elif enrolment.waiting and enrolment.waiting_for == event.name:
            Enrolment.objects.filter(pk=enrolment.pk, waiting=True).update(next_run_at=now)
            _schedule(enrolment.pk, now)


def _end(enrolment_id: int, status: str, reason: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        enrolment = Enrolment.objects.select_for_update().get(pk=enrolment_id)
        if enrolment.status != Enrolment.Status.ACTIVE:
            return
        _finish(enrolment, now, status, reason)


def _finish(enrolment: Enrolment, now: datetime, status: str, reason: str = "") -> None:
    enrolment.status, enrolment.exit_reason, enrolment.ended_at = status, reason[:200], now
    enrolment.waiting, enrolment.next_run_at = False, None
    enrolment.history.append(_entry(now, enrolment.step, reason or "completed"))
    enrolment.save()


def _entry(at: datetime, step: int, what: str) -> dict:
    return {"at": at.isoformat(), "step": step, "what": what}


def _schedule(enrolment_id: int, when: datetime) -> None:
    from aftercart.flows.tasks import run_enrolment

    def enqueue():
        task = run_enrolment
        if when > timezone.now():
            task = run_enrolment.using(run_after=when)
        task.enqueue(enrolment_id)

    transaction.on_commit(enqueue)


def advance(enrolment_id: int) -> None:
    """Run the enrolment's steps that are due, up to the next wait (or the end)."""
    now = timezone.now()
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update(of=("self",))
            .select_related("version", "flow", "shop", "customer")
            .filter(pk=enrolment_id)
            .first()
        )
        if enrolment is None or enrolment.status != Enrolment.Status.ACTIVE:
            return
        if enrolment.flow.status == Flow.Status.PAUSED:
            return  # picked up again when the flow is resumed
        if enrolment.next_run_at and enrolment.next_run_at > now:
            return  # woken early (a task ran twice); the wait is not over
        _run_steps(enrolment, parse(enrolment.version.definition), now)


def _run_steps(enrolment: Enrolment, definition: Definition, now: datetime) -> None:
    # Waits count from when the step before was due, not from when a worker got to it:
    # a worker that was down for an hour does not push the rest of the flow back an hour.
    clock = min(enrolment.next_run_at or now, now)
    steps = definition.steps
    while enrolment.step < len(steps):
        step = steps[enrolment.step]
        if step.kind == "wait":
            if not enrolment.waiting:
                until = _wait_until(step, enrolment, clock)
                if until > now:
                    enrolment.waiting, enrolment.waiting_for = True, step.until_event
                    enrolment.next_run_at = until
                    enrolment.history.append(
                        _entry(now, enrolment.step, f"{step.describe()}: until {until.isoformat()}")
                    )
                    enrolment.save()
                    _schedule(enrolment.pk, until)
                    return
                clock = until  # it has passed already (the worker was behind)
            enrolment.waiting, enrolment.waiting_for, enrolment.next_run_at = False, "", None
            enrolment.step += 1
        elif step.kind == "if":
            if predicates.REGISTRY[step.predicate].test(enrolment, step.args):
                enrolment.step += 1
                continue
            if step.otherwise == "skip":
                enrolment.history.append(
                    _entry(now, enrolment.step, f"{step.predicate}: no, skipped the next step")
                )
                enrolment.step += 2
                continue
            _finish(enrolment, now, Enrolment.Status.EXITED, f"{step.predicate}: no")
            return
        elif step.kind == "send":
            _send(enrolment, step, now)
            enrolment.step += 1
        else:
            if enrolment.customer_id:
                tag_customer(enrolment.customer, step.args["tag"])
            enrolment.history.append(_entry(now, enrolment.step, step.describe()))
            enrolment.step += 1
    _finish(enrolment, now, Enrolment.Status.COMPLETED)


def _send(enrolment: Enrolment, step: Step, now: datetime) -> None:
    if enrolment.control:
        what = f"{step.message}: not sent (control group)"
    elif enrolment.customer is None:
        what = f"{step.message}: not sent (the customer is gone)"
    else:
        facts = order_facts(enrolment.shop_id, enrolment.order_id) if enrolment.order_id else None
        message, _ = queue_message(
            enrolment.shop,
            step.message,
            customer=enrolment.customer,
            # The enrolment and the step: a step that runs twice queues one message.
            dedupe_key=f"flow:{enrolment.pk}:step:{enrolment.step}",
            order_id=enrolment.order_id,
            shipment_id=enrolment.shipment_id,
            order_locale=(facts or {}).get("locale", ""),
            flow_id=enrolment.flow_id,
        )
        what = f"{step.message}: queued (email {message.pk})"
    enrolment.history.append(_entry(now, enrolment.step, what))


def _wait_until(step: Step, enrolment: Enrolment, now: datetime) -> datetime:
    until = now + step.duration
    if step.at_hour is None:
        return until
    # At that hour of the day the wait ends on ("3 days after delivery, at 10:00"), in the
    # customer's time; when that moment has passed already (a wait of hours): the next day.
    zone = _zone(enrolment.shop, enrolment.customer)
    local = until.astimezone(zone)
    at = local.replace(hour=step.at_hour, minute=0, second=0, microsecond=0)
    if at <= now:
        at = (local + timedelta(days=1)).replace(
            hour=step.at_hour, minute=0, second=0, microsecond=0
        )
    return at


def _zone(shop: Shop, customer: Customer | None) -> ZoneInfo:
    for name in (customer.time_zone if customer else "", shop.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def run_due(*, limit: int | None = None) -> int:
    """Advance every enrolment whose next step is due (the safety net behind the tasks)."""
    now = timezone.now()
    due = Enrolment.objects.filter(
        status=Enrolment.Status.ACTIVE, next_run_at__lte=now, flow__status=Flow.Status.ACTIVE
    ).order_by("next_run_at")
    ids = list(
        due.values_list("pk", flat=True)[:limit] if limit else due.values_list("pk", flat=True)
    )
    for pk in ids:
        try:
            advance(pk)
        except Exception:
            log.exception("enrolment %s could not advance", pk)
    return len(ids)
