"""Shops made before the loop grew get its new flows, and keep what their merchant edited."""

import importlib

import pytest
from django.apps import apps

from aftercart.core.services import create_shop
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.models import Flow
from aftercart.flows.services import save_flow

pytestmark = pytest.mark.django_db
upgrade = importlib.import_module("aftercart.flows.migrations.0003_default_loop_additions")
delivery = importlib.import_module("aftercart.flows.migrations.0004_delivery_flows")
returns = importlib.import_module("aftercart.flows.migrations.0005_return_flows")
# Flows added after the first loop.
LATER = set(upgrade.NEW_FLOWS) | set(delivery.NEW_FLOWS) | set(returns.NEW_FLOWS)


def shop_as_it_was(slug, after_delivery):
    """A shop with the default loop as it was installed before this migration."""
    shop, _ = create_shop(slug, name=slug.title())
    for key, definition in DEFAULT_LOOP.items():
        if key not in LATER:
            save_flow(shop, key, after_delivery if key == "after-delivery" else definition)
    return shop


def current(shop, key):
    return Flow.objects.select_related("version").get(shop=shop, key=key).version


def test_the_migration_installs_what_the_defaults_say_today():
    # A change to the default loop needs a migration of its own for the shops made before.
    added = {**upgrade.NEW_FLOWS, **delivery.NEW_FLOWS, **returns.NEW_FLOWS}
    # What the last migration to touch each flow leaves, in the order they run.
    latest = {**added, **{key: new for key, (_old, new) in returns.UPGRADES.items()}}
    for key, copied in latest.items():
        assert copied == DEFAULT_LOOP[key], key  # noqa: SIM300  the copy is what is checked
    # An upgrade starts from what the migrations before it left.
    assert returns.UPGRADES["replenishment"][0] == upgrade.NEW_FLOWS["replenishment"]
    assert returns.UPGRADES["after-delivery"][0] == upgrade.AFTER_DELIVERY


def test_an_old_shop_gets_the_new_flows_and_the_hold():
    shop = shop_as_it_was("roastery", upgrade.OLD_AFTER_DELIVERY)
    before = current(shop, "after-delivery").number

    upgrade.add_to_existing_shops(apps, None)
    delivery.add_to_existing_shops(apps, None)
    returns.add_to_existing_shops(apps, None)

    assert set(Flow.objects.filter(shop=shop).values_list("key", flat=True)) == set(DEFAULT_LOOP)
    assert current(shop, "replenishment").definition == DEFAULT_LOOP["replenishment"]
    after = current(shop, "after-delivery")
    assert after.definition == DEFAULT_LOOP["after-delivery"]
    assert after.number == before + 2  # new versions: running enrolments keep theirs
    trigger = Flow.objects.get(shop=shop, key="referral-after-review").trigger
    assert trigger == "review.submitted"


def test_a_flow_the_merchant_edited_is_hers():
    edited = {**upgrade.OLD_AFTER_DELIVERY, "name": "Our own after-delivery"}
    shop = shop_as_it_was("teahouse", edited)

    upgrade.add_to_existing_shops(apps, None)
    upgrade.add_to_existing_shops(apps, None)  # twice: nothing more

    assert current(shop, "after-delivery").definition == edited
    assert Flow.objects.filter(shop=shop, key="replenishment").count() == 1
