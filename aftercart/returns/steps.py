"""A step of a return by its name, as the dashboard's buttons and the API's `action` say
it: one table from the name to the service that takes it."""

from aftercart.returns import services, settlements
from aftercart.returns.models import ReturnRequest
from aftercart.returns.services import ReturnProblem

STEPS = {
    "approve": lambda ret, by, f: services.approve_return(ret, by=by),
    "reject": lambda ret, by, f: services.reject_return(ret, by=by, reason=f.get("reason", "")),
    "shipped": lambda ret, by, f: services.mark_shipped_back(
        ret, by=by, tracking_number=f.get("tracking_number", "")
    ),
    "receive": lambda ret, by, f: services.receive_return(
        ret, by=by, quantities=f.get("quantities")
    ),
    "inspect": lambda ret, by, f: services.inspect_return(ret, by=by, note=f.get("note", "")),
    "settle": lambda ret, by, f: settlements.settle_return(
        ret,
        by=by,
        quantities=f.get("quantities"),
        refund_shipping=bool(f.get("refund_shipping")),
    ),
    "complete": lambda ret, by, f: services.complete_return(ret, by=by),
    "cancel": lambda ret, by, f: services.cancel_return(ret, by=by),
}


def take_step(ret: ReturnRequest, action: str, *, by: str, **fields) -> None:
    """`fields`: what the step takes (reason, note, tracking_number, quantities,
    refund_shipping). An unknown step, or one the return cannot take now: ReturnProblem."""
    step = STEPS.get(action)
    if step is None:
        raise ReturnProblem(f"action: one of {', '.join(STEPS)}, not {action!r}")
    step(ret, by, fields)
