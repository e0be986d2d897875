"""The customer's returns pages: start a return from her order's page, follow it, get its label.

Starting a return takes two steps and works without JavaScript: she chooses the items,
a reason and what she would like back; the next page shows the verdict and the amounts
before she confirms (and asks for photos when the reason needs them). The order's signed
status link is her key to the form; each return then has a signed link of its own.
"""

import secrets

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from aftercart.core.models import Shop
from aftercart.customers.models import Customer
from aftercart.messaging.services import message_locale
from aftercart.orders.links import LinkExpired, read_status_token, status_url
from aftercart.orders.queries import order_with_items
from aftercart.portal.pages import plain_page, shop_page
from aftercart.returns import labels, queries, services
from aftercart.returns.links import read_return_token, return_token
from aftercart.returns.photos import MAX_BYTES, MAX_PHOTOS, PhotoProblem
from aftercart.returns.policies import policy_for, reason_label, stored_policy
from aftercart.returns.policy import (
    RESOLUTION_LABELS,
    Decision,
    RequestProblem,
    Resolution,
    never_returnable,
)


def order_from_token(token: str):
    """(shop, order, language) from an order's status link, or None."""
    try:
        found = read_status_token(token)
    except LinkExpired:
        return None
    if found is None:
        return None
    shop = Shop.objects.filter(pk=found[0]).first()
    order = order_with_items(shop, found[1]) if shop else None
    if order is None:
        return None
    language = message_locale(shop, order.customer, order.locale)
    return shop, order, language


def _ask(request: HttpRequest, order) -> services.ReturnAsk:
    quantities = {}
    for line in order.lines.all():
        raw = request.POST.get(f"qty-{line.pk}", "0").strip() or "0"
        try:
            quantities[line.pk] = max(0, min(int(raw), line.quantity))
        except ValueError:
            quantities[line.pk] = 0
    photos = [(f.name, f.read()) for f in request.FILES.getlist("photos")[: MAX_PHOTOS + 1]]
    return services.ReturnAsk(
        quantities=quantities,
        reason=request.POST.get("reason", ""),
        resolution=request.POST.get("resolution", Resolution.REFUND),
        comment=request.POST.get("comment", "")[:5000],
        exchange_for=request.POST.get("exchange_for", "")[:255],
        photos=photos,
        request_key=request.POST.get("key", "")[:64],
        exchange_variants={
            line.pk: request.POST.get(f"exchange-{line.pk}", "")[:100]
            for line in order.lines.all()
            if request.POST.get(f"exchange-{line.pk}")
        },
    )


def _form_context(shop, order, ask=None, **more) -> dict:
    policy = policy_for(shop)
    items = {item.line_id: item for item in queries.returnable_items(order)}
    # (line, item, why it can never come back): such a line is shown, not offered.
    lines = [
        (line, items[line.pk], never_returnable(policy, items[line.pk]))
        for line in order.lines.all()
    ]
    return {
        "order": order,
        "lines": lines,
        "reasons": policy.reasons,
        "resolutions": [(r.value, RESOLUTION_LABELS[r]) for r in Resolution],
        "ask": ask,
        "window_days": policy.window_days,
        "max_photos": MAX_PHOTOS,
        "max_mb": MAX_BYTES // 2**20,
        "nothing_left": not any(item.returnable_quantity and not why for _, item, why in lines),
        "exchange_options": queries.exchange_options(order),
        **more,
    }


@csrf_protect
@require_http_methods(["GET", "POST"])
def start_return(request: HttpRequest, token: str) -> HttpResponse:
    found = order_from_token(token)
    if found is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop, order, language = found
    with translation.override(language):
        if request.method == "GET":
            return shop_page(
                request, "portal/return_form.html", shop, language, token=token,
                **_form_context(shop, order),
            )  # fmt: skip
        ask = _ask(request, order)
        step = request.POST.get("step")
        if step == "confirm":
            return _confirm(request, token, shop, order, language, ask)
        if step == "edit":  # back from the check, with everything she chose
            return shop_page(
                request, "portal/return_form.html", shop, language, token=token,
                **_form_context(shop, order, ask),
            )  # fmt: skip
        return _check(request, token, shop, order, language, ask)


def _check(request, token, shop, order, language, ask, problem: str = "") -> HttpResponse:
    """Step one sent: the verdict and the amounts, photos asked for when needed. Again,
    with `problem`, when a photo she added at the confirmation could not be kept."""
    reason = policy_for(shop).reason(ask.reason)
    # Photos come with the confirmation; judged as if the ones the reason needs are there.
    judged = services.ReturnAsk(**{**ask.__dict__, "photos": [("", b"")] if reason else []})
    try:
        verdict = services.preview_return(shop, order, judged)
    except (RequestProblem, services.ReturnProblem) as problem:
        return _form_again(request, token, shop, order, language, ask, [str(problem)])
    if verdict.decision == Decision.REJECTED:
        return _form_again(request, token, shop, order, language, ask, verdict.reasons)
    return shop_page(
        request,
        "portal/return_check.html",
        shop,
        language,
        token=token,
        order=order,
        ask=ask,
        reason=reason,
        verdict=verdict,
        review=verdict.decision == Decision.REVIEW,
        key=secrets.token_urlsafe(24),
        max_photos=MAX_PHOTOS,
        max_mb=MAX_BYTES // 2**20,
        resolution_label=RESOLUTION_LABELS[verdict.resolution],
        exchange_titles=_exchange_titles(order, ask),
        problem=problem,
        status=400 if problem else 200,
    )


