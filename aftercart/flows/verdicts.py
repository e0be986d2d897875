"""The lift report in plain words, in the merchant's language.

One sentence says what the numbers allow one to say, and no more: a small shop reads
"too small to tell yet" and how long that will take, never a lift that only looks
certain. The dashboard shows these sentences; an API or an email digest can too.
"""

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import get_language, gettext, ngettext

from aftercart.core.money import format_money
from aftercart.flows.report import MIN_CONVERSIONS, MIN_CUSTOMERS, FlowReport, RevenueLift, Verdict

MINUS = "\u2212"  # a real minus sign: "−2.1" reads better than "-2.1" next to "+4.3"


def verdict(report: FlowReport) -> str:
    """The one sentence the report leads with."""
    if report.verdict == Verdict.NO_CONTROL:
        text = gettext(
            "No control group: this flow sends to everyone, so there is nothing to compare it with."
        )
        definition = report.flow.version.definition
        if definition.get("marketing"):
            text += " " + gettext('Give it a holdout (for example "holdout": 0.1) to measure it.')
        return text
    if report.verdict == Verdict.TOO_SMALL:
        return _too_small(report)
    lift = report.conversion_lift
    numbers = {
        "low": signed_points(lift.low),
        "high": signed_points(lift.high),
        "points": points(abs(lift.estimate)),
        "sent_rate": percent(report.sent.conversion),
        "control_rate": percent(report.control.conversion),
        "days": report.attribution_days,
    }
    if report.verdict == Verdict.ADDS:
        return (
            gettext(
                "The flow adds %(points)s points: %(sent_rate)s of the customers who got it"
                " ordered again within %(days)s days, against %(control_rate)s of the control"
                " group (95 %% interval: %(low)s to %(high)s points)."
            )
            % numbers
        )
    if report.verdict == Verdict.COSTS:
        return (
            gettext(
                "The flow seems to cost %(points)s points: %(sent_rate)s of the customers who"
                " got it ordered again within %(days)s days, against %(control_rate)s of the"
                " control group (95 %% interval: %(low)s to %(high)s points)."
            )
            % numbers
        )
    return (
        gettext("No measurable difference yet: the lift lies between %(low)s and %(high)s points.")
        % numbers
    )


def _too_small(report: FlowReport) -> str:
    text = gettext(
        "Too small to tell yet. So far %(control)s customers in the control group"
        " (%(control_converted)s ordered again) and %(sent)s who got the flow"
        " (%(sent_converted)s ordered again); a fair comparison needs at least"
        " %(min_customers)s customers and %(min_converted)s who ordered again in each group."
    ) % {
        "control": number_format(report.control.customers, force_grouping=True),
        "control_converted": number_format(report.control.converted, force_grouping=True),
        "sent": number_format(report.sent.customers, force_grouping=True),
        "sent_converted": number_format(report.sent.converted, force_grouping=True),
        "min_customers": MIN_CUSTOMERS,
        "min_converted": MIN_CONVERSIONS,
    }
    days = report.wait_days
    if days is None:
        return text
    if days <= 14:
        pace = ngettext(
            "At the current pace that takes about %(n)s more day.",
            "At the current pace that takes about %(n)s more days.",
            days,
        ) % {"n": days}
    elif days > 365:
        pace = gettext("At the current pace that takes more than a year.")
    else:
        weeks = round(days / 7)
        pace = ngettext(
            "At the current pace that takes about %(n)s more week.",
            "At the current pace that takes about %(n)s more weeks.",
            weeks,
        ) % {"n": weeks}
    return f"{text} {pace}"


def revenue_verdict(lift: RevenueLift) -> str:
    """What the revenue per customer says, for one currency; empty when it cannot say."""
    if lift.difference is None:
        return ""
    d = lift.difference
    numbers = {
        "amount": money(abs(Decimal(str(d.estimate))), lift.currency),
        "low": signed_money(d.low, lift.currency),
        "high": signed_money(d.high, lift.currency),
    }
    if d.above_zero:
        text = gettext("Revenue per customer: %(amount)s more with the flow (%(low)s to %(high)s).")
    elif d.below_zero:
        text = gettext("Revenue per customer: %(amount)s less with the flow (%(low)s to %(high)s).")
    else:
        text = gettext("Revenue per customer: no measurable difference yet (%(low)s to %(high)s).")
    return text % numbers


def points(fraction: float) -> str:
    """0.1034 → "10.3" (percentage points, in the active language's notation)."""
    return number_format(fraction * 100, decimal_pos=1)


def signed_points(fraction: float) -> str:
    sign = "+" if fraction > 0 else MINUS if fraction < 0 else ""
    return sign + points(abs(fraction))


def percent(fraction: float | None) -> str:
    if fraction is None:
        return "—"
    return number_format(fraction * 100, decimal_pos=1) + " %"


def signed_percent(fraction: float) -> str:
    sign = "+" if fraction > 0 else MINUS if fraction < 0 else ""
    return sign + number_format(abs(fraction) * 100, decimal_pos=0) + " %"


def money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency, get_language() or "en")


def signed_money(value: float | Decimal, currency: str) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    sign = "+" if amount > 0 else MINUS if amount < 0 else ""
    return sign + money(abs(amount), currency)
