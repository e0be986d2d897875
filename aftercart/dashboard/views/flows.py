"""The shop's flows: what each does, how many customers are in it; pause, edit, export."""

import json

from django.contrib import messages as flash
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.flows.definitions import DefinitionError, parse
from aftercart.flows.models import Flow
from aftercart.flows.queries import flow_in_shop, flows_with_numbers, waiting_per_step
from aftercart.flows.services import save_flow, set_status


@shop_page
def flow_list(request, shop):
    return page(request, "dashboard/flows.html", {"flows": flows_with_numbers(shop)})


@shop_page
def flow_page(request, shop, pk: int):
    flow = flow_in_shop(shop, pk)
    if flow is None:
        raise Http404
    text = json.dumps(flow.version.definition, indent=2, ensure_ascii=False)
    problem = ""
    if request.method == "POST":
        text = request.POST.get("definition", "")
        try:
            definition = json.loads(text)
            parse(definition)
        except json.JSONDecodeError as exc:
            problem = _("Not valid JSON: %(error)s") % {"error": f"{exc.msg} (line {exc.lineno})"}
        except DefinitionError as exc:
            problem = str(exc)
        else:
            flow = save_flow(shop, flow.key, definition)
            flash.success(
                request,
                _("Saved as version %(n)s. Customers already in the flow finish on theirs.")
                % {"n": flow.version.number},
            )
            return redirect("dashboard:flow", shop_slug=shop.slug, pk=flow.pk)
    definition = parse(flow.version.definition)
    waiting = waiting_per_step(flow)
    context = {
        "flow": flow,
        "definition": definition,
        "steps": [(n, step, waiting.get(n, 0)) for n, step in enumerate(definition.steps)],
        "text": text,
        "problem": problem,
    }
    return page(request, "dashboard/flow.html", context, status=400 if problem else 200)


@shop_page
@require_POST
def flow_status(request, shop, pk: int):
    flow = flow_in_shop(shop, pk)
    if flow is None:
        raise Http404
    paused = request.POST.get("status") == Flow.Status.PAUSED
    set_status(flow, Flow.Status.PAUSED if paused else Flow.Status.ACTIVE)
    flash.success(request, _("The flow is paused.") if paused else _("The flow runs again."))
    return redirect("dashboard:flow", shop_slug=shop.slug, pk=flow.pk)


@shop_page
def flow_export(request, shop, pk: int):
    flow = flow_in_shop(shop, pk)
    if flow is None:
        raise Http404
    body = json.dumps({"key": flow.key, **flow.version.definition}, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="flow-{flow.key}.json"'
    return response
