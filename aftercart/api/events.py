import hashlib
import json

from django.http import HttpRequest
from ninja import Header, Router, Schema, Status

from aftercart.integrations import intake
from aftercart.integrations.generic.events import EventIn, parse

router = Router(tags=["events"])


class Accepted(Schema):
    status: str
    delivery: int | None = None


class Problem(Schema):
    field: str
    problem: str


class ErrorOut(Schema):
    error: str
    problems: list[Problem] = []


@router.post(
    "/events",
    response={
        200: Accepted,
        202: Accepted,
        400: ErrorOut,
        401: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    summary="Send an order or customer event",
)
def post_event(
    request: HttpRequest,
    payload: EventIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """Stores the event and answers at once; it is applied to the order within moments.

    Send the same event twice (same `Idempotency-Key`, or same `id`) and the second is
    answered `200 duplicate` and changes nothing. Events may arrive in any order.
    """
    try:
        parsed = parse(payload.type, payload.data)
    except intake.PayloadError as exc:
        return 422, {
            "error": "the event data is missing fields or has wrong ones",
            "problems": exc.problems,
        }
    body = json.dumps(payload.data, separators=(",", ":"), sort_keys=True, default=str)
    event_id = (
        idempotency_key
        or payload.id
        or "sha256:" + hashlib.sha256((payload.type + body).encode()).hexdigest()
    )
    stored = intake.store_delivery(
        request.shop, source="api", topic=payload.type, event_id=event_id, body=body, intake=parsed
    )
    if stored.duplicate:
        return Status(200, {"status": "duplicate"})
    return Status(202, {"status": "accepted", "delivery": stored.delivery_id})
