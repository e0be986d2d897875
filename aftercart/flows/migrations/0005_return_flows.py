"""Shops made before returns get the return emails' flows, and the after-delivery flow
stops its cross-sell while a return of the order is open (when the merchant never
edited it). Copied, not imported from flows.defaults, for the reason 0003 gives.
"""

import importlib

from django.db import migrations

# 0003's after-delivery, as every shop has it that did not edit it.
BEFORE = importlib.import_module("aftercart.flows.migrations.0003_default_loop_additions")
OLD_AFTER_DELIVERY = BEFORE.AFTER_DELIVERY
_steps = OLD_AFTER_DELIVERY["steps"]
AFTER_DELIVERY = {
    **OLD_AFTER_DELIVERY,
    "steps": [*_steps[:-1], {"if": "no_open_return"}, _steps[-1]],
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
        flow = flows.get("after-delivery")
        if flow is None or flow.version_id is None:
            continue
        if FlowVersion.objects.get(pk=flow.version_id).definition == OLD_AFTER_DELIVERY:
            number = FlowVersion.objects.filter(flow=flow).count() + 1
            flow.version = FlowVersion.objects.create(
                flow=flow, number=number, definition=AFTER_DELIVERY
            )
            flow.save(update_fields=["version"])


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0004_delivery_flows"),
    ]

    operations = [
        # Nothing to undo: the flows stay, as if the merchant had added them.
        migrations.RunPython(add_to_existing_shops, migrations.RunPython.noop),
    ]
