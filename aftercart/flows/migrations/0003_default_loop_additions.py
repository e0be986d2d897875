"""Shops made before the replenishment, referral and hold parts of the default loop get them.

The definitions are copied here, not imported from flows.defaults: a migration must do
the same thing on every database, whenever it runs, while the defaults keep changing
(a later change to them comes with a migration of its own). A flow the shop has already
(by key) is left alone; "after-delivery" gets its hold only when it is still exactly the
default it was installed with, as one new version: a flow the merchant edited is hers.
"""

from django.db import migrations

OLD_AFTER_DELIVERY = {
    "name": "After delivery: check-in, review request, cross-sell",
    "trigger": "order.delivered",
    "marketing": True,
    "holdout": 0.1,
    "steps": [
        {"wait": {"days": 3, "at_hour": 10}},
        {"if": "not_cancelled"},
        {"send": "check_in"},
        {"wait": {"days": 4, "at_hour": 10}},
        {"if": "not_refunded"},
        {"send": "review_request"},
        {"wait": {"days": 7, "at_hour": 10}},
        {"if": "not_refunded"},
        {"send": "cross_sell"},
    ],
}
HOLD = {
    "wait": {
        "until": ["no_open_complaint", "no_open_return"],
        "check_every_hours": 12,
        "timeout_days": 14,
        "on_timeout": "exit",
    }
}
AFTER_DELIVERY = {
    **OLD_AFTER_DELIVERY,
    "steps": [*OLD_AFTER_DELIVERY["steps"][:4], HOLD, *OLD_AFTER_DELIVERY["steps"][4:]],
}
NEW_FLOWS = {
    "replenishment": {
        "name": "Replenishment reminder before a product runs out",
        "trigger": "order.placed",
        "marketing": True,
        "holdout": 0.1,
        "steps": [
            {"wait": {"reorder_interval": True, "days_before": 3, "at_hour": 10}},
            {"if": "not_cancelled"},
            {"if": "not_refunded"},
            {"if": "not_reordered"},
            {"send": "replenishment_reminder"},
        ],
    },
    "referral-after-review": {
        "name": "Referral invitation after a 4 or 5 star review",
        "trigger": "review.submitted",
        "filters": {"rating_at_least": 4},
        "marketing": True,
        "holdout": 0.1,
        "steps": [
            {"wait": {"hours": 1}},
            {"if": "no_open_complaint"},
            {"send": "referral_invitation"},
        ],
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
        current = FlowVersion.objects.get(pk=flow.version_id)
        if current.definition == OLD_AFTER_DELIVERY:
            number = FlowVersion.objects.filter(flow=flow).count() + 1
            flow.version = FlowVersion.objects.create(
                flow=flow, number=number, definition=AFTER_DELIVERY
            )
            flow.save(update_fields=["version"])


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0002_enrolment_context_waiting_since"),
        ("core", "0001_initial"),
    ]

    operations = [
        # Nothing to undo: the flows stay, as if the merchant had added them.
        migrations.RunPython(add_to_existing_shops, migrations.RunPython.noop),
    ]
