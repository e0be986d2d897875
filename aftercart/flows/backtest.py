"""Backtest a flow: replay the shop's past orders through it, sending nothing.

Had this flow run since a date, whom would it have enrolled, which emails would have
gone and when, and which would consent, the frequency cap or quiet hours have held
back or moved?

The orders placed since the date, their parcels, refunds and cancellations are turned
back into the trigger events the flow listens to (flows.past_events), and each
customer's events are played in time order through the engine's own parts: enrolment
(services._enrolment: the same customers land in the control group as live), waits
(services._wait_until), conditions (the predicate registry) and, for the emails, the
outbox's rules for consent, quiet hours and the cap (messaging.rules). A new kind of
wait or condition therefore works here as soon as the engine has it.

Nothing is written: enrolments are unsaved model instances and emails plain records.
(Not a transaction rolled back at the end: a replay of a year writes no row and takes
no write lock, so the shop's workers keep sending while a merchant tries an idea, and
nothing can be left behind by a rollback that did not happen.)

What a replay cannot know is said in every report's `notes` (see docs/backtest.md).
"""

import heapq
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from aftercart.core.models import Shop
from aftercart.customers.models import Customer
from aftercart.customers.reach import customers_by_id, suppressed_addresses
from aftercart.customers.services import local_zone
from aftercart.flows import predicates, services
from aftercart.flows.as_of import AS_OF, History
from aftercart.flows.definitions import Definition, Step, parse
from aftercart.flows.models import Enrolment, Flow
from aftercart.flows.past_events import REPLAYABLE, PastEvent, past_events
from aftercart.messaging import rules
from aftercart.messaging.kinds import Kind, kind
from aftercart.messaging.models import Message
from aftercart.orders.past import orders_by_customer, orders_placed

Progress = Callable[[int, int], None]  # (customers replayed, of how many)


@dataclass
class StepNumbers:
    """What happened at one step of the flow during the replay."""

    number: int  # 1-based, as the dashboard shows it
    kind: str
    description: str
    reached: int = 0
    left: int = 0  # left the flow here (a condition said no, an exit event came)
    skipped_next: int = 0  # a condition said no and skipped the step after it
    waiting_now: int = 0  # still here at the end of the replay
    sent: int = 0  # emails that would have gone
    control: int = 0  # not sent: the customer is in the control group
    held_by_consent: int = 0  # not sent: no marketing opt-in, or a suppressed address
    moved_by_cap: int = 0  # sent later than due because of the frequency cap
    moved_by_quiet_hours: int = 0  # sent later than due because of quiet hours
    lapsed: int = 0  # not sent: expired first, or the customer's data was erased
    withdrawn: int = 0  # not sent: the customer left the flow before it could go
    due_after_today: int = 0  # still in the outbox at the end of the replay


@dataclass
class Report:
    flow: str
    trigger: str
    since: date
    until: date
    orders: int = 0
    customers: int = 0
    enrolments: int = 0
    control: int = 0
    completed: int = 0
    still_in_flow: int = 0
    emails_sent: int = 0
    steps: list[StepNumbers] = field(default_factory=list)
    exits: dict[str, int] = field(default_factory=dict)  # why customers left: how many
    weeks: list[tuple[str, int]] = field(default_factory=list)  # ("2026-W05", emails sent)
    notes: list[str] = field(default_factory=list)  # what the replay could not know
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            **{k: v for k, v in self.__dict__.items() if k not in ("steps", "since", "until")},
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "steps": [s.__dict__ for s in self.steps],
            "weeks": [{"week": w, "emails": n} for w, n in self.weeks],
        }


def backtest(
    shop: Shop,
    since: datetime,
    *,
    flow: Flow | None = None,
    definition: dict | None = None,
    until: datetime | None = None,
    progress: Progress | None = None,
) -> Report:
    """Replay the orders placed since `since` through the flow's live version, or through
    `definition` (an edit not saved yet; DefinitionError if it is not valid). Read-only."""
    if flow is None and definition is None:
        raise ValueError("backtest what? a flow or a definition")
    raw = definition if definition is not None else flow.version.definition
    parsed = parse(raw)
    # An unsaved flow stands in for a new one: no id, so its control group is its own.
    flow = flow or Flow(shop=shop, key="backtest", name=parsed.name, trigger=parsed.trigger)
    until = until or timezone.now()
    if since >= until:
        raise ValueError(f"since: {since.date()} is not before {until.date()}")
    return _Replay(shop, flow, parsed, since, until).run(progress)


class _Run:
    """One enrolment being replayed."""

    __slots__ = (
        "enrolment",
        "waiting",
        "waiting_for",
        "held_since",
        "wake_at",
        "ended_at",
        "exited",
    )

    def __init__(self, enrolment: Enrolment):
        self.enrolment = enrolment
        self.waiting, self.waiting_for = False, ""
        self.held_since: datetime | None = None
        self.wake_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.exited = False


