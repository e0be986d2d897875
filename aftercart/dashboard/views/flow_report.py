"""A flow's lift report: sent versus control, side by side, with the verdict in words.

report_context() builds what the partial dashboard/_flow_report.html needs, so the flow
page can show the report with its defaults; flow_report() is the page of its own where
the merchant picks the period and the attribution window.
"""

from datetime import datetime
from decimal import Decimal

from django import forms
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from aftercart.dashboard.access import page, shop_page
from aftercart.flows.definitions import parse
from aftercart.flows.models import Flow
from aftercart.flows.queries import flow_in_shop
from aftercart.flows.report import (
    DEFAULT_ATTRIBUTION_DAYS,
    DEFAULT_PERIOD_DAYS,
    FlowReport,
    RevenueLift,
    Verdict,
)
from aftercart.flows.report import (
    flow_report as build_report,
)
from aftercart.flows.stats import Interval
from aftercart.flows.verdicts import (
    money,
    percent,
    revenue_verdict,
    signed_percent,
    signed_points,
    verdict,
)


class ReportPeriodForm(forms.Form):
    days = forms.IntegerField(
        label=_("Customers who started the flow in the last … days"),
        min_value=2,
        max_value=3650,
        error_messages={
            "invalid": _("Period: a whole number of days, such as 90."),
            "min_value": _("Period: at least %(limit_value)s days."),
            "max_value": _("Period: at most %(limit_value)s days (ten years)."),
        },
    )
    window = forms.IntegerField(
        label=_("Count orders placed within … days of starting"),
        min_value=1,
        max_value=365,
        error_messages={
            "invalid": _("Attribution window: a whole number of days, such as 30."),
            "min_value": _("Attribution window: at least %(limit_value)s day."),
            "max_value": _("Attribution window: at most %(limit_value)s days."),
        },
    )

    def clean(self):
        data = super().clean()
        days, window = data.get("days"), data.get("window")
        if days is not None and window is not None and window >= days:
            # Only customers whose window has closed are counted: with a window as long as
            # the period, nobody's has.
            raise forms.ValidationError(
                _(
                    "The period (%(days)s days) must be longer than the attribution window"
                    " (%(window)s days): only customers whose window has closed are counted."
                ),
                params={"days": days, "window": window},
            )
        return data


def default_attribution_days(flow: Flow) -> int:
    """The flow's own window once definitions carry one, else 30 days."""
    definition = parse(flow.version.definition)
    return getattr(definition, "attribution_days", None) or DEFAULT_ATTRIBUTION_DAYS


def report_context(
    flow: Flow,
    *,
    period_days: int = DEFAULT_PERIOD_DAYS,
    attribution_days: int | None = None,
    now: datetime | None = None,
) -> dict:
    """Everything dashboard/_flow_report.html shows, under the key "lift"."""
    attribution_days = attribution_days or default_attribution_days(flow)
    report = build_report(flow, period_days=period_days, attribution_days=attribution_days, now=now)
    lift = report.conversion_lift
    return {
        "lift": {
            "report": report,
            "verdict": verdict(report),
            "tone": _TONES[report.verdict],
            "sent_rate": percent(report.sent.conversion),
            "control_rate": percent(report.control.conversion),
            "points": signed_points(lift.estimate) if lift else "",
            "low": signed_points(lift.low) if lift else "",
            "high": signed_points(lift.high) if lift else "",
            "bar": interval_bar(lift) if lift else None,
            "relative": _relative(report.relative_lift),
            "revenue": [_revenue_line(report, line) for line in report.revenue],
        }
    }


def _relative(interval: Interval | None) -> dict | None:
    if interval is None:
        return None
    return {
        "estimate": signed_percent(interval.estimate),
        "low": signed_percent(interval.low),
        "high": signed_percent(interval.high),
    }


def _revenue_line(report: FlowReport, line: RevenueLift) -> dict:
    currency = line.currency
    return {
        "currency": currency,
        "sent_total": money(report.sent.revenue.get(currency, Decimal("0.00")), currency),
        "control_total": money(report.control.revenue.get(currency, Decimal("0.00")), currency),
        "sent": money(line.sent, currency) if line.sent is not None else "—",
        "control": money(line.control, currency) if line.control is not None else "—",
        "sentence": revenue_verdict(line),
        "bar": interval_bar(line.difference) if line.difference else None,
    }


_TONES = {
    Verdict.ADDS: "good",
    Verdict.COSTS: "bad",
    Verdict.UNCLEAR: "neutral",
    Verdict.TOO_SMALL: "warn",
    Verdict.NO_CONTROL: "neutral",
}


def interval_bar(interval: Interval) -> dict:
    """Where to draw an interval on a bar with zero in the middle, in percent of its width.

    Zero sits in the middle so "left of the line: worse, right of it: better" holds for
    every report; the scale stretches to the interval's farther end plus a margin.
    """
    reach = max(abs(interval.low), abs(interval.high), 1e-9) * 1.15

    def at(value: float) -> float:
        return 50 + 50 * value / reach

    low, high = at(interval.low), at(interval.high)
    tone = "good" if interval.above_zero else "bad" if interval.below_zero else "neutral"
    # Strings with a decimal point: the template would print floats with a Dutch comma.
    return {
        "low": f"{low:.2f}",
        "width": f"{max(high - low, 0.5):.2f}",
        "estimate": f"{at(interval.estimate):.2f}",
        "tone": tone,
    }


@shop_page
def flow_report(request, shop, pk: int):
    flow = flow_in_shop(shop, pk)
    if flow is None:
        raise Http404
    defaults = {"days": DEFAULT_PERIOD_DAYS, "window": default_attribution_days(flow)}
    given = {key: value for key, value in request.GET.items() if value.strip()}
    form = ReportPeriodForm({**defaults, **given})
    context = {"flow": flow, "form": form, "on_report_page": True}
    if not form.is_valid():
        return page(request, "dashboard/flow_report.html", context, status=400)
    context.update(
        report_context(
            flow,
            period_days=form.cleaned_data["days"],
            attribution_days=form.cleaned_data["window"],
        )
    )
    return page(request, "dashboard/flow_report.html", context)
