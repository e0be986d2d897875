"""A shop's return policy, and the one function that judges a return request against it.

Plain Python over plain values: `returns.services` reads a shop's policy, the order and
the customer's earlier returns into these types, and the portal and the dashboard show
the same verdict with the same reasons, in the customer's language.

The rules, in the order a request meets them:
* the reason must be one of the shop's, with a photo or a comment where it asks for one,
  and the resolution asked for (refund, exchange, store credit) one it allows;
* the window: `window_days` after delivery (after the order date when the order was never
  reported delivered), up to and including the last day on the shop's clock;
* per line: only what was delivered and not returned already, and nothing the policy
  excludes (final sale, hygiene: by product, SKU, category or tag) or the product itself
  says cannot be returned. A line that cannot come back is explained, and the rest of the
  request still goes on;
* when this return makes more than `review_after` of the customer's returns in 90 days,
  a person at the shop looks at it first.
Money: what the accepted units cost her (after discounts), less, when the reason is hers
(she changed her mind, it does not fit), the restocking fee and the return shipping fee;
as store credit, that plus the bonus. The shop's mistake (damaged, wrong item) costs her
nothing, and neither does an exchange, which keeps the sale.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.utils import formats, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CENT = Decimal("0.01")


class Resolution(StrEnum):
    REFUND = "refund"
    EXCHANGE = "exchange"
    STORE_CREDIT = "store_credit"


RESOLUTION_LABELS = {
    Resolution.REFUND: gettext_lazy("a refund"),
    Resolution.EXCHANGE: gettext_lazy("an exchange"),
    Resolution.STORE_CREDIT: gettext_lazy("store credit"),
}


class Decision(StrEnum):
    APPROVED = "approved"
    REVIEW = "review"  # a person at the shop decides
    REJECTED = "rejected"


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    needs_photo: bool = False
    needs_comment: bool = False
    resolutions: tuple[Resolution, ...] = tuple(Resolution)
    # Hers (changed her mind, does not fit) or the shop's (damaged, wrong item).
    customer_pays_shipping: bool = True


@dataclass(frozen=True)
class Exclusion:
    """Items that cannot come back, and what the customer is told why ("Final sale")."""

    label: str
    products: frozenset[str] = frozenset()  # the store's product ids or SKUs
    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()

    def covers(self, item: "Item") -> bool:
        wanted = {p.lower() for p in self.products}
        if (item.product and item.product.lower() in wanted) or (
            item.sku and item.sku.lower() in wanted
        ):
            return True
        if item.category and item.category.lower() in {c.lower() for c in self.categories}:
            return True
        return bool({t.lower() for t in item.tags} & {t.lower() for t in self.tags})


DEFAULT_REASONS = (
    Reason("changed_mind", gettext_lazy("I changed my mind")),
    Reason("does_not_fit", gettext_lazy("It does not fit")),
    Reason(
        "damaged",
        gettext_lazy("It arrived damaged"),
        needs_photo=True,
        customer_pays_shipping=False,
    ),
    Reason(
        "wrong_item",
        gettext_lazy("I received the wrong item"),
        needs_photo=True,
        customer_pays_shipping=False,
    ),
    Reason(
        "not_as_described",
        gettext_lazy("It is not as described"),
        needs_comment=True,
        customer_pays_shipping=False,
    ),
)


@dataclass(frozen=True)
class Policy:
    window_days: int = 30
    reasons: tuple[Reason, ...] = DEFAULT_REASONS
    exclusions: tuple[Exclusion, ...] = ()
    restocking_fee_percent: Decimal = Decimal(0)
    store_credit_bonus_percent: Decimal = Decimal(0)
    return_shipping_fee: Decimal = Decimal(0)  # taken when the reason is the customer's
    review_after: int | None = 3  # more returns than this in 90 days: a person decides

    def reason(self, code: str) -> Reason | None:
        return next((r for r in self.reasons if r.code == code), None)


@dataclass(frozen=True)
class Item:
    """A line of the order as far as returning it goes."""

    line_id: int
    title: str
    unit_paid: Decimal  # one unit, after its share of the discounts
    delivered: int  # what reached her (what was ordered, when the shop reports no deliveries)
    returned: int = 0  # in returns already asked for and not cancelled or rejected
    product: str = ""
    sku: str = ""
    category: str = ""
    tags: frozenset[str] = frozenset()
    returnable: bool = True  # the product's own say

    @property
    def returnable_quantity(self) -> int:
        return max(0, self.delivered - self.returned)


@dataclass(frozen=True)
class Request:
    quantities: dict[int, int]  # line id → how many she sends back
    reason: str
    resolution: Resolution = Resolution.REFUND
    comment: str = ""
    photos: int = 0


@dataclass(frozen=True)
class Circumstances:
    ordered_at: datetime
    delivered_at: datetime | None
    now: datetime
    zone: ZoneInfo  # the shop's
    earlier_returns: int = 0  # the customer's, in the last 90 days


@dataclass
class LineVerdict:
    item: Item
    asked: int
    accepted: int
    why_not: str = ""  # when fewer than asked come back


@dataclass
class Verdict:
    decision: Decision
    reasons: list[str]  # why it is not simply approved, or why a line cannot come back
    lines: list[LineVerdict] = field(default_factory=list)
    last_day: date | None = None
    resolution: Resolution = Resolution.REFUND
    items_value: Decimal = Decimal(0)
    restocking_fee: Decimal = Decimal(0)
    shipping_fee: Decimal = Decimal(0)
    refund: Decimal = Decimal(0)  # to the original payment
    store_credit: Decimal = Decimal(0)

    @property
    def credit_bonus(self) -> Decimal:
        """What choosing store credit adds to what she would get back in money."""
        if not self.store_credit:
            return Decimal(0)
        net = max(Decimal(0), self.items_value - self.restocking_fee - self.shipping_fee)
        return self.store_credit - net


class RequestProblem(ValueError):
    """A request that names lines the order does not have, or no quantities at all."""


def evaluate(policy: Policy, items: list[Item], request: Request, when: Circumstances) -> Verdict:
    """The verdict on `request` for an order of `items`, with reasons a person can read
    (in the active language)."""
    by_id = {item.line_id: item for item in items}
    unknown = sorted(set(request.quantities) - set(by_id))
    if unknown:
        raise RequestProblem(f"the order has no line {', '.join(map(str, unknown))}")
    if any(q < 0 for q in request.quantities.values()):
        raise RequestProblem("a quantity cannot be negative")
    if not any(request.quantities.values()):
        raise RequestProblem("choose at least one item to return")

    last_day = _last_day(policy, when)
    refusals = _refusals(policy, request, when, last_day)
    if refusals:
        return Verdict(Decision.REJECTED, refusals, last_day=last_day)

    lines = [
        _judge_line(policy, by_id[line_id], asked)
        for line_id, asked in request.quantities.items()
        if asked
    ]
    explained = [f"{line.item.title}: {line.why_not}" for line in lines if line.why_not]
    if not any(line.accepted for line in lines):
        return Verdict(Decision.REJECTED, explained, lines, last_day, request.resolution)

    reason = policy.reason(request.reason)
    verdict = _money(policy, reason, request.resolution, lines)
    verdict.last_day, verdict.reasons = last_day, explained
    # The pages and emails say in their own words what a review means for her.
    if policy.review_after is not None and when.earlier_returns + 1 > policy.review_after:
        verdict.decision = Decision.REVIEW
    return verdict


def _last_day(policy: Policy, when: Circumstances) -> date:
    started = when.delivered_at or when.ordered_at
    return started.astimezone(when.zone).date() + timedelta(days=policy.window_days)


def _refusals(policy: Policy, request: Request, when: Circumstances, last_day: date) -> list[str]:
    reason = policy.reason(request.reason)
    if reason is None:
        return [_("Please choose one of the reasons for the return.")]
    refusals = []
    if when.now.astimezone(when.zone).date() > last_day:
        refusals.append(
            _("The return period ended on %(day)s.")
            % {"day": formats.date_format(last_day, "j F Y")}
        )
    if request.resolution not in reason.resolutions:
        offered = ", ".join(str(RESOLUTION_LABELS[r]) for r in reason.resolutions)
        refusals.append(
            _("For “%(reason)s” we offer %(offered)s.")
            % {"reason": reason.label, "offered": offered}
        )
    if reason.needs_photo and request.photos < 1:
        refusals.append(_("Please add a photo that shows the problem."))
    if reason.needs_comment and not request.comment.strip():
        refusals.append(_("Please tell us in a few words what is wrong."))
    return refusals


def never_returnable(policy: Policy, item: Item) -> str:
    """Why this item can never come back (final sale, hygiene, the product says so), or ""."""
    excluded = next((e for e in policy.exclusions if e.covers(item)), None)
    if excluded is not None:
        return _("%(rule)s: it cannot be returned.") % {"rule": excluded.label}
    if not item.returnable:
        return _("this item cannot be returned.")
    return ""


def _judge_line(policy: Policy, item: Item, asked: int) -> LineVerdict:
    why = never_returnable(policy, item)
    if why:
        return LineVerdict(item, asked, 0, why)
    can = item.returnable_quantity
    if asked <= can:
        return LineVerdict(item, asked, asked)
    if can == 0:
        why = _("it has been returned already or has not reached you yet.")
    else:
        why = translation.ngettext(
            "only %(count)d can still be returned.",
            "only %(count)d can still be returned.",
            can,
        ) % {"count": can}
    return LineVerdict(item, asked, can, why)


def _money(
    policy: Policy, reason: Reason, resolution: Resolution, lines: list[LineVerdict]
) -> Verdict:
    value = sum((line.item.unit_paid * line.accepted for line in lines), Decimal(0))
    value = value.quantize(CENT, ROUND_HALF_UP)
    # Fees only when it is her choice, and never on an exchange (it keeps the sale).
    hers = reason.customer_pays_shipping and resolution is not Resolution.EXCHANGE
    restocking = Decimal(0)
    if hers:
        restocking = (value * policy.restocking_fee_percent / 100).quantize(CENT, ROUND_HALF_UP)
    shipping = policy.return_shipping_fee if hers else Decimal(0)
    net = max(Decimal(0), value - restocking - shipping)
    verdict = Verdict(
        Decision.APPROVED,
        [],
        lines,
        resolution=resolution,
        items_value=value,
        restocking_fee=restocking,
        shipping_fee=shipping,
    )
    if resolution is Resolution.REFUND:
        verdict.refund = net
    elif resolution is Resolution.STORE_CREDIT:
        bonus = net * policy.store_credit_bonus_percent / 100
        verdict.store_credit = (net + bonus).quantize(CENT, ROUND_HALF_UP)
    return verdict
