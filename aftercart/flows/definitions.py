"""A flow's definition: its trigger and steps, as JSON (or YAML) a merchant can export and edit.

    {"name": "After delivery", "trigger": "shipment.delivered", "marketing": true,
     "holdout": 0.1, "exit_on": ["order.placed"],
     "steps": [
        {"wait": {"days": 3, "at_hour": 10}},
        {"send": "check_in"},
        {"wait": {"days": 4}},
        {"if": "not_refunded"},
        {"send": "review_request"},
        {"wait": {"until_event": "order.placed", "timeout_days": 30}},
        {"action": "tag_customer", "tag": "reviewed"}]}

* trigger filters: on the trigger event's data, e.g. {"rating_at_least": 4} for
  review.submitted; an event that does not pass enrols no one.
* wait: a duration (days, hours, minutes), optionally at a whole hour of the day it
  ends on, in the customer's time (at_hour: "3 days after delivery, at 10:00"); or until
  an event about the same customer (until_event), with a timeout after which the flow
  goes on; or until a few days before the order's first consumable runs out
  ({"reorder_interval": true, "days_before": 3, "at_hour": 10}); or a hold: until
  conditions hold, looked at again every few hours, with a timeout and what then
  ({"until": ["no_open_complaint"], "check_every_hours": 12, "timeout_days": 14,
  "on_timeout": "exit" or "continue"}).
* if: a condition from the registry (flows.predicates) with optional "args"; when it
  does not hold, the customer leaves the flow ("else": "exit", the default) or the next
  step is skipped ("else": "skip").
* send: a message kind (messaging.kinds).
* action: tag_customer ({"action": "tag_customer", "tag": "vip"}), or webhook: an event
  of the flow's own to the shop's outgoing webhooks ({"action": "webhook", "event":
  "flow.vip_reached"}); later capabilities add theirs (award points, open a ticket).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aftercart.flows import predicates
from aftercart.messaging.kinds import KINDS
from aftercart.orders.replenishment import REMINDER_HORIZON
from aftercart.webhooks.event_types import EventTypeProblem, check_name

TRIGGERS = {
    "order.placed": "order",
    "order.paid": "order",
    "order.cancelled": "order",
    "order.refunded": "order",
    "order.delivered": "order",
    "shipment.created": "shipment",
    "shipment.updated": "shipment",
    "shipment.delivered": "shipment",
    # A parcel's status changed to one of these (tracking.statuses.PUBLISHED).
    "shipment.out_for_delivery": "shipment",
    "shipment.failed_attempt": "shipment",
    "shipment.available_for_pickup": "shipment",
    "shipment.exception": "shipment",
    "shipment.returned_to_sender": "shipment",
    # Published by the delay job: the delivery window passed, or trouble was reported.
    "shipment.delayed": "shipment",
    "customer.created": "customer",
    # Published by the reviews capability: {"customer_id", "order_id", "rating", ...}.
    "review.submitted": "customer",
    # Published by returns.services at each step of a return: {"order_id", "customer_id",
    # "return_id", "number", ...}.
    "return.requested": "return",
    "return.approved": "return",
    "return.rejected": "return",
    "return.shipped": "return",
    "return.received": "return",
    "return.completed": "return",
    "return.cancelled": "return",
}
ACTIONS = {"tag_customer", "webhook"}
# A flow's own event for the outgoing webhooks: lowercase words joined by dots.
WEBHOOK_EVENT = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
# A reminder lists what runs out within REMINDER_HORIZON: it cannot come earlier than that.
MAX_DAYS_BEFORE = REMINDER_HORIZON.days


@dataclass(frozen=True)
class Filter:
    field: str  # in the trigger event's data
    test: Callable[[Any, int], bool]  # (the event's value, the filter's value) -> passes?
    describe: str  # "rating at least {}"


# Which filters each trigger takes; an event without the field does not pass.
def _yes_no(got: Any, want: int) -> bool:
    return int(bool(got)) == int(want)


FILTERS = {
    # An auto-approved return's label is in the email about the request itself.
    "return.requested": {
        "awaiting_review": Filter("awaiting_review", _yes_no, "waiting for an agent: {}"),
    },
    "return.approved": {
        "by_agent": Filter("by_agent", _yes_no, "approved by an agent: {}"),
    },
    "review.submitted": {
        "rating_at_least": Filter("rating", lambda got, want: got >= want, "rating at least {}"),
        "rating_at_most": Filter("rating", lambda got, want: got <= want, "rating at most {}"),
    },
}


class DefinitionError(ValueError):
    """What is wrong with a definition, naming the step: "steps[2].wait: days must be ..."."""


@dataclass(frozen=True)
class Step:
    kind: str  # wait | if | send | action
    duration: timedelta = timedelta(0)
    at_hour: int | None = None
    until_event: str = ""
    predicate: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    otherwise: str = "exit"
    message: str = ""
    action: str = ""
    # A reorder wait: ends days_before the order's first consumable runs out.
    reorder: bool = False
    days_before: int = 0
    # A hold: ends when every one of these conditions holds, looked at every check_every;
    # gives up after `duration` and then exits or goes on (on_timeout).
    hold_until: tuple[str, ...] = ()
    check_every: timedelta = timedelta(0)
    on_timeout: str = "exit"

    def describe(self) -> str:
        if self.kind == "wait":
            if self.hold_until:
                then = "then leave" if self.on_timeout == "exit" else "then go on"
                return (
                    f"hold until {' and '.join(self.hold_until)}"
                    f" (checked every {_duration(self.check_every)},"
                    f" at most {_duration(self.duration)}, {then})"
                )
            if self.reorder:
                before = f"{self.days_before} day{'s' if self.days_before != 1 else ''} before"
                text = f"wait until {before} the first product of the order runs out"
                return text + (f", at {self.at_hour}:00" if self.at_hour is not None else "")
            if self.until_event:
                return f"wait for {self.until_event} (at most {self.duration.days} days)"
            text = f"wait {_duration(self.duration)}"
            return text + (f", at {self.at_hour}:00" if self.at_hour is not None else "")
        if self.kind == "if":
            return f"only if {self.predicate}" + (
                " (else skip the next step)" if self.otherwise == "skip" else ""
            )
        if self.kind == "send":
            return f"send {self.message}"
        if self.action == "webhook":
            return f"call the webhooks with {self.args['event']}"
        return f"{self.action} {self.args.get('tag', '')}".strip()


@dataclass(frozen=True)
class Definition:
    name: str
    trigger: str
    marketing: bool
    holdout: float
    exit_on: tuple[str, ...]
    steps: tuple[Step, ...]
    filters: tuple[tuple[str, int], ...] = ()  # (name, value), all must pass

    def admits(self, data: dict) -> bool:
        """Whether a trigger event with this data enrols its customer (the filters pass)."""
        for name, want in self.filters:
            spec = FILTERS[self.trigger][name]
            got = data.get(spec.field)
            if not isinstance(got, int | float) or isinstance(got, bool):
                return False
            if not spec.test(got, want):
                return False
        return True

    def describe_filters(self) -> str:
        return ", ".join(FILTERS[self.trigger][n].describe.format(v) for n, v in self.filters)


def parse(raw: Any) -> Definition:
    """Check a definition and return it typed; every problem names where it is."""
    if not isinstance(raw, dict):
        raise DefinitionError("a flow definition is an object with name, trigger and steps")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError("name: a flow needs a name")
    trigger = raw.get("trigger")
    if trigger not in TRIGGERS:
        raise DefinitionError(f"trigger: {trigger!r} is not one of {', '.join(TRIGGERS)}")
    marketing = raw.get("marketing", False)
    if not isinstance(marketing, bool):
        raise DefinitionError("marketing: true or false")
    holdout = raw.get("holdout", 0.1 if marketing else 0.0)
    if not isinstance(holdout, int | float) or not 0 <= holdout <= 0.5:
        raise DefinitionError("holdout: a share between 0 and 0.5 (e.g. 0.1 for 10 %)")
    exit_on = raw.get("exit_on", [])
    if not isinstance(exit_on, list) or any(e not in TRIGGERS for e in exit_on):
        raise DefinitionError(f"exit_on: a list of events from {', '.join(TRIGGERS)}")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise DefinitionError("steps: a flow needs at least one step")
    parsed = tuple(_step(f"steps[{n}]", step) for n, step in enumerate(steps))
    for step in parsed:
        if step.kind == "send" and KINDS[step.message].marketing and not marketing:
            raise DefinitionError(
                f"send {step.message}: a marketing message needs a flow with marketing: true"
            )
    filters = _filters(trigger, raw.get("filters", {}))
    return Definition(
        name.strip(), trigger, marketing, float(holdout), tuple(exit_on), parsed, filters
    )


def _filters(trigger: str, raw: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(raw, dict):
        raise DefinitionError('filters: an object such as {"rating_at_least": 4}')
    known = FILTERS.get(trigger, {})
    found = []
    for name, value in raw.items():
        if name not in known:
            offer = f"one of {', '.join(known)}" if known else f"{trigger} takes no filters"
            raise DefinitionError(f"filters.{name}: not a filter of {trigger}; {offer}")
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise DefinitionError(f"filters.{name}: a whole number from 1 to 5 (stars)")
        found.append((name, value))
    return tuple(found)


def _step(where: str, raw: Any) -> Step:
    if not isinstance(raw, dict) or len({"wait", "if", "send", "action"} & set(raw)) != 1:
        raise DefinitionError(f"{where}: a step is one of wait, if, send or action")
    if "wait" in raw:
        return _wait(f"{where}.wait", raw["wait"])
    if "if" in raw:
        if raw["if"] not in predicates.REGISTRY:
            known = ", ".join(sorted(predicates.REGISTRY))
            raise DefinitionError(f"{where}.if: {raw['if']!r} is not a condition; known: {known}")
        otherwise = raw.get("else", "exit")
        if otherwise not in ("exit", "skip"):
            raise DefinitionError(f"{where}.else: exit or skip")
        args = raw.get("args", {})
        if not isinstance(args, dict):
            raise DefinitionError(f"{where}.args: an object")
        try:
            predicates.REGISTRY[raw["if"]].check_args(args)
        except ValueError as exc:
            raise DefinitionError(f"{where}.args: {exc}") from None
        return Step("if", predicate=raw["if"], args=args, otherwise=otherwise)
    if "send" in raw:
        if raw["send"] not in KINDS:
            raise DefinitionError(f"{where}.send: {raw['send']!r} is not a message kind")
        return Step("send", message=raw["send"])
    if raw["action"] not in ACTIONS:
        raise DefinitionError(
            f"{where}.action: {raw['action']!r} is not one of {', '.join(ACTIONS)}"
        )
    if raw["action"] == "webhook":
        event = raw.get("event")
        if not isinstance(event, str) or not WEBHOOK_EVENT.match(event):
            raise DefinitionError(
                f"{where}.event: a webhook step needs an event name like flow.vip_reached"
            )
        try:
            check_name(event)  # what the webhooks will accept when the step runs
        except EventTypeProblem as exc:
            raise DefinitionError(f"{where}.event: {exc}") from None
        return Step("action", action="webhook", args={"event": event})
    tag = raw.get("tag")
    if not isinstance(tag, str) or not tag.strip():
        raise DefinitionError(f"{where}.tag: tag_customer needs a tag")
    return Step("action", action=raw["action"], args={"tag": tag.strip()[:60]})


WAIT_OPTIONS = {
    "days",
    "hours",
    "minutes",
    "at_hour",
    "until_event",
    "timeout_days",
    "reorder_interval",
    "days_before",
    "until",
    "check_every_hours",
    "on_timeout",
}


def _wait(where: str, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise DefinitionError(f'{where}: an object such as {{"days": 3}}')
    unknown = sorted(set(raw) - WAIT_OPTIONS)
    if unknown:
        raise DefinitionError(f"{where}.{unknown[0]}: not a wait option")
    if "until" in raw:
        return _hold(where, raw)
    if "reorder_interval" in raw:
        return _reorder_wait(where, raw)
    amounts = {}
    for unit in ("days", "hours", "minutes", "timeout_days"):
        value = raw.get(unit, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3650:
            raise DefinitionError(f"{where}.{unit}: a whole number from 0 to 3650")
        amounts[unit] = value
    if raw.get("until_event"):
        if raw["until_event"] not in TRIGGERS:
            raise DefinitionError(f"{where}.until_event: one of {', '.join(TRIGGERS)}")
        if not amounts["timeout_days"]:
            raise DefinitionError(f"{where}.timeout_days: waiting for an event needs a timeout")
        return Step(
            "wait",
            until_event=raw["until_event"],
            duration=timedelta(days=amounts["timeout_days"]),
        )
    at_hour = raw.get("at_hour")
    if at_hour is not None and (not isinstance(at_hour, int) or not 0 <= at_hour <= 23):
        raise DefinitionError(f"{where}.at_hour: an hour from 0 to 23")
    duration = timedelta(days=amounts["days"], hours=amounts["hours"], minutes=amounts["minutes"])
    if not duration and at_hour is None:
        raise DefinitionError(f"{where}: wait how long? days, hours, minutes or at_hour")
    return Step("wait", duration=duration, at_hour=at_hour)


def _only(where: str, raw: dict, allowed: set[str], kind: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise DefinitionError(f"{where}.{extra[0]}: {kind} does not take it")


def _whole(where: str, raw: dict, name: str, low: int, high: int, default: int | None) -> int:
    value = raw.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DefinitionError(f"{where}.{name}: a whole number from {low} to {high}")
    return value


def _hold(where: str, raw: dict) -> Step:
    _only(where, raw, {"until", "check_every_hours", "timeout_days", "on_timeout"}, "a hold")
    names = raw["until"]
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DefinitionError(f'{where}.until: a condition or a list, e.g. ["no_open_complaint"]')
    for name in names:
        if name not in predicates.REGISTRY:
            known = ", ".join(sorted(predicates.REGISTRY))
            raise DefinitionError(f"{where}.until: {name!r} is not a condition; known: {known}")
        try:
            predicates.REGISTRY[name].check_args({})
        except ValueError:
            raise DefinitionError(
                f"{where}.until: {name!r} needs args; a hold takes conditions without them"
            ) from None
    if "timeout_days" not in raw:
        raise DefinitionError(f"{where}.timeout_days: a hold needs a timeout (1 to 365 days)")
    timeout = _whole(where, raw, "timeout_days", 1, 365, None)
    every = _whole(where, raw, "check_every_hours", 1, 168, 12)
    on_timeout = raw.get("on_timeout", "exit")
    if on_timeout not in ("exit", "continue"):
        raise DefinitionError(f"{where}.on_timeout: exit or continue")
    return Step(
        "wait",
        duration=timedelta(days=timeout),
        hold_until=tuple(names),
        check_every=timedelta(hours=every),
        on_timeout=on_timeout,
    )


def _reorder_wait(where: str, raw: dict) -> Step:
    _only(where, raw, {"reorder_interval", "days_before", "at_hour"}, "a reorder wait")
    if raw["reorder_interval"] is not True:
        raise DefinitionError(f"{where}.reorder_interval: true (or leave it out)")
    days_before = _whole(where, raw, "days_before", 0, MAX_DAYS_BEFORE, 0)
    at_hour = raw.get("at_hour")
    if at_hour is not None:
        at_hour = _whole(where, raw, "at_hour", 0, 23, None)
    return Step("wait", reorder=True, days_before=days_before, at_hour=at_hour)


def _duration(d: timedelta) -> str:
    if d.days and not d.seconds:
        return f"{d.days} day{'s' if d.days != 1 else ''}"
    hours = d.days * 24 + d.seconds // 3600
    minutes = d.seconds % 3600 // 60
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
