"""Customer care: the ticket inbox with its SLA clocks, a ticket's conversation and reply,
the support settings and saved replies, and the CSAT figures."""

from django.contrib import messages as flash
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.views.paging import paginate, period_days
from aftercart.returns.queries import find_returns
from aftercart.support import queries, replies, services, sla
from aftercart.support.models import SavedReply, Ticket

VIEWS = {
    "open": gettext_lazy("To answer"),
    "overdue": gettext_lazy("Overdue"),
    "mine": gettext_lazy("Mine"),
    "waiting": gettext_lazy("Waiting on the customer"),
    "resolved": gettext_lazy("Resolved"),
}


@shop_page
def ticket_list(request, shop):
    counts = queries.counts(shop, request.user)
    view = request.GET.get("view", "")
    if view not in VIEWS:
        view = "overdue" if counts["overdue"] else "open"
    search = request.GET.get("q", "").strip()[:100]
    tickets = paginate(request, queries.inbox(shop, view, user=request.user, search=search))
    rows = [(ticket, *queries.clock(ticket)) for ticket in tickets]
    return page(
        request,
        "dashboard/tickets/list.html",
        {
            "view": view,
            "search": search,
            "tabs": [(key, label, counts[key]) for key, label in VIEWS.items()],
            "tickets": tickets,
            "rows": rows,
        },
    )


def _ticket(shop, pk: int) -> Ticket:
    ticket = queries.ticket_detail(shop, pk)
    if ticket is None:
        raise Http404
    return ticket


@shop_page
def ticket_page(request, shop, pk: int):
    ticket = _ticket(shop, pk)
    draft = ""
    saved = request.GET.get("saved", "")
    if saved.isdigit():
        found = SavedReply.objects.filter(shop=shop, pk=int(saved)).first()
        if found is not None:
            draft = replies.fill(found.body, ticket, agent=services.agent_name(request.user))
    state, due = queries.clock(ticket)
    others = Ticket.objects.filter(shop=shop, email=ticket.email).exclude(pk=ticket.pk)[:10]
    return page(
        request,
        "dashboard/tickets/detail.html",
        {
            "ticket": ticket,
            "conversation": list(ticket.messages.all()),
            "clock": state,
            "due": due,
            "draft": draft,
            "saved_replies": SavedReply.objects.filter(shop=shop),
            "others": others,
            "returns": find_returns(shop).filter(order_id=ticket.order_id)[:10]
            if ticket.order_id
            else [],
            "members": get_user_model().objects.filter(shops=shop).order_by("username"),
            "categories": Ticket.Category.choices,
            "priorities": Ticket.Priority.choices,
        },
    )


@shop_page
@require_POST
def ticket_act(request, shop, pk: int):
    ticket = _ticket(shop, pk)
    action = request.POST.get("action", "")
    try:
        if action in ("reply", "reply_resolve"):
            services.reply(
                ticket,
                request.POST.get("body", ""),
                agent=request.user,
                resolve=action == "reply_resolve",
            )
            flash.success(
                request, _("Your reply is on its way to %(email)s.") % {"email": ticket.email}
            )
        elif action == "note":
            services.add_note(ticket, request.POST.get("body", ""), agent=request.user)
        elif action in ("resolved", "closed", "open"):
            services.set_status(ticket, action, agent=request.user)
        elif action == "change":
            member = request.POST.get("assignee", "")
            assignee = (
                get_user_model().objects.filter(shops=shop, pk=int(member)).first()
                if member.isdigit()
                else None
            )
            services.change(
                ticket,
                category=request.POST.get("category", ""),
                priority=request.POST.get("priority", ""),
                assignee=assignee,
            )
        else:
            raise Http404
    except services.TicketProblem as problem:
        flash.error(request, str(problem))
    return redirect("dashboard:ticket", shop_slug=shop.slug, pk=ticket.pk)


@shop_page
def support_settings(request, shop):
    problem, new_secret, status = "", "", 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "hours":
                sla.save_settings(
                    shop,
                    {
                        "opening": {day: request.POST.get(f"day-{day}", "") for day in sla.DAYS},
                        "country": request.POST.get("country", ""),
                        "closed_days": request.POST.get("closed_days", "").split(),
                        "targets": {
                            priority: (
                                request.POST.get(f"first-{priority}", ""),
                                request.POST.get(f"resolve-{priority}", ""),
                            )
                            for priority in sla.TARGETS
                        },
                    },
                )
                flash.success(request, _("The business hours and targets are saved."))
                return redirect("dashboard:support-settings", shop_slug=shop.slug)
            if action == "secret":
                new_secret = services.new_inbound_secret(shop)
            elif action == "save_reply":
                replies.save_reply(
                    shop, request.POST.get("title", ""), request.POST.get("body", "")
                )
                return redirect("dashboard:support-settings", shop_slug=shop.slug)
            elif action == "delete_reply":
                replies.delete_reply(shop, int(request.POST.get("reply", "0") or 0))
                return redirect("dashboard:support-settings", shop_slug=shop.slug)
        except (sla.SettingsProblem, ValueError) as bad:
            problem, status = str(bad), 400
    current = sla.sla_for(shop)
    return page(
        request,
        "dashboard/tickets/settings.html",
        {
            "row": sla.stored_settings(shop),
            "zone_country": sla.holiday_country(
                shop, sla.stored_settings(shop).__class__(shop=shop)
            ),
            "opening": sla.opening_as_text(shop),
            "targets": [
                (
                    priority,
                    label,
                    current.targets[priority][0] / 60,
                    current.targets[priority][1] / 60,
                )
                for priority, label in Ticket.Priority.choices[::-1]
            ],
            "problem": problem,
            "posted": request.POST if problem else None,
            "new_secret": new_secret,
            "inbound_url": request.build_absolute_uri(f"/webhooks/inbound-mail/{shop.slug}"),
            "saved_replies": SavedReply.objects.filter(shop=shop),
            "placeholders": replies.PLACEHOLDERS,
        },
        status=status,
    )


@shop_page
def support_figures(request, shop):
    figures = queries.csat(shop, period_days(request))
    return page(request, "dashboard/tickets/figures.html", {"figures": figures})
