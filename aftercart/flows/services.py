"""Flows: enrol customers when their trigger happens, walk them through the steps.

Each step runs as a task and decides with the state of the moment it runs: a review
request scheduled 7 days ago checks today whether the order was refunded. Nothing is
cancelled ahead of time; a customer leaves a flow when a condition fails, an exit event
arrives, or she unsubscribes (marketing flows).
"""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from aftercart.core import schedule, stopping
from aftercart.core.bulk import update_rows
from aftercart.core.events import DomainEvent
from aftercart.core.models import Shop
from aftercart.core.queues import in_index_order
from aftercart.customers.services import local_zone, tag_customer
from aftercart.flows import predicates
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.definitions import TRIGGERS, Definition, Step, parse
from aftercart.flows.models import Enrolment, Flow, FlowVersion
from aftercart.messaging.services import (
    new_message,
    queue_message,
    queue_messages,
    withdraw_for_customers,
    withdraw_queued,
)
from aftercart.orders.queries import order_facts, order_locales
from aftercart.orders.replenishment import orders_with_consumables, reorder_due_at
from aftercart.webhooks.services import send_event

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
    _forget(shop.id)
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
    _forget(flow.shop_id)
    if status == Flow.Status.ACTIVE:
        _run_soon()


def is_control(flow_id: int, customer_id: int, share: float) -> bool:
    """The holdout: the same customer is in (or out of) a flow's control group every time."""
    digest = hashlib.sha256(f"holdout:{flow_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def on_event(event: DomainEvent) -> None:
    on_events([event])


def on_events(events: list[DomainEvent]) -> None:
    """Domain events (one, or a batch published together): end the waits and enrolments
    they end, then enrol whom they start, in one transaction with a few statements."""
    todo = []
    for event in events:
        if event.name not in TRIGGERS and event.name != "customer.consent_changed":
            continue
        flows = _active_flows(event.shop_id)
        # Filters read the trigger's own data: a 3-star review starts no referral flow.
        starting = [
            f for f in flows if f.flow.trigger == event.name and f.definition.admits(event.data)
        ]
        ending = event.name == "customer.consent_changed" or any(
            event.name in f.definition.exit_on or event.name in f.waits_for for f in flows
        )
        if starting or ending:
            who = _subject(event)
            if who is not None and who[0] is not None:
                todo.append((event, who, starting, ending))
    if not todo:
        return
    with transaction.atomic():
        running = _running({(e.shop_id, who[0]) for e, who, _, ending in todo if ending})
        new = []
        ended: dict[tuple[int, str], set[int]] = {}
        exits: dict[int, str] = {}  # enrolment → why it ends
        resumed: set[int] = set()  # enrolments waiting for one of these events
        for event, (customer_id, order_id, shipment_id), starting, ending in todo:
            mine = running.get((event.shop_id, customer_id)) if ending else None
            if mine:
                try:
                    _leave_or_resume(event, mine, exits, resumed)
                except Exception:
                    log.exception("flows could not act on %s", event.name)
            if ending:
                ended.setdefault((event.shop_id, event.name), set()).add(customer_id)
            new += [
                _enrolment(
                    a.flow,
                    a.definition,
                    event.name,
                    customer_id,
                    order_id,
                    shipment_id,
                    context=_context(event),
                )
                for a in starting
            ]
        _exit_all(exits)
        if resumed:
            Enrolment.objects.filter(pk__in=resumed, waiting=True).update(
                next_run_at=timezone.now()
            )
            _run_soon()
        # An email a finished flow queued (held by the cap or quiet hours) is not sent after
        # its exit event either: no win-back after a new order. One statement per event kind.
        for (shop_id, name), customers in ended.items():
            flow_ids = [a.flow.id for a in _active_flows(shop_id) if name in a.definition.exit_on]
            withdraw_for_customers(shop_id, customers, flow_ids, f"the flow ended: {name}")
        if new:
            # A redelivered trigger's rows meet the unique (flow, trigger) and are skipped.
            try:
                with transaction.atomic():
                    Enrolment.objects.bulk_create(new, ignore_conflicts=True)
            except Exception:
                # One row the database refuses must not cost the batch's other enrolments.
                log.exception("enrolling %d customers at once failed; one by one", len(new))
                for enrolment in new:
                    try:
                        with transaction.atomic():
                            enrolment.save(force_insert=True)
                    except Exception:
                        log.exception("enrolment %s not made", enrolment.trigger_key)
            _run_soon()


@dataclass(frozen=True)
class _Active:
    flow: Flow
    definition: Definition
    waits_for: frozenset[str]


_cache: dict[int, tuple[float, list[_Active]]] = {}
_cache_lock = threading.Lock()
CACHE_SECONDS = 5.0  # a flow paused or edited in another process counts within this


def _active_flows(shop_id: int) -> list[_Active]:
    """The shop's active flows, kept a few seconds: every order event asks for them."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(shop_id)
    if hit and hit[0] > now:
        return hit[1]
    flows = []
    for flow in Flow.objects.filter(shop_id=shop_id, status=Flow.Status.ACTIVE).select_related(
        "version"
    ):
        definition = definition_of(flow.version)
        waits = frozenset(step.until_event for step in definition.steps if step.until_event)
        flows.append(_Active(flow, definition, waits))
    with _cache_lock:
        _cache[shop_id] = (now + CACHE_SECONDS, flows)
    return flows


def _forget(shop_id: int) -> None:
    with _cache_lock:
        _cache.pop(shop_id, None)


def _run_soon() -> None:
    from aftercart.flows.tasks import run_flows

    schedule.soon(run_flows)


def _subject(event: DomainEvent) -> tuple[int | None, int | None, int | None] | None:
    """(customer, order, shipment) the event is about. Order events name the customer."""
    data = event.data
    order_id, shipment_id = data.get("order_id"), data.get("shipment_id")
    if order_id and "customer_id" not in data:
        facts = order_facts(event.shop_id, order_id)
        if facts is None:
            return None
        return facts["customer_id"], order_id, shipment_id
    return data.get("customer_id"), order_id, shipment_id


_IDS = ("order_id", "shipment_id", "customer_id")  # columns of their own on the enrolment


def _context(event: DomainEvent) -> dict:
    """What the trigger said beyond whom and what it is about (a review's rating)."""
    return {k: v for k, v in event.data.items() if k not in _IDS}


def _enrolment(
    flow: Flow,
    definition: Definition,
    trigger: str,
    customer_id: int,
    order_id: int | None,
    shipment_id: int | None,
    *,
    context: dict | None = None,
) -> Enrolment:
    key = f"{trigger}:{order_id or ''}:{shipment_id or ''}:{customer_id}"
    # A subject of its own (the order's second return): its steps enrol her again.
    subject = (context or {}).get("return_id")
    if subject:
        key += f":r{subject}"
    control = definition.marketing and is_control(flow.id, customer_id, definition.holdout)
    now = timezone.now()
    return Enrolment(
        shop_id=flow.shop_id,
        flow=flow,
        version_id=flow.version_id,
        customer_id=customer_id,
        order_id=order_id,
        shipment_id=shipment_id,
        trigger_key=key[:200],
        context=context or {},
        control=control,
        started_at=now,
        next_run_at=now,
        history=[_entry(now, 0, "enrolled" + (" (control group)" if control else ""))],
    )


_definitions: dict[int, Definition] = {}


def definition_of(version: FlowVersion | int) -> Definition:
    """A version's parsed definition; versions never change, so each is parsed once."""
    pk = version if isinstance(version, int) else version.pk
    found = _definitions.get(pk)
    if found is None:
        raw = version.definition if isinstance(version, FlowVersion) else None
        if raw is None:
            raw = FlowVersion.objects.values_list("definition", flat=True).get(pk=pk)
        found = _definitions[pk] = parse(raw)
    return found


_RUNNING = (
    "SELECT customer_id, id, version_id, trigger_key, waiting, waiting_for FROM flows_enrolment"
    " WHERE status = %s AND shop_id = %s AND customer_id IN"
)


def _running(customers: set[tuple[int, int]]) -> dict[tuple[int, int], list[tuple]]:
    """The active enrolments of these (shop, customer) pairs. Plain SQL: this runs for
    every batch of order events, and mostly finds nothing."""
    found: dict[tuple[int, int], list[tuple]] = {}
    by_shop: dict[int, list[int]] = {}
    for shop_id, customer_id in customers:
        by_shop.setdefault(shop_id, []).append(customer_id)
    with connection.cursor() as cursor:
        for shop_id, ids in by_shop.items():
            for at in range(0, len(ids), 500):
                chunk = ids[at : at + 500]
                marks = ", ".join(["%s"] * len(chunk))  # placeholders only; values are parameters
                sql = f"{_RUNNING} ({marks})"  # noqa: S608
                cursor.execute(sql, [Enrolment.Status.ACTIVE, shop_id, *chunk])
                for customer_id, *row in cursor.fetchall():
                    found.setdefault((shop_id, customer_id), []).append(tuple(row))
    return found


def _leave_or_resume(
    event: DomainEvent, running: list[tuple], exits: dict[int, str], resumed: set[int]
) -> None:
    """Which of the customer's running enrolments the event ends (into `exits`, with why)
    and which were waiting for it (into `resumed`)."""
    withdrew = event.name == "customer.consent_changed" and not event.data.get("accepts_marketing")
    own = f"{event.name}:{event.data.get('order_id') or ''}:"
    for pk, version_id, trigger_key, waiting, waiting_for in running:
        definition = definition_of(version_id)
        if withdrew and definition.marketing:
            exits[pk] = "unsubscribed from marketing mail"
        elif event.name in definition.exit_on and not trigger_key.startswith(own):
            exits[pk] = f"{event.name} ended it"
        elif waiting and waiting_for == event.name:
            resumed.add(pk)


def _exit_all(exits: dict[int, str]) -> None:
    """End these enrolments in one read and one write: a batch of orders from returning
    customers ends as many win-backs, and one by one each cost five round trips (on
    PostgreSQL, enrolment fell to a third of its speed once customers came back). When the
    batch fails, each is ended on its own, so one bad row ends only itself."""
    if not exits:
        return
    try:
        with transaction.atomic():
            now = timezone.now()
            enrolments = list(
                Enrolment.objects.select_for_update()
                .filter(pk__in=exits, status=Enrolment.Status.ACTIVE)
                .order_by("pk")  # the same lock order in every process
            )
            for enrolment in enrolments:
                enrolment._in_batch = True
                _finish(enrolment, now, Enrolment.Status.EXITED, exits[enrolment.pk])
            _write_steps(enrolments)
    except Exception:
        log.exception("ending %d enrolments at once failed; one by one", len(exits))
        for pk, reason in exits.items():
            try:
                _end(pk, Enrolment.Status.EXITED, reason)
            except Exception:
                log.exception("enrolment %s could not be ended", pk)


def _end(enrolment_id: int, status: str, reason: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        enrolment = Enrolment.objects.select_for_update().get(pk=enrolment_id)
        if enrolment.status != Enrolment.Status.ACTIVE:
            return
        _finish(enrolment, now, status, reason)


def _finish(
    enrolment: Enrolment, now: datetime, status: str, reason: str = "", *, withdraw: bool = True
) -> None:
    """End the enrolment. `withdraw`: its emails not sent yet are not sent either (an exit
    event, unsubscribing); a condition that fails later in the flow keeps what came
    before it (a confirmation queued a step earlier still goes)."""
    enrolment.status, enrolment.exit_reason, enrolment.ended_at = status, reason[:200], now
    enrolment.waiting, enrolment.next_run_at, enrolment.waiting_since = False, None, None
    enrolment.history.append(_entry(now, enrolment.step, reason or "completed"))
    _save(enrolment)
    # An email of this flow still waiting (for the frequency cap, quiet hours) is not sent
    # after the customer left the flow: a win-back after she ordered again. Only a flow
    # that queued one can have one (most exits come before the first email).
    queued = any("queued (email" in entry["what"] for entry in enrolment.history)
    if status == Enrolment.Status.EXITED and withdraw and getattr(enrolment, "_queuing", False):
        raise _OneByOne  # its email is in the batch's outbox, not in the table to withdraw
    if status == Enrolment.Status.EXITED and queued and withdraw:
        withdraw_queued(enrolment.shop_id, f"flow:{enrolment.pk}:", f"the flow ended: {reason}")


# What a step changes on its enrolment; a batch of them is written in one statement.
_STEP_FIELDS = (
    "status",
    "step",
    "waiting",
    "waiting_for",
    "next_run_at",
    "waiting_since",
    "exit_reason",
    "history",
    "ended_at",
)


def _write_steps(enrolments: list[Enrolment]) -> None:
    """What steps changed on these enrolments, in one statement."""
    update_rows(
        Enrolment,
        _STEP_FIELDS,
        ([*(getattr(e, f) for f in _STEP_FIELDS), e.pk] for e in enrolments),
    )


def _save(enrolment: Enrolment) -> None:
    """Write the enrolment now, or (in a batch run) with the rest of the batch at its end."""
    if getattr(enrolment, "_in_batch", False):
        enrolment._changed = True
    else:
        enrolment.save(update_fields=_STEP_FIELDS)


def _entry(at: datetime, step: int, what: str) -> dict:
    return {"at": at.isoformat(), "step": step, "what": what}


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
        _run_steps(enrolment, definition_of(enrolment.version), now)


def _run_steps(enrolment: Enrolment, definition: Definition, now: datetime) -> None:
    # Waits count from when the step before was due, not from when a worker got to it:
    # a worker that was down for an hour does not push the rest of the flow back an hour.
    clock = min(enrolment.next_run_at or now, now)
    steps = definition.steps
    while enrolment.step < len(steps):
        step = steps[enrolment.step]
        if step.kind == "wait" and step.hold_until:
            if not _hold(enrolment, step, clock, now):
                return
        elif step.kind == "wait":
            if step.reorder and _reorder_due(enrolment) is None:
                _finish(
                    enrolment,
                    now,
                    Enrolment.Status.EXITED,
                    "nothing to remind of: no consumable with a reorder interval not reordered",
                )
                return
            # A reorder date is looked at again when the wait ends: the merchant may have
            # lengthened an interval, or the customer reordered the first product to run out.
            if not enrolment.waiting or step.reorder:
                until = _wait_until(step, enrolment, clock)
                if until > now:
                    moved = enrolment.waiting and until != enrolment.next_run_at
                    what = "the reorder date moved" if moved else step.describe()
                    enrolment.waiting, enrolment.waiting_for = True, step.until_event
                    enrolment.waiting_since = enrolment.waiting_since or clock
                    enrolment.next_run_at = until
                    enrolment.history.append(
                        _entry(now, enrolment.step, f"{what}: until {until.isoformat()}")
                    )
                    _save(enrolment)  # the periodic run picks it up when `until` comes
                    return
                clock = max(until, clock)  # it has passed already (the worker was behind)
            enrolment.waiting, enrolment.waiting_for, enrolment.next_run_at = False, "", None
            enrolment.waiting_since = None
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
            _finish(
                enrolment, now, Enrolment.Status.EXITED, f"{step.predicate}: no", withdraw=False
            )
            return
        elif step.kind == "send":
            _send(enrolment, step, now)
            enrolment.step += 1
        else:
            what = step.describe()
            if step.action == "webhook":
                deliveries = send_event(
                    enrolment.shop,
                    step.args["event"],
                    {
                        "flow": enrolment.flow.key,
                        "enrolment_id": enrolment.pk,
                        "customer_id": enrolment.customer_id,
                        "order_id": enrolment.order_id,
                    },
                )
                what += f" ({len(deliveries)} endpoint(s))"
            elif enrolment.customer_id:
                tag_customer(enrolment.customer, step.args["tag"])
            enrolment.history.append(_entry(now, enrolment.step, what))
            enrolment.step += 1
    _finish(enrolment, now, Enrolment.Status.COMPLETED)


def _send(enrolment: Enrolment, step: Step, now: datetime) -> None:
    if enrolment.control:
        what = f"{step.message}: not sent (control group)"
    elif enrolment.customer is None:
        what = f"{step.message}: not sent (the customer is gone)"
    else:
        locale = getattr(enrolment, "_order_locale", None)  # read with its batch
        if locale is None and enrolment.order_id:
            locale = (order_facts(enrolment.shop_id, enrolment.order_id) or {}).get("locale")
        fields = {
            "customer": enrolment.customer,
            # The enrolment and the step: a step that runs twice queues one message.
            "dedupe_key": f"flow:{enrolment.pk}:step:{enrolment.step}",
            "order_id": enrolment.order_id,
            "shipment_id": enrolment.shipment_id,
            "order_locale": locale or "",
            "flow_id": enrolment.flow_id,
        }
        # The email is about this return, not only its order (messaging.context reads it).
        if enrolment.context.get("return_id"):
            fields["extra"] = {"return_id": enrolment.context["return_id"]}
        outbox = getattr(enrolment, "_outbox", None)
        if outbox is not None:  # a batch run: queued with the rest of the batch at its end
            entry = _entry(now, enrolment.step, "")
            outbox.append((new_message(enrolment.shop, step.message, **fields), entry))
            enrolment._queuing = True
            enrolment.history.append(entry)
            return
        message, _ = queue_message(enrolment.shop, step.message, **fields)
        what = f"{step.message}: queued (email {message.pk})"
    enrolment.history.append(_entry(now, enrolment.step, what))


def _queue_outbox(outbox: list[tuple]) -> None:
    """A batch's emails in one statement; their history entries get the ids."""
    queue_messages([message for message, _ in outbox])
    for message, entry in outbox:
        entry["what"] = f"{message.kind}: queued (email {message.pk})"


def _hold(enrolment: Enrolment, step: Step, clock: datetime, now: datetime) -> bool:
    """A hold: True when its conditions all hold (go on), or it timed out with "continue".

    Otherwise it saves the enrolment to look again after check_every (False), or ends it
    when the timeout passed with "exit". The timeout counts from when the hold began.
    """
    failing = [n for n in step.hold_until if not predicates.REGISTRY[n].test(enrolment, {})]
    since = enrolment.waiting_since or clock
    if failing and now < since + step.duration:
        if not enrolment.waiting:  # one history line per hold, not one per look
            enrolment.history.append(_entry(now, enrolment.step, f"held: {', '.join(failing)}: no"))
        enrolment.waiting, enrolment.waiting_for, enrolment.waiting_since = True, "", since
        enrolment.next_run_at = min(now + step.check_every, since + step.duration)
        _save(enrolment)
        return False
    if failing and step.on_timeout == "exit":
        reason = f"held {step.duration.days} days, still {', '.join(failing)}: no"
        _finish(enrolment, now, Enrolment.Status.EXITED, reason)
        return False
    if failing:
        what = f"held {step.duration.days} days, went on: {', '.join(failing)} still no"
    elif enrolment.waiting:
        what = f"{' and '.join(step.hold_until)}: yes, no longer held"
    else:
        what = ""
    if what:
        enrolment.history.append(_entry(now, enrolment.step, what))
    enrolment.waiting, enrolment.waiting_for, enrolment.next_run_at = False, "", None
    enrolment.waiting_since = None
    enrolment.step += 1
    return True


def _reorder_due(enrolment: Enrolment) -> datetime | None:
    if not enrolment.order_id:
        return None
    # Asked twice by the step that runs (is there anything? until when?): read once per run.
    if getattr(enrolment, "_reorder_read", None) is None:
        enrolment._reorder_read = (reorder_due_at(enrolment.shop, enrolment.order_id),)
    return enrolment._reorder_read[0]


def _failed_step(enrolment_id: int, now: datetime, exc: Exception) -> None:
    """A step that raised: tried again later (not at once: the run would pick it up again
    and again), noted in the history, and after GIVE_UP_AFTER failures the end of it."""
    enrolment = Enrolment.objects.get(pk=enrolment_id)
    what = f"step failed: {type(exc).__name__}: {exc}"[:300]
    enrolment.history.append(_entry(now, enrolment.step, what))
    failures = sum(1 for e in enrolment.history if e["what"].startswith("step failed:"))
    if failures >= GIVE_UP_AFTER:
        _finish(enrolment, now, Enrolment.Status.EXITED, f"a step failed {failures} times")
        return
    enrolment.next_run_at = now + RETRY_AFTER_ERROR
    enrolment.save(update_fields=["history", "next_run_at"])


def _wait_until(step: Step, enrolment: Enrolment, now: datetime) -> datetime:
    """When the wait ends. A hold has no set end (its conditions end it): `now`."""
    if step.hold_until:
        return now
    if step.reorder:
        due = _reorder_due(enrolment)
        if due is None:
            return now  # nothing to wait for; _run_steps ends the enrolment first
        until = due - timedelta(days=step.days_before)
        if step.at_hour is None:
            return until
        # At that hour of that day, in the customer's time, even when it has passed: the
        # reminder is due then, and a wait re-checked on waking must come out the same.
        local = until.astimezone(local_zone(enrolment.shop, enrolment.customer))
        return local.replace(hour=step.at_hour, minute=0, second=0, microsecond=0)
    until = now + step.duration
    if step.at_hour is None:
        return until
    # At that hour of the day the wait ends on ("3 days after delivery, at 10:00"), in the
    # customer's time; when that moment has passed already (a wait of hours): the next day.
    zone = local_zone(enrolment.shop, enrolment.customer)
    local = until.astimezone(zone)
    at = local.replace(hour=step.at_hour, minute=0, second=0, microsecond=0)
    if at <= now:
        at = (local + timedelta(days=1)).replace(
            hour=step.at_hour, minute=0, second=0, microsecond=0
        )
    return at


def next_due_at() -> datetime | None:
    """When the next wait ends (the index on status and next_run_at answers it)."""
    return (
        Enrolment.objects.filter(status=Enrolment.Status.ACTIVE, next_run_at__gt=timezone.now())
        .order_by("next_run_at")
        .values_list("next_run_at", flat=True)
        .first()
    )


RUN_BATCH = 100  # enrolments advanced in one transaction
RETRY_AFTER_ERROR = timedelta(minutes=10)
GIVE_UP_AFTER = 5  # failures of a step before the customer leaves the flow


class _OneByOne(Exception):
    """A batch of steps that must run again, each enrolment on its own (see run_due)."""


def run_due(*, limit: int | None = None) -> int:
    """Advance every enrolment whose next step is due, a batch at a time. Workers running
    this at once share the work: each batch is claimed with SKIP LOCKED (PostgreSQL), or
    in a write transaction of its own (SQLite: one writer at a time)."""
    count = 0
    # What is due now, not what falls due while this runs: under a steady stream of due
    # steps the run would never end, and the emails it queues would wait for it (a worker
    # runs one task at a time). Later ones get the next run, woken for their moment.
    due_by = timezone.now()
    while (limit is None or count < limit) and not stopping.requested():
        size = RUN_BATCH if limit is None else min(RUN_BATCH, limit - count)
        try:
            # Most batches run through at once: one transaction, the emails queued in one
            # statement, no savepoint per enrolment (on PostgreSQL each is two round trips,
            # 60 % of a batch's time). When anything in it fails (a step raises, an email
            # was queued already) it is all undone and run again one enrolment at a time,
            # so that one enrolment's failure undoes only its own steps.
            claimed = _advance_batch(size, due_by, one_by_one=False)
        except Exception:
            claimed = _advance_batch(size, due_by, one_by_one=True)
        if not claimed:
            break
        count += claimed
    return count


def _advance_batch(size: int, due_by: datetime | None = None, *, one_by_one: bool = True) -> int:
    now = timezone.now()
    due_by = now if due_by is None else due_by
    paused = list(Flow.objects.filter(status=Flow.Status.PAUSED).values_list("pk", flat=True))
    with transaction.atomic():
        # The ids first, in the order of the (status, next_run_at) index and without a
        # join: with one, PostgreSQL sorted every due enrolment (300,000) for each batch.
        due = Enrolment.objects.select_for_update(skip_locked=True).filter(
            status=Enrolment.Status.ACTIVE, next_run_at__lte=due_by
        )
        if paused:
            due = due.exclude(flow_id__in=paused)
        with in_index_order():
            ids = list(due.order_by("next_run_at").values_list("pk", flat=True)[:size])
        batch = list(
            Enrolment.objects.filter(pk__in=ids).select_related("customer").order_by("next_run_at")
        )
        _share_related(batch)
        _read_ahead(batch)
        changed = []
        outbox: list[tuple] = []
        for enrolment in batch:
            enrolment._in_batch, enrolment._changed = True, False
            if not one_by_one:
                enrolment._outbox = outbox
                _run_steps(enrolment, definition_of(enrolment.version), now)
            else:
                try:
                    with transaction.atomic():  # a failure undoes only this one's steps
                        _run_steps(enrolment, definition_of(enrolment.version), now)
                except Exception as exc:
                    log.exception(
                        "enrolment %s could not advance; trying again later", enrolment.pk
                    )
                    _failed_step(enrolment.pk, now, exc)
                    continue
            if enrolment._changed:
                changed.append(enrolment)
        _queue_outbox(outbox)
        _write_steps(changed)  # in the transaction that claimed the batch
    return len(batch)


def _share_related(batch: list[Enrolment]) -> None:
    """The batch's flow versions, flows and shops, read once each and shared: a batch is
    mostly of a handful of versions of one shop's flows, and joined in row by row each
    enrolment had its own copies (each version's definition parsed from JSON again; a
    tenth of a worker's time while it runs flow steps)."""
    versions = FlowVersion.objects.in_bulk({e.version_id for e in batch})
    flows = Flow.objects.in_bulk({e.flow_id for e in batch})
    shops = Shop.objects.in_bulk({e.shop_id for e in batch})
    for enrolment in batch:
        enrolment.version = versions[enrolment.version_id]
        enrolment.flow = flows[enrolment.flow_id]
        enrolment.shop = shops[enrolment.shop_id]


def _read_ahead(batch: list[Enrolment]) -> None:
    """What the batch's steps will ask of their orders, read in two queries instead of a
    few per enrolment: the order's language (for an email), and for a replenishment
    wait whether the order has a consumable at all (most have none)."""
    by_shop: dict[int, set[int]] = {}
    for enrolment in batch:
        if enrolment.order_id:
            by_shop.setdefault(enrolment.shop_id, set()).add(enrolment.order_id)
    locales: dict[int, str] = {}
    consumable: set[int] = set()
    for shop_id, order_ids in by_shop.items():
        locales.update(order_locales(shop_id, order_ids))
        consumable |= orders_with_consumables(shop_id, order_ids)
    for enrolment in batch:
        if not enrolment.order_id:
            continue
        enrolment._order_locale = locales.get(enrolment.order_id, "")
        if enrolment.order_id not in consumable:
            enrolment._reorder_read = (None,)  # nothing runs out: no reminder
