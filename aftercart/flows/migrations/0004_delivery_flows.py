"""Shops made before tracking get the out-for-delivery and delivery-delayed flows.

Copied, not imported from flows.defaults, for the reason 0003 gives. A flow the shop has
already (by key) is left alone.
"""

from django.db import migrations

NEW_FLOWS = {
    "out-for-delivery": {
        "name": "Out for delivery",
        "trigger": "shipment.out_for_delivery",
        "steps": [{"send": "out_for_delivery"}],
    },
    "delivery-delayed": {
        "name": "Delivery delayed: an apology",
        "trigger": "shipment.delayed",
        "steps": [{"send": "delivery_delayed"}],
    },
}


def add_to_existing_shops(apps, schema_editor):
    Shop = apps.get_model("core", "Shop")
    Flow = apps.get_model("flows", "Flow")
    FlowVersion = apps.get_model("flows", "FlowVersion")
    for shop in Shop.objects.all().iterator():
        have = set(Flow.objects.filter(shop=shop).values_list("key", flat=True))
        if not have:
            continue  # no default loop at all: it was deleted, or the shop is half made
        for key, definition in NEW_FLOWS.items():
            if key in have:
                continue
            flow = Flow.objects.create(
                shop=shop, key=key, name=definition["name"], trigger=definition["trigger"]
            )
            flow.version = FlowVersion.objects.create(flow=flow, number=1, definition=definition)
            flow.save(update_fields=["version"])


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0003_default_loop_additions"),
    ]

    operations = [
        migrations.RunPython(add_to_existing_shops, migrations.RunPython.noop),
    ]
