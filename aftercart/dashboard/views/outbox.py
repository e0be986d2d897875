"""Every email the shop sent, is about to send, or held back, and why: readable as sent."""

from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.dashboard.views.paging import paginate
from aftercart.messaging.kinds import KINDS
from aftercart.messaging.models import Message
from aftercart.messaging.queries import message_counts, message_in_shop, recent_messages
from aftercart.messaging.services import settle_stuck, stuck_messages


@shop_page
def outbox(request, shop):
    status = request.GET.get("status", "")
    if status not in Message.Status.values:
        status = ""
    kind = request.GET.get("kind", "")
    if kind not in KINDS:
        kind = ""
    counts = message_counts(shop)
    context = {
        "emails": paginate(request, recent_messages(shop, status=status, kind=kind)),
        "status": status,
        "kind": kind,
        "kinds": KINDS,
        "statuses": [(s.value, s.label, counts.get(s.value, 0)) for s in Message.Status],
        "total": sum(counts.values()),
        "stuck": list(stuck_messages(shop)),
    }
    return page(request, "dashboard/outbox.html", context)


@shop_page
def message_page(request, shop, pk: int):
    message = message_in_shop(shop, pk)
    if message is None:
        raise Http404
    context = {"email": message, "kind": KINDS.get(message.kind), "stuck": _is_stuck(shop, message)}
    return page(request, "dashboard/message.html", context)


@shop_page
@require_POST
def message_settle(request, shop, pk: int):
    message = message_in_shop(shop, pk)
    if message is None or not _is_stuck(shop, message):
        raise Http404
    send_again = request.POST.get("decision") == "send-again"
    settle_stuck(message, send_again=send_again)
    flash.success(
        request,
        _("The email will be sent again.") if send_again else _("The email is marked as sent."),
    )
    return redirect("dashboard:message", shop_slug=shop.slug, pk=message.pk)


def _is_stuck(shop, message: Message) -> bool:
    return stuck_messages(shop).filter(pk=message.pk).exists()
