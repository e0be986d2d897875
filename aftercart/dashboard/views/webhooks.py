"""Outgoing webhooks: the shop's endpoints, their secret, and every delivery with its attempts."""

import json

from django import forms
from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.views.paging import paginate
from aftercart.webhooks import queries, services
from aftercart.webhooks.event_types import EVENT_TYPES
from aftercart.webhooks.models import Delivery

GROUPS = [
    ("*", gettext_lazy("Every event")),
    ("order.*", gettext_lazy("Every order event")),
    ("shipment.*", gettext_lazy("Every shipment event")),
    ("customer.*", gettext_lazy("Every customer event")),
    ("message.*", gettext_lazy("Every email event")),
]
OFFERED = [*GROUPS, *EVENT_TYPES.items()]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description (for you)"), max_length=200, required=False
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events to send"),
        choices=OFFERED,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    more = forms.CharField(
        label=gettext_lazy("Other event types (optional, separated by commas)"),
        required=False,
        max_length=500,
    )

    @classmethod
    def for_endpoint(cls, endpoint) -> "EndpointForm":
        offered = {key for key, _label in OFFERED}
        return cls(
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "events": [t for t in endpoint.event_types if t in offered],
                "more": ", ".join(t for t in endpoint.event_types if t not in offered),
            }
        )

    def chosen(self) -> str:
        return ", ".join([*self.cleaned_data["events"], self.cleaned_data["more"]])

    def show(self, problem: services.InvalidEndpoint) -> None:
        for field, message in problem.problems.items():
            self.add_error("more" if field == "event_types" else field, message)


def _endpoint_or_404(shop, pk: int):
    endpoint = queries.endpoint_in_shop(shop, pk)
    if endpoint is None:
        raise Http404("No such endpoint")
    return endpoint


@shop_page
def endpoint_list(request, shop):
    return page(request, "dashboard/webhooks.html", {"rows": queries.endpoints_with_rates(shop)})


@shop_page
@require_http_methods(["GET", "POST"])
def endpoint_new(request, shop):
    form = EndpointForm(request.POST or None, initial={"events": ["order.*"]})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            endpoint = services.create_endpoint(shop, d["url"], form.chosen(), d["description"])
        except services.InvalidEndpoint as problem:
            form.show(problem)
        else:
            flash.success(request, _("The endpoint is added. Copy its signing secret below."))
            return redirect("dashboard:webhook", shop_slug=shop.slug, pk=endpoint.pk)
    status = 400 if form.errors else 200
    return page(request, "dashboard/webhooks_form.html", {"form": form}, status=status)


@shop_page
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, shop, pk: int):
    endpoint = _endpoint_or_404(shop, pk)
    form = EndpointForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid():
        d = form.cleaned_data
        try:
            services.update_endpoint(endpoint, d["url"], form.chosen(), d["description"])
        except services.InvalidEndpoint as problem:
            form.show(problem)
        else:
            flash.success(request, _("The endpoint is saved."))
            return redirect("dashboard:webhook", shop_slug=shop.slug, pk=endpoint.pk)
    form = form or EndpointForm.for_endpoint(endpoint)
    context = {"form": form, "endpoint": endpoint}
    return page(
        request, "dashboard/webhooks_form.html", context, status=400 if form.errors else 200
    )


@shop_page
def endpoint_page(request, shop, pk: int):
    endpoint = _endpoint_or_404(shop, pk)
    status = request.GET.get("status", "")
    if status not in Delivery.Status.values:
        status = ""
    counts = queries.delivery_counts(endpoint)
    context = {
        "endpoint": endpoint,
        "deliveries": paginate(request, queries.deliveries(endpoint, status=status)),
        "status": status,
        "statuses": [(s.value, s.label, counts.get(s.value, 0)) for s in Delivery.Status],
        "total": sum(counts.values()),
    }
    return page(request, "dashboard/webhooks_endpoint.html", context)


@shop_page
@require_POST
def endpoint_status(request, shop, pk: int):
    endpoint = _endpoint_or_404(shop, pk)
    active = request.POST.get("active") == "yes"
    services.set_active(
        endpoint,
        active,
        reason=_("Switched off by %(user)s.") % {"user": request.user.get_username()},
    )
    flash.success(
        request,
        _("The endpoint is on: waiting deliveries go out now.")
        if active
        else _("The endpoint is off: new events wait until you switch it on again."),
    )
    return redirect("dashboard:webhook", shop_slug=shop.slug, pk=endpoint.pk)


@shop_page
@require_POST
def endpoint_rotate(request, shop, pk: int):
    endpoint = _endpoint_or_404(shop, pk)
    services.rotate_secret(endpoint)
    flash.success(
        request,
        _(
            "A new signing secret. For the next 24 hours the old one signs too: update your receiver."
        ),
    )
    return redirect("dashboard:webhook", shop_slug=shop.slug, pk=endpoint.pk)


@shop_page
@require_POST
def endpoint_test(request, shop, pk: int):
    endpoint = _endpoint_or_404(shop, pk)
    delivery = services.send_test_event(endpoint)
    _say_how_it_went(request, delivery)
    return redirect("dashboard:webhook-delivery", shop_slug=shop.slug, pk=pk, delivery=delivery.pk)


@shop_page
@require_http_methods(["GET", "POST"])
def endpoint_delete(request, shop, pk: int):
    endpoint = _endpoint_or_404(shop, pk)
    if request.method == "POST":
        services.delete_endpoint(endpoint)
        flash.success(request, _("The endpoint and its delivery log are deleted."))
        return redirect("dashboard:webhooks", shop_slug=shop.slug)
    return page(request, "dashboard/webhooks_delete.html", {"endpoint": endpoint})


@shop_page
def delivery_page(request, shop, pk: int, delivery: int):
    found = queries.delivery_in_shop(shop, pk, delivery)
    if found is None:
        raise Http404("No such delivery")
    context = {
        "endpoint": found.endpoint,
        "delivery": found,
        "payload": json.dumps(found.payload, indent=2, ensure_ascii=False),
        "attempts": list(found.attempt_log.all()),
    }
    return page(request, "dashboard/webhooks_delivery.html", context)


@shop_page
@require_POST
def delivery_resend(request, shop, pk: int, delivery: int):
    found = queries.delivery_in_shop(shop, pk, delivery)
    if found is None:
        raise Http404("No such delivery")
    _say_how_it_went(request, services.resend(found))
    return redirect("dashboard:webhook-delivery", shop_slug=shop.slug, pk=pk, delivery=found.pk)


def _say_how_it_went(request, delivery: Delivery) -> None:
    if delivery.sending_since:
        flash.info(request, _("A worker is sending it right now: reload the page in a moment."))
    elif delivery.status == Delivery.Status.SUCCEEDED:
        flash.success(request, _("Delivered: HTTP %(code)s.") % {"code": delivery.last_status_code})
    else:
        code = delivery.last_status_code
        error = delivery.error or (f"HTTP {code}" if code else _("no answer"))
        flash.error(request, _("Not delivered: %(error)s") % {"error": error})
