"""Returns: the queue an agent works through, one return and its steps, the policy, and
what the returns say about the products."""

import json

from django.contrib import messages as flash
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.views.paging import paginate, period_days
from aftercart.returns import insights, policies, queries, services, settlements
from aftercart.returns.models import ReturnPhoto, ReturnRequest, Settlement
from aftercart.returns.policies import (
    PolicyProblem,
    policy_for,
    reason_labels,
    save_policy,
    stored_policy,
)
from aftercart.returns.steps import STEPS, take_step

# The queue's tabs: what an agent has to do next, in the order it comes.
VIEWS = {
    "review": (gettext_lazy("To approve"), [ReturnRequest.Status.REQUESTED]),
    "coming": (
        gettext_lazy("On their way"),
        [ReturnRequest.Status.APPROVED, ReturnRequest.Status.IN_TRANSIT],
    ),
    "settle": (
        gettext_lazy("To settle"),
        [ReturnRequest.Status.RECEIVED, ReturnRequest.Status.INSPECTED],
    ),
    "done": (
        gettext_lazy("Done"),
        [
            ReturnRequest.Status.COMPLETED,
            ReturnRequest.Status.REJECTED,
            ReturnRequest.Status.CANCELLED,
        ],
    ),
}


def _by(request) -> str:
    return request.user.get_username()


@shop_page
def return_list(request, shop):
    counts = queries.counts_by_status(shop)
    view = request.GET.get("view", "")
    if view not in VIEWS:
        view = "review" if counts.get("requested") else "settle"
    search = request.GET.get("q", "").strip()[:100]
    returns = queries.find_returns(shop, search=search)
    if not search:
        returns = returns.filter(status__in=VIEWS[view][1])
    tabs = [
        (key, label, sum(counts.get(s, 0) for s in statuses))
        for key, (label, statuses) in VIEWS.items()
    ]
    shown = paginate(request, returns.prefetch_related("lines"))
    _name_reasons(shop, shown)
    return page(
        request,
        "dashboard/returns/list.html",
        {
            "view": view,
            "tabs": tabs,
            "search": search,
            "returns": shown,
            "to_do_by_hand": Settlement.objects.filter(
                shop=shop, status__in=[Settlement.Status.MANUAL, Settlement.Status.FAILED]
            ).count(),
        },
    )


@shop_page
@require_POST
def return_bulk(request, shop):
    """Approve, or mark received, the returns ticked in the queue."""
    action = request.POST.get("action")
    ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
    done, problems = 0, []
    for ret in queries.find_returns(shop).filter(pk__in=ids):
        try:
            if action == "approve":
                services.approve_return(ret, by=_by(request))
            elif action == "receive":
                services.receive_return(ret, by=_by(request))
            else:
                raise Http404
            done += 1
        except services.ReturnProblem as problem:
            problems.append(str(problem))
    if done:
        flash.success(
            request, ngettext("%(n)d return updated.", "%(n)d returns updated.", done) % {"n": done}
        )
    for problem in problems:
        flash.error(request, problem)
    return redirect(
        reverse("dashboard:returns", kwargs={"shop_slug": shop.slug})
        + "?view="
        + request.POST.get("view", "review")
    )


def _return(shop, pk: int) -> ReturnRequest:
    ret = queries.return_detail(shop, pk)
    if ret is None:
        raise Http404
    _name_reasons(shop, [ret])
    return ret


def _name_reasons(shop, returns) -> None:
    """Each return's reason in the dashboard's language (she may have read it in hers)."""
    words = reason_labels(shop)
    for ret in returns:
        ret.reason_shown = words.get(ret.reason, ret.reason_label)


