"""Webhook endpoints for Shopify and WooCommerce: verify, store, answer. Nothing else.

The order of checks is the contract: too large 413 (core.middleware); unknown shop 404; bad or missing
signature 401 (nothing stored, nothing parsed); malformed JSON 400; unknown topic 202
(recorded as ignored); wrong fields 422 naming each; otherwise stored and 200.
"""

import hashlib

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from aftercart.core.models import Shop
from aftercart.integrations import intake
from aftercart.integrations.aftership import mapping as aftership
from aftercart.integrations.services import signature_matches, webhook_target
from aftercart.integrations.shopify import mapping as shopify
from aftercart.integrations.woocommerce import mapping as woocommerce


def _error(status: int, message: str, **extra) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _fallback_id(topic: str, body: bytes) -> str:
    return "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()


def receive(
    shop: Shop, *, source: str, topic: str, event_id: str, body: bytes, parser, payload=None
) -> JsonResponse:
    """`payload`: the body parsed already (a sender that names its event id inside it)."""
    if payload is None:
        try:
            payload = intake.parse_json(body)
        except ValueError as exc:
            return _error(400, str(exc))
    try:
        parsed = parser(topic, payload)
    except intake.UnknownTopic:
        intake.store_delivery(
            shop, source=source, topic=topic, event_id=event_id, body=body.decode(), intake=None
        )
        return JsonResponse({"status": "ignored", "topic": topic}, status=202)
    except intake.PayloadError as exc:
        return _error(422, "the payload is missing fields or has wrong ones", problems=exc.problems)
    stored = intake.store_delivery(
        shop, source=source, topic=topic, event_id=event_id, body=body.decode(), intake=parsed
    )
    return JsonResponse({"status": "duplicate" if stored.duplicate else "accepted"})


def _signed(
    request: HttpRequest, shop_slug: str, platform: str, header: str
) -> tuple[Shop, bytes] | JsonResponse:
    """The shop and the raw body, once the body's signature matches its secret; else the
    answer (404 unknown shop, 401 bad or missing signature: nothing stored, nothing read)."""
    shop, secret = webhook_target(shop_slug, platform)
    if shop is None:
        return _error(404, f"no shop {shop_slug!r}")
    body = request.body
    if not secret or not signature_matches(secret, body, request.headers.get(header)):
        return _error(401, f"{header} does not match the body")
    return shop, body


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest, shop_slug: str) -> JsonResponse:
    checked = _signed(request, shop_slug, "shopify", "X-Shopify-Hmac-Sha256")
    if isinstance(checked, JsonResponse):
        return checked
    shop, body = checked
    topic = request.headers.get("X-Shopify-Topic", "")
    event_id = (
        request.headers.get("X-Shopify-Event-Id")
        or request.headers.get("X-Shopify-Webhook-Id")
        or _fallback_id(topic, body)
    )
    return receive(
        shop, source="shopify", topic=topic, event_id=event_id, body=body, parser=shopify.parse
    )


@csrf_exempt
@require_POST
def woocommerce_webhook(request: HttpRequest, shop_slug: str) -> JsonResponse:
    shop, secret = webhook_target(shop_slug, "woocommerce")
    if shop is None:
        return _error(404, f"no shop {shop_slug!r}")
    signature = request.headers.get("X-WC-Webhook-Signature")
    # WooCommerce pings a new webhook once, unsigned, with webhook_id=<n>; it must get a 2xx.
    is_form = request.content_type == "application/x-www-form-urlencoded"
    if not signature and is_form and "webhook_id" in request.POST:
        return JsonResponse({"status": "pong"})
    body = request.body
    if not secret or not signature_matches(secret, body, signature):
        return _error(401, "X-WC-Webhook-Signature does not match the body")
    topic = request.headers.get("X-WC-Webhook-Topic", "")
    event_id = request.headers.get("X-WC-Webhook-Delivery-ID") or _fallback_id(topic, body)
    return receive(
        shop,
        source="woocommerce",
        topic=topic,
        event_id=event_id,
        body=body,
        parser=woocommerce.parse,
    )


@csrf_exempt
@require_POST
def aftership_webhook(request: HttpRequest, shop_slug: str) -> JsonResponse:
    """AfterShip's tracking updates, signed like Shopify's (base64 HMAC-SHA256 of the body)."""
    checked = _signed(request, shop_slug, "aftership", "aftership-hmac-sha256")
    if isinstance(checked, JsonResponse):
        return checked
    shop, body = checked
    try:
        payload = intake.parse_json(body)
    except ValueError as exc:
        return _error(400, str(exc))
    event = payload.get("event", "") if isinstance(payload, dict) else ""
    event_id = (payload.get("event_id") if isinstance(payload, dict) else None) or _fallback_id(
        str(event), body
    )
    return receive(
        shop,
        source="aftership",
        topic=str(event)[:60],
        event_id=str(event_id)[:200],
        body=body,
        parser=aftership.parse,
        payload=payload,
    )