def _exchange_titles(order, ask) -> dict[int, str]:
    """What she chose to get instead, per line, by name (for the check page)."""
    options = queries.exchange_options(order)
    return {
        line_id: dict(options.get(line_id, [])).get(variant, "")
        for line_id, variant in ask.exchange_variants.items()
    }


def _form_again(request, token, shop, order, language, ask, problems) -> HttpResponse:
    if problems and "choose at least one item" in problems[0]:
        problems = [translation.gettext("Choose at least one item to return.")]
    return shop_page(
        request,
        "portal/return_form.html",
        shop,
        language,
        status=400,
        token=token,
        problems=problems,
        **_form_context(shop, order, ask),
    )


def _confirm(request, token, shop, order, language, ask) -> HttpResponse:
    reason = policy_for(shop).reason(ask.reason)
    if reason is not None and reason.needs_photo and not ask.photos:
        problem = translation.gettext("Please add a photo that shows the problem.")
        return _check(request, token, shop, order, language, ask, problem=problem)
    try:
        ret = services.request_return(shop, order, ask, source="portal", by=order.email)
    except services.ReturnRefused as refused:
        return _form_again(request, token, shop, order, language, ask, refused.verdict.reasons)
    except PhotoProblem as problem:  # back to the page that asked for the photo
        return _check(request, token, shop, order, language, ask, problem=str(problem))
    except (RequestProblem, services.ReturnProblem) as problem:
        return _form_again(request, token, shop, order, language, ask, [str(problem)])
    # After a POST, a page she can reload and bookmark: her return's own.
    return HttpResponseRedirect(_return_path(shop.pk, ret.pk))


def _return_path(shop_id: int, return_id: int) -> str:
    return reverse("portal:return", args=[return_token(shop_id, return_id)])


def _return(token: str):
    found = read_return_token(token)
    if found is None:
        return None
    shop = Shop.objects.filter(pk=found[0]).first()
    ret = queries.return_detail(shop, found[1]) if shop else None
    return (shop, ret) if ret else None


@csrf_protect
@require_http_methods(["GET", "POST"])
def return_page(request: HttpRequest, token: str) -> HttpResponse:
    found = _return(token)
    if found is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop, ret = found
    customer = ret.customer or Customer(locale=ret.locale)
    language = message_locale(shop, customer, ret.locale or ret.order.locale)
    done = ""
    with translation.override(language):
        if request.method == "POST":
            try:
                if request.POST.get("action") == "sent":
                    services.mark_shipped_back(
                        ret, by="customer", tracking_number=request.POST.get("tracking", "")
                    )
                    done = "sent"
                elif request.POST.get("action") == "cancel":
                    services.cancel_return(ret, by="customer", by_customer=True)
                    done = "cancelled"
            except services.ReturnProblem:
                done = "too_late"
            ret = queries.return_detail(shop, ret.pk)
        return shop_page(
            request,
            "portal/return.html",
            shop,
            language,
            ret=ret,
            token=token,
            done=done,
            steps=_steps(ret),
            label=ret.status in labels.LABEL_STATES,
            reason=reason_label(shop, ret.reason, ret.reason_label),
            order_url=status_url(shop.pk, ret.order_id),
            policy=stored_policy(shop),
        )


def _steps(ret) -> list[tuple[str, bool]]:
    S = ret.Status
    if ret.status in (S.REJECTED, S.CANCELLED):
        return []
    order = [S.REQUESTED, S.APPROVED, S.IN_TRANSIT, S.RECEIVED, S.COMPLETED]
    reached = order.index(S.RECEIVED if ret.status == S.INSPECTED else ret.status)
    labels_ = [
        translation.gettext("Asked for"),
        translation.gettext("Approved"),
        translation.gettext("On its way back"),
        translation.gettext("Received"),
        translation.gettext("Completed"),
    ]
    return [(label, i <= reached) for i, label in enumerate(labels_)]


@require_http_methods(["GET"])
def return_label(request: HttpRequest, token: str) -> HttpResponse:
    found = _return(token)
    if found is None:
        return plain_page(request, "portal/invalid_link.html", None, status=404)
    shop, ret = found
    if ret.status not in labels.LABEL_STATES:
        return plain_page(request, "portal/invalid_link.html", shop, status=404)
    language = message_locale(shop, ret.customer, ret.locale or ret.order.locale)
    with translation.override(language):
        pdf = labels.label_pdf(shop, ret)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="return-{ret.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def status_page_actions(shop_id: int, order, token: str) -> list[tuple[str, str]]:
    """On the order's page: her returns, and a way to start one once something was sent.
    (An order not sent yet has no returns: nothing is read for it.)"""
    sent = order.fulfilment_status in ("partial", "fulfilled", "delivered")
    if not sent:
        return []
    actions = [
        (
            translation.gettext("Return %(number)s: %(status)s")
            % {"number": number, "status": label.lower()},
            _return_path(shop_id, pk),
        )
        for pk, number, label in queries.order_returns_brief(shop_id, order.id)
    ]
    if order.cancelled_at is None:
        actions.append(
            (
                translation.gettext("Return or exchange items"),
                reverse("portal:start_return", args=[token]),
            )
        )
    return actions
