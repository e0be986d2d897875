"""Sending a return's refund to the store it came from, when the shop connected one.

returns.settlements keeps the settlement's state (pending → sending → done | failed, or
pending again with a later try when the store could not be reached); this module says
which settlements a store can take (returns.outlets), and sends them from a task: at once
when one is made, and every minute for any that waits (a lost task loses nothing).
"""

import logging
import time
from datetime import timedelta

from django_tasks import task

from aftercart.core import events, schedule
from aftercart.core.models import Shop
from aftercart.integrations.models import StoreConnection
from aftercart.integrations.refunds import (
    ExchangeOrder,
    RefundOrder,
    RefundRefused,
    shopify_exchange,
    shopify_refund,
    woocommerce_refund,
)
from aftercart.integrations.services import credentials
from aftercart.integrations.sync.client import StoreClient, StoreRefused, SyncError
from aftercart.returns import outlets
from aftercart.returns import settlements as returns
from aftercart.returns.models import Settlement

log = logging.getLogger(__name__)
SENDERS = {"shopify": shopify_refund, "woocommerce": woocommerce_refund}


def _connection(shop_id: int, platform: str) -> StoreConnection | None:
    connection = StoreConnection.objects.filter(shop_id=shop_id, platform=platform).first()
    if connection is None or not connection.store_url:
        return None
    secrets = credentials(connection)
    usable = secrets["access_token"] if platform == "shopify" else secrets["consumer_key"]
    return connection if usable else None


@outlets.register
def _store_takes(shop: Shop, kind: str, order_source: str, items: list[dict]) -> bool:
    """Refunds of orders from a store we hold API credentials for; exchanges too on
    Shopify, when she chose a variant for every item (one she described in words is made
    by an agent)."""
    if kind == Settlement.Kind.EXCHANGE:
        wanted = order_source == "shopify" and all(item.get("variant") for item in items)
    else:
        wanted = kind == Settlement.Kind.REFUND and order_source in SENDERS
    return wanted and _connection(shop.pk, order_source) is not None


@events.subscribe("return.settlement_created")
def _send_soon(event: events.DomainEvent) -> None:
    if event.data.get("to_store"):
        schedule.soon(send_settlements)


@task(queue_name="intake")
def send_settlements() -> dict[str, int]:
    done = {"sent": 0, "failed": 0, "later": 0}
    for pk in returns.due_settlements():
        settlement = returns.claim_settlement(pk)
        if settlement is not None:
            done[send(settlement)] += 1
    return done


def send(settlement: Settlement) -> str:
    """Send one claimed settlement and record what the store said."""
    ret, claim = settlement.request, settlement.claimed_at
    platform = ret.order.source
    connection = _connection(settlement.shop_id, platform)
    if platform not in SENDERS or connection is None:
        returns.settlement_by_hand(
            settlement,
            error=f"no {platform} connection with API access any more: do it in the store",
            claimed_at=claim,
        )
        return "failed"
    secrets = credentials(connection)
    # Given up well before the claim goes stale: no second worker sends it meanwhile.
    deadline = time.monotonic() + returns.SEND_BUDGET.total_seconds()
    if platform == "shopify":
        client = StoreClient(
            connection.store_url,
            name="Shopify",
            headers={"X-Shopify-Access-Token": secrets["access_token"]},
            deadline=deadline,
        )
    else:
        client = StoreClient(
            connection.store_url,
            name="WooCommerce",
            auth=(secrets["consumer_key"], secrets["consumer_secret"]),
            deadline=deadline,
        )
    try:
        with client:
            external_id = _send(client, platform, settlement)
    except RefundRefused as refused:
        returns.settlement_failed(settlement, error=str(refused), claimed_at=claim)
        return "failed"
    except StoreRefused as refused:
        # Wrong or revoked credentials: nothing is sent until someone fixes them.
        returns.settlement_by_hand(settlement, error=str(refused), claimed_at=claim)
        return "failed"
    except SyncError as problem:
        log.warning("settlement for return %s: %s", ret.number, problem)
        returns.settlement_later(settlement, error=str(problem), claimed_at=claim)
        return "later"
    returns.settlement_done(settlement, by=platform, external_id=external_id, claimed_at=claim)
    return "sent"


def _send(client: StoreClient, platform: str, settlement: Settlement) -> str:
    ret = settlement.request
    marker = returns.marker(settlement)
    note = f"Aftercart return {ret.number} {marker}"
    if settlement.kind == Settlement.Kind.EXCHANGE:
        order = ret.order
        first, _, last = (order.shipping_name or "").partition(" ")
        address = {
            "first_name": first,
            "last_name": last,
            **(order.shipping_address or {}),
            "city": order.shipping_city,
            "zip": order.shipping_postcode,
            "country_code": order.shipping_country,
        }
        return shopify_exchange(
            client,
            ExchangeOrder(
                order_id=order.external_id,
                items=settlement.items,
                email=order.email,
                customer_id=order.customer.external_id if order.customer else "",
                shipping_address={k: v for k, v in address.items() if v},
                marker=marker,
                note=note,
                draft_id=settlement.store_ref,
                remember=lambda ref: returns.remember_store_ref(settlement, ref),
            ),
        )
    return SENDERS[platform](
        client,
        RefundOrder(
            order_id=ret.order.external_id,
            amount=settlement.amount,
            currency=settlement.currency,
            items=settlement.items,
            marker=marker,
            note=note,
        ),
    )


schedule.every(timedelta(minutes=1), send_settlements, name="returns.refunds-to-store")
