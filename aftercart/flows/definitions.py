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

* wait: a duration (days, hours, minutes), optionally at a whole hour of the day it
  ends on, in the customer's time (at_hour: "3 days after delivery, at 10:00"); or until
  an event about the same customer (until_event), with a timeout after which the flow
  goes on.
* if: a condition from the registry (flows.predicates) with optional "args"; when it
  does not hold, the customer leaves the flow ("else": "exit", the default) or the next
  step is skipped ("else": "skip").
* send: a message kind (messaging.kinds).
* action: tag_customer (more come with later capabilities).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aftercart.flows import predicates
from aftercart.messaging.kinds import KINDS

TRIGGERS = {
    "order.placed": "order",
    "order.paid": "order",
    "order.cancelled": "order",
    "order.refunded": "order",
    "order.delivered": "order",
    "shipment.created": "shipment",
    "shipment.updated": "shipment",
    "shipment.delivered": "shipment",
    "customer.created": "customer",
}
ACTIONS = {"tag_customer"}


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

    def describe(self) -> str:
        if self.kind == "wait":
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
        return f"{self.action} {self.args.get('tag', '')}".strip()


@dataclass(frozen=True)
class Definition:
    name: str
    trigger: str
    marketing: bool
    holdout: float
    exit_on: tuple[str, ...]
    steps: tuple[Step, ...]


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
    return Definition(name.strip(), trigger, marketing, float(holdout), tuple(exit_on), parsed)


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
    tag = raw.get("tag")
    if not isinstance(tag, str) or not tag.strip():
        raise DefinitionError(f"{where}.tag: tag_customer needs a tag")
    return Step("action", action=raw["action"], args={"tag": tag.strip()[:60]})


def _wait(where: str, raw: Any) -> Step:
    if not isinstance(raw, dict):
        raise DefinitionError(f'{where}: an object such as {{"days": 3}}')
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


def _duration(d: timedelta) -> str:
    if d.days and not d.seconds:
        return f"{d.days} day{'s' if d.days != 1 else ''}"
    hours = d.days * 24 + d.seconds // 3600
    minutes = d.seconds % 3600 // 60
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