@dataclass(slots=True)
class _Email:
    run: _Run
    step: int
    kind: Kind
    queued_at: datetime
    expires_at: datetime | None
    moved_by_cap: bool = False
    moved_by_quiet_hours: bool = False


class _Replay:
    def __init__(self, shop: Shop, flow: Flow, definition: Definition, since, until):
        self.shop, self.flow, self.definition = shop, flow, definition
        self.since, self.until = since, until
        self.zone = ZoneInfo(shop.timezone) if shop.timezone else ZoneInfo("UTC")
        self.report = Report(
            definition.name,
            definition.trigger,
            since.astimezone(self.zone).date(),
            until.astimezone(self.zone).date(),
            steps=[
                StepNumbers(n + 1, step.kind, step.describe())
                for n, step in enumerate(definition.steps)
            ],
        )
        self.sent_per_week: Counter[str] = Counter()
        self.exits: Counter[str] = Counter()
        self.today_answers: dict[tuple, bool] = {}
        self.asked_today: set[str] = set()
        self.sequence = itertools.count()

    # -- loading ---------------------------------------------------------------------------

    def run(self, progress: Progress | None) -> Report:
        started = time.monotonic()
        d = self.definition
        events_needed = {d.trigger, *d.exit_on, *(s.until_event for s in d.steps if s.until_event)}
        orders = orders_placed(
            self.shop,
            self.since,
            self.until,
            with_timeline=bool(events_needed & {"order.paid", "shipment.updated"}),
        )
        self.history = History(orders, self._customer_orders())
        by_customer = past_events(self.shop, orders, events_needed, self.since, self.until)
        self.customers = customers_by_id(self.shop, by_customer)
        self.suppressed = suppressed_addresses(self.shop) if d.marketing else {}
        self.other_mail = self._other_flows_mail() if d.marketing else {}
        self.report.orders = len(orders)
        self.report.customers = len(by_customer)
        total = len(by_customer)
        for done, (customer_id, events) in enumerate(by_customer.items(), start=1):
            customer = self.customers.get(customer_id)
            if customer is not None:
                self._replay_customer(customer, events)
            if progress and (done % 500 == 0 or done == total):
                progress(done, total)
        self._finish(events_needed)
        self.report.seconds = round(time.monotonic() - started, 2)
        return self.report

    def _customer_orders(self):
        steps = self.definition.steps
        names = {s.predicate for s in steps if s.kind == "if"}
        names.update(n for s in steps for n in getattr(s, "hold_until", ()))
        return orders_by_customer(self.shop) if names & AS_OF.keys() else {}

    def _other_flows_mail(self) -> dict[int, list[datetime]]:
        """Marketing mail the shop really sent in the period (other flows, campaigns): it
        counts toward the cap as it did then. This flow's own is replayed instead."""
        window = timedelta(days=self.shop.marketing_cap_days)
        rows = (
            Message.objects.filter(
                shop=self.shop,
                marketing=True,
                status__in=[Message.Status.SENT, Message.Status.SENDING],
                sent_at__gt=self.since - window,
                sent_at__lte=self.until,
            )
            .exclude(flow_id=self.flow.pk if self.flow.pk else -1)
            .values_list("customer_id", "sent_at")
        )
        found: dict[int, list[datetime]] = {}
        for customer_id, sent_at in rows.iterator(chunk_size=5000):
            found.setdefault(customer_id, []).append(sent_at)
        return found

    # -- one customer's timeline ---------------------------------------------------------------

    def _replay_customer(self, customer: Customer, events: list[PastEvent]) -> None:
        self.runs: list[_Run] = []
        self.emails: list[_Email] = []
        self.flow_ended_at: list[datetime] = []  # her exit events: queued mail is withdrawn
        self.seen: set[str] = set()
        agenda: list = [(e.at, 0, next(self.sequence), e) for e in events]
        heapq.heapify(agenda)
        self.agenda = agenda
        while agenda:
            at, _, _, item = heapq.heappop(agenda)
            if at > self.until:
                break
            if isinstance(item, PastEvent):
                self._on_event(customer, item)
            elif item.wake_at == at and item.ended_at is None:  # else: woken early already
                self._advance(item, at)
        for run in self.runs:
            if run.ended_at is None:
                self.report.still_in_flow += 1
                self.report.steps[run.enrolment.step].waiting_now += 1
        self._outbox(customer)

    def _wake(self, run: _Run, at: datetime) -> None:
        run.wake_at = at
        heapq.heappush(self.agenda, (at, 1, next(self.sequence), run))

    def _on_event(self, customer: Customer, event: PastEvent) -> None:
        """As services.on_events: end the enrolments the event ends, wake the waits it
        ends, then enrol her if it is the trigger (once per trigger key)."""
        d = self.definition
        own = f"{event.name}:{event.order_id or ''}:"
        if event.name in d.exit_on:
            self.flow_ended_at.append(event.at)
        for run in self.runs:
            if run.ended_at is not None:
                continue
            if event.name in d.exit_on and not run.enrolment.trigger_key.startswith(own):
                self._leave(run, event.at, _("%(event)s ended it") % {"event": event.name})
            elif run.waiting and run.waiting_for == event.name:
                self._wake(run, event.at)
        if event.name != d.trigger:
            return
        enrolment = services._enrolment(
            self.flow, d, event.name, customer.pk, event.order_id, event.shipment_id
        )
        if enrolment.trigger_key in self.seen:
            return  # the live engine's unique (flow, trigger key) enrols her once
        self.seen.add(enrolment.trigger_key)
        enrolment.shop, enrolment.customer = self.shop, customer
        enrolment.started_at = enrolment.next_run_at = event.at
        enrolment.history = []
        run = _Run(enrolment)
        self.runs.append(run)
        self.report.enrolments += 1
        self.report.control += enrolment.control
        self._advance(run, event.at)

    def _advance(self, run: _Run, clock: datetime) -> None:
        """As services._run_steps, with the replay's clock for "now"."""
        e, steps = run.enrolment, self.definition.steps
        if run.waiting and not getattr(steps[e.step], "hold_until", ()):
            run.waiting, run.waiting_for = False, ""
            e.step += 1
        while e.step < len(steps):
            step, numbers = steps[e.step], self.report.steps[e.step]
            if not run.waiting:
                numbers.reached += 1
            if step.kind == "wait":
                if getattr(step, "hold_until", ()):
                    if self._hold(run, step, clock):
                        continue
                    return
                if getattr(step, "reorder", False) and services._reorder_due(e) is None:
                    self._leave(run, clock, _("nothing to remind of"))
                    return
                run.waiting, run.waiting_for = True, step.until_event
                self._wake(run, self._wait_end(step, e, clock))
                return
            if step.kind == "if":
                if self._holds(step.predicate, step.args, e, clock):
                    e.step += 1
                elif step.otherwise == "skip":
                    numbers.skipped_next += 1
                    e.step += 2
                else:
                    self._leave(run, clock, _("%(condition)s: no") % {"condition": step.predicate})
                    return
                continue
            if step.kind == "send":
                if e.control:
                    numbers.control += 1
                else:
                    spec = kind(step.message)
                    expires = clock + spec.expires_after if spec.expires_after else None
                    self.emails.append(_Email(run, e.step, spec, clock, expires))
            e.step += 1  # an action (tag_customer) changes nothing in a replay
        run.ended_at = clock
        self.report.completed += 1

    def _hold(self, run: _Run, step: Step, clock: datetime) -> bool:
        """As services._hold: go on (True) when its conditions all hold, else look again
        after check_every until the timeout, then leave or go on (on_timeout)."""
        e = run.enrolment
        failing = [n for n in step.hold_until if not self._holds(n, {}, e, clock)]
        since = run.held_since or clock
        if failing and clock < since + step.duration:
            run.waiting, run.held_since = True, since
            self._wake(run, min(clock + step.check_every, since + step.duration))
            return False
        run.waiting, run.held_since = False, None
        if failing and step.on_timeout == "exit":
            reason = _("held, still %(conditions)s: no") % {"conditions": ", ".join(failing)}
            self._leave(run, clock, reason)
            return False
        e.step += 1
        return True

    def _wait_end(self, step: Step, enrolment: Enrolment, clock: datetime) -> datetime:
        if step.until_event:
            return clock + step.duration  # the timeout; the event, if it comes, wakes it earlier
        # A reorder date may have passed already: then the wait is over at once, as live.
        return max(services._wait_until(step, enrolment, clock), clock)

    def _holds(self, name: str, args: dict, enrolment: Enrolment, clock: datetime) -> bool:
        as_of = AS_OF.get(name)
        if as_of is not None:
            return as_of(self.history, enrolment, args, clock)
        # Any other condition is the engine's own, reading today's state: asked once per
        # enrolment's subject, since today does not change during the replay.
        self.asked_today.add(name)
        key = (
            name,
            json.dumps(args, sort_keys=True),
            enrolment.customer_id,
            enrolment.order_id,
            enrolment.shipment_id,
        )
        if key not in self.today_answers:
            self.today_answers[key] = bool(predicates.REGISTRY[name].test(enrolment, args))
        return self.today_answers[key]

    def _leave(self, run: _Run, at: datetime, reason: str) -> None:
        run.ended_at, run.exited = at, True
        self.report.steps[min(run.enrolment.step, len(self.report.steps) - 1)].left += 1
        self.exits[reason] += 1

    # -- her emails through the outbox's rules ----------------------------------------------

    def _outbox(self, customer: Customer) -> None:
        """As messaging.services.decide, in time order: each email is decided when due, and
        one moved by quiet hours or the cap is decided again when it comes due again."""
        if not self.emails:
            return
        shop = self.shop
        sent = list(self.other_mail.get(customer.pk, ()))  # her marketing mail, for the cap
        window = timedelta(days=shop.marketing_cap_days)
        zone = local_zone(shop, customer)
        queue = [(m.queued_at, -m.kind.priority, next(self.sequence), m) for m in self.emails]
        heapq.heapify(queue)
        while queue:
            now, _, _, email = heapq.heappop(queue)
            numbers = self.report.steps[email.step]
            if now > self.until:
                numbers.due_after_today += 1
            elif self._withdrawn(email, now):
                numbers.withdrawn += 1
            elif customer.erased_at or (email.expires_at and now > email.expires_at):
                numbers.lapsed += 1
            elif not email.kind.marketing:
                self._sent(numbers, now)
            elif rules.marketing_refusal(
                customer.accepts_marketing, lambda: self.suppressed.get(customer.email)
            ):
                numbers.held_by_consent += 1
            else:
                quiet = rules.after_quiet_hours(
                    shop.quiet_hours_start, shop.quiet_hours_end, zone, now
                )
                later = quiet or rules.next_free_slot(sent, shop.marketing_cap, window, now)
                if later is None:
                    sent.append(now)
                    self._sent(numbers, now)
                elif email.expires_at and later > email.expires_at:
                    numbers.lapsed += 1
                else:
                    if quiet and not email.moved_by_quiet_hours:
                        email.moved_by_quiet_hours = True
                        numbers.moved_by_quiet_hours += 1
                    elif not quiet and not email.moved_by_cap:
                        email.moved_by_cap = True
                        numbers.moved_by_cap += 1
                    heapq.heappush(queue, (later, -email.kind.priority, next(self.sequence), email))

    def _withdrawn(self, email: _Email, now: datetime) -> bool:
        # As services._finish and on_events: leaving the flow, or an exit event of the
        # flow, withdraws her mail of it that has not gone out yet.
        run = email.run
        if run.exited and run.ended_at is not None and run.ended_at <= now:
            return True
        return any(email.queued_at <= at <= now for at in self.flow_ended_at)

    def _sent(self, numbers: StepNumbers, at: datetime) -> None:
        numbers.sent += 1
        self.report.emails_sent += 1
        year, week, _ = at.astimezone(self.zone).isocalendar()
        self.sent_per_week[f"{year}-W{week:02d}"] += 1

    # -- the report ------------------------------------------------------------------------------

    def _finish(self, events_needed: set[str]) -> None:
        r = self.report
        r.exits = dict(self.exits.most_common())
        weeks, day = [], self.since.astimezone(self.zone).date()
        while day <= r.until + timedelta(days=6):
            year, week, _ = day.isocalendar()
            label = f"{year}-W{week:02d}"
            if not weeks or weeks[-1] != label:
                weeks.append(label)
            day += timedelta(days=7)
        last = r.until.isocalendar()
        weeks = [w for w in weeks if w <= f"{last[0]}-W{last[1]:02d}"]
        r.weeks = [(w, self.sent_per_week.get(w, 0)) for w in weeks]
        r.notes = self._notes(events_needed)

    def _notes(self, events_needed: set[str]) -> list[str]:
        d, notes = self.definition, []
        missing = sorted(events_needed - REPLAYABLE)
        if d.trigger in missing:
            notes.append(
                _("The trigger %(event)s is not in the order history: the replay enrols no one.")
                % {"event": d.trigger}
            )
            missing.remove(d.trigger)
        if missing:
            notes.append(
                _("Not in the order history, so never happening in the replay: %(events)s.")
                % {"events": ", ".join(missing)}
            )
        if self.asked_today:
            notes.append(
                _(
                    "These conditions were answered with today's data, not as they were then: "
                    "%(conditions)s."
                )
                % {"conditions": ", ".join(sorted(self.asked_today))}
            )
        if any(getattr(s, "reorder", False) or s.predicate == "not_reordered" for s in d.steps):
            notes.append(
                _(
                    "Whether a customer bought a product again is read from today's orders: "
                    "who reordered after the reminder would have gone counts as reordered."
                )
            )
        if any(s.kind == "send" for s in d.steps) and d.marketing:
            notes.append(
                _(
                    "Consent and the suppression list are today's: the replay does not know "
                    "who agreed or unsubscribed when. The cap counts this flow's replayed "
                    "emails and the marketing mail other flows really sent."
                )
            )
        return notes
