"""Shops made before returns and customer care get the return emails' flows; and, in the
flows the merchant never edited: no cross-sell while a return of the order is open, and
no marketing mail (check-in, cross-sell, replenishment reminder, win-back) while she has
a complaint open. Copied, not imported from flows.defaults, for the reason 0003 gives.
"""

import importlib

from django.db import migrations

# As every shop has them that did not edit them: 0003's after-delivery and replenishment,
# and the win-back the loop began with.
BEFORE = importlib.import_module("aftercart.flows.migrations.0003_default_loop_additions")
OLD_AFTER_DELIVERY = BEFORE.AFTER_DELIVERY
OLD_REPLENISHMENT = BEFORE.NEW_FLOWS["replenishment"]
OLD_WIN_BACK = {
    "name": "Win-back after 90 days without an order",
    "trigger": "order.placed",
    "marketing": True,
    "holdout": 0.1,
    "exit_on": ["order.placed"],
    "steps": [
        {"wait": {"days": 90, "at_hour": 10}},
        {"if": "no_newer_order"},
        {"send": "win_back"},
    ],
}
CALM = {"if": "no_open_complaint"}


def _before_sends(definition: dict, extra: dict[str, list[dict]]) -> dict:
    """The definition with conditions put in front of the send steps named."""
    steps = []
    for step in definition["steps"]:
        steps += extra.get(step.get("send", ""), [])
        steps.append(step)
    return {**definition, "steps": steps}


UPGRADES = {
    "after-delivery": (
        OLD_AFTER_DELIVERY,
        _before_sends(
            OLD_AFTER_DELIVERY,
            {
                "check_in": [{**CALM, "else": "skip"}],
                "cross_sell": [{"if": "no_open_return"}, CALM],
            },
        ),
    ),
    "replenishment": (
        OLD_REPLENISHMENT,
        _before_sends(OLD_REPLENISHMENT, {"replenishment_reminder": [CALM]}),
    ),
    "win-back": (OLD_WIN_BACK, _before_sends(OLD_WIN_BACK, {"win_back": [CALM]})),
}

NEW_FLOWS = {
    "return-requested": {
        "name": "Return requested: confirmation (with the label when approved at once)",
        "trigger": "return.requested",
        "steps": [{"send": "return_requested"}],
    },
    "return-approved": {
        "name": "Return approved by an agent: the label",
        "trigger": "return.approved",
        "filters": {"by_agent": 1},
        "steps": [{"send": "return_approved"}],
    },
    "return-rejected": {
        "name": "Return rejected: why",
        "trigger": "return.rejected",
        "steps": [{"send": "return_rejected"}],
    },
    "return-received": {
        "name": "Return received",
        "trigger": "return.received",
        "steps": [{"send": "return_received"}],
    },
    "return-completed": {
        "name": "Return completed: refund, store credit or exchange",
        "trigger": "return.completed",
        "steps": [{"send": "return_completed"}],
    },
}


def add_to_existing_shops(apps, schema_editor):
    Shop = apps.get_model("core", "Shop")
    Flow = apps.get_model("flows", "Flow")
    FlowVersion = apps.get_model("flows", "FlowVersion")
    for shop in Shop.objects.all().iterator():
        flows = {flow.key: flow for flow in Flow.objects.filter(shop=shop)}
        if not flows:
            continue  # no default loop at all: it was deleted, or the shop is half made
        for key, definition in NEW_FLOWS.items():
            if key in flows:
                continue
            flow = Flow.objects.create(
                shop=shop, key=key, name=definition["name"], trigger=definition["trigger"]
            )
            flow.version = FlowVersion.objects.create(flow=flow, number=1, definition=definition)
            flow.save(update_fields=["version"])
        for key, (old, new) in UPGRADES.items():
            flow = flows.get(key)
            if flow is None or flow.version_id is None:
                continue
            if FlowVersion.objects.get(pk=flow.version_id).definition == old:
                number = FlowVersion.objects.filter(flow=flow).count() + 1
                flow.version = FlowVersion.objects.create(flow=flow, number=number, definition=new)
                flow.save(update_fields=["version"])


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0004_delivery_flows"),
    ]

    operations = [
        # Nothing to undo: the flows stay, as if the merchant had added them.
        migrations.RunPython(add_to_existing_shops, migrations.RunPython.noop),
    ]