@shop_page
def return_page(request, shop, pk: int):
    ret = _return(shop, pk)
    lines = list(ret.lines.all())
    return page(
        request,
        "dashboard/returns/detail.html",
        {
            "ret": ret,
            "lines": lines,
            "settlements": _settlements_shown(ret, lines),
            "photos": list(ret.photos.values_list("pk", "width", "height")),
            "to_settle": [
                (line, line.received_quantity - line.refunded_quantity) for line in lines
            ],
            "can_settle": any(ln.received_quantity > ln.refunded_quantity for ln in lines),
            "earlier": queries.find_returns(shop)
            .filter(order__email=ret.order.email)
            .exclude(pk=ret.pk)[:10]
            if ret.order.email
            else [],
        },
    )


def _settlements_shown(ret, lines) -> list:
    """Each settlement with its items by name (it keeps the store's line ids)."""
    titles = {line.line_external_id: line.title for line in lines}
    shown = list(ret.settlements.all())
    for settlement in shown:
        settlement.shown = [
            (
                item["quantity"],
                titles.get(item["line"], item["line"])
                + (f" → {item['variant_title']}" if item.get("variant_title") else ""),
            )
            for item in settlement.items
        ]
    return shown


@shop_page
def return_photo(request, shop, pk: int, photo: int):
    found = ReturnPhoto.objects.filter(pk=photo, request_id=pk, request__shop=shop).first()
    if found is None:
        raise Http404
    response = HttpResponse(bytes(found.image), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _quantities(request, prefix: str) -> dict[int, int]:
    found = {}
    for name, value in request.POST.items():
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            try:
                found[int(name[len(prefix) :])] = int(value or 0)
            except ValueError:
                raise services.ReturnProblem(f"{name}: {value!r} is not a number") from None
    return found


@shop_page
@require_POST
def return_act(request, shop, pk: int):
    """One step of the return, as the agent chose it on its page."""
    ret = _return(shop, pk)
    action, by = request.POST.get("action", ""), _by(request)
    try:
        if action == "settled":  # done by hand in the store: a step of its settlement
            settlement = ret.settlements.filter(pk=request.POST.get("settlement") or 0).first()
            if settlement is None:
                raise Http404
            settlements.settlement_done(
                settlement, by=by, external_id=request.POST.get("external_id", "").strip()
            )
        elif action in STEPS:
            take_step(
                ret,
                action,
                by=by,
                reason=request.POST.get("reason", ""),
                note=request.POST.get("note", ""),
                quantities=_quantities(request, "received-" if action == "receive" else "settle-"),
                refund_shipping=request.POST.get("refund_shipping") == "yes",
            )
        else:
            raise Http404
    except services.ReturnProblem as problem:
        flash.error(request, str(problem))
    else:
        flash.success(request, _("Return %(number)s: done.") % {"number": ret.number})
    return redirect("dashboard:return", shop_slug=shop.slug, pk=ret.pk)


@shop_page
def return_policy(request, shop):
    problem, status = "", 200
    if request.method == "POST":
        data = {name: request.POST.get(name, "") for name in policies.FIELDS}
        try:
            for name in policies.LISTS:
                text = request.POST.get(name, "").strip()
                try:
                    data[name] = json.loads(text) if text else []
                except json.JSONDecodeError as bad:
                    raise PolicyProblem(
                        f"{name}: not JSON (line {bad.lineno}, column {bad.colno}: {bad.msg})"
                    ) from None
            save_policy(shop, data)
        except PolicyProblem as bad:
            problem, status = str(bad), 400
        else:
            flash.success(request, _("The return policy is saved."))
            return redirect("dashboard:return-policy", shop_slug=shop.slug)
    policy = policy_for(shop)
    return page(
        request,
        "dashboard/returns/policy.html",
        {
            "row": stored_policy(shop),
            "problem": problem,
            "posted": request.POST if problem else None,
            "reasons_json": json.dumps(
                stored_policy(shop).reasons or [], indent=2, ensure_ascii=False
            ),
            "exclusions_json": json.dumps(
                stored_policy(shop).exclusions or [], indent=2, ensure_ascii=False
            ),
            "reasons": policy.reasons,
        },
        status=status,
    )


@shop_page
def return_insights(request, shop):
    summary = insights.summary(shop, period_days(request))
    return page(request, "dashboard/returns/insights.html", {"summary": summary})
