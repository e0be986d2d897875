"""The shop's flows: what each does, how many customers are in it; pause, edit, export,
import, and a backtest that replays past orders through a flow before it goes live."""

import json
from datetime import timedelta

from django.contrib import messages as flash
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.flow_forms import STARTER, BacktestForm, FlowImportForm
from aftercart.dashboard.views.flow_report import report_context
from aftercart.flows.backtest import backtest
from aftercart.flows.definitions import DefinitionError, parse
from aftercart.flows.models import Flow
from aftercart.flows.queries import flow_in_shop, flows_with_numbers, waiting_per_step
from aftercart.flows.services import save_flow, set_status
from aftercart.flows.transfer import TransferError, export_flow, import_flow, read_flow

BACKTEST_DAYS = 90  # the period a backtest page opens with


@shop_page
def flow_list(request, shop):
    return page(request, "dashboard/flows.html", {"flows": flows_with_numbers(shop)})


def _shop_flow(shop, pk: int) -> Flow:
    flow = flow_in_shop(shop, pk)
    if flow is None:
        raise Http404
    return flow


@shop_page
def flow_page(request, shop, pk: int):
    flow = _shop_flow(shop, pk)
    text = json.dumps(flow.version.definition, indent=2, ensure_ascii=False)
    problem = ""
    if request.method == "POST":
        text = request.POST.get("definition", "")
        try:
            _key, definition = read_flow(text)  # the key is this flow's, whatever the text says
        except TransferError as exc:
            if text.lstrip().startswith("{"):
                problem = _("Not valid JSON: %(error)s") % {"error": exc}
            else:
                problem = _("Not valid YAML: %(error)s") % {"error": exc}
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
        **report_context(flow),
    }
    return page(request, "dashboard/flow.html", context, status=400 if problem else 200)


@shop_page
@require_POST
def flow_status(request, shop, pk: int):
    flow = _shop_flow(shop, pk)
    paused = request.POST.get("status") == Flow.Status.PAUSED
    set_status(flow, Flow.Status.PAUSED if paused else Flow.Status.ACTIVE)
    flash.success(request, _("The flow is paused.") if paused else _("The flow runs again."))
    return redirect("dashboard:flow", shop_slug=shop.slug, pk=flow.pk)


@shop_page
def flow_export(request, shop, pk: int):
    flow = _shop_flow(shop, pk)
    fmt = "yaml" if request.GET.get("format") == "yaml" else "json"
    kind = "application/yaml" if fmt == "yaml" else "application/json"
    response = HttpResponse(export_flow(flow, fmt), content_type=f"{kind}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="flow-{flow.key}.{fmt}"'
    return response


@shop_page
def flow_new(request, shop):
    """A new flow, written here or imported (pasted or uploaded); nothing is saved while
    anything in it is wrong, and the problem is shown next to the text."""
    importing = request.GET.get("import") == "1"
    form = FlowImportForm(
        request.POST or None,
        request.FILES or None,
        initial={"definition": "" if importing else STARTER},
    )
    problem, text = "", None
    if form.is_bound and form.is_valid():
        text = form.cleaned_data["text"]
        try:
            flow = import_flow(
                shop,
                text,
                key=form.cleaned_data["key"],
                fmt=form.text_format(),
            )
        except (TransferError, DefinitionError) as exc:
            problem = str(exc)
        else:
            number = flow.version.number
            flash.success(
                request,
                _("Created the flow.")
                if number == 1
                else _("Saved as version %(n)s. Customers already in the flow finish on theirs.")
                % {"n": number},
            )
            return redirect("dashboard:flow", shop_slug=shop.slug, pk=flow.pk)
    failed = bool(problem or form.errors)
    if isinstance(text, bytes):  # an uploaded file: shown in the text box, to be fixed there
        text = text.decode("utf-8", "replace")
    context = {"form": form, "problem": problem, "importing": importing, "text": text}
    return page(request, "dashboard/flow_new.html", context, status=400 if failed else 200)


@shop_page
def flow_backtest(request, shop, pk: int):
    """Replay past orders through the flow (GET, with `since`) or through an edit of it not
    saved yet (POST from the flow page, with `definition`). Sends and saves nothing."""
    flow = _shop_flow(shop, pk)
    today = timezone.localdate()
    data = request.POST if request.method == "POST" else request.GET
    default = {"since": today - timedelta(days=BACKTEST_DAYS)}
    bound = request.method == "POST" or "since" in data
    form = BacktestForm({**default, **data.dict()} if bound else None, initial=default, today=today)
    edit = request.POST.get("definition", "") if request.method == "POST" else ""
    report, problem = None, ""
    if bound and form.is_valid():
        try:
            definition = read_flow(edit)[1] if edit.strip() else None
            report = backtest(shop, form.start(shop.timezone), flow=flow, definition=definition)
        except (TransferError, DefinitionError, ValueError) as exc:
            problem = str(exc)
    context = {
        "flow": flow,
        "form": form,
        "edit": edit,
        "report": report,
        "problem": problem,
        "chart": _week_bars(report.weeks) if report else None,
    }
    failed = bool(problem or form.errors)
    return page(request, "dashboard/flow_backtest.html", context, status=400 if failed else 200)


def _week_bars(weeks: list[tuple[str, int]]) -> dict:
    """An SVG bar per week, in viewBox units (the SVG scales to the page's width)."""
    width, height, gap = 12, 100, 2
    most = max((n for _, n in weeks), default=0)
    bars = []
    for i, (week, n) in enumerate(weeks):
        h = round(n / most * height, 1) if most else 0
        bars.append({"week": week, "n": n, "x": i * width, "y": height - h, "h": h})
    return {
        "bars": bars,
        "most": most,
        "width": max(len(weeks) * width, width),
        "height": height,
        "bar_width": width - gap,
        "first": weeks[0][0] if weeks else "",
        "last": weeks[-1][0] if weeks else "",
    }
