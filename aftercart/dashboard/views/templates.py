"""Email templates: each kind in each language, previewed with the shop's latest order."""

from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.messaging.kinds import KINDS
from aftercart.messaging.models import MessageTemplate
from aftercart.messaging.services import LANGUAGES, preview, send_test

# Each language in its own words, as a language switch shows them.
LANGUAGE_NAMES = {code: get_language_info(code)["name_local"] for code in LANGUAGES}


@shop_page
def template_list(request, shop):
    own = set(MessageTemplate.objects.filter(shop=shop).values_list("kind", "locale"))
    rows = [
        (spec, [(lang, LANGUAGE_NAMES[lang], (key, lang) in own) for lang in LANGUAGES])
        for key, spec in KINDS.items()
    ]
    return page(request, "dashboard/templates.html", {"rows": rows})


@shop_page
def template_page(request, shop, kind: str, locale: str):
    if kind not in KINDS or locale not in LANGUAGES:
        raise Http404
    context = {
        "spec": KINDS[kind],
        "locale": locale,
        "language_choices": [(lang, LANGUAGE_NAMES[lang]) for lang in LANGUAGES],
        "rendered": preview(shop, kind, locale),
        "own": MessageTemplate.objects.filter(shop=shop, kind=kind, locale=locale).exists(),
    }
    return page(request, "dashboard/template.html", context)


@shop_page
@require_POST
def template_test(request, shop, kind: str, locale: str):
    if kind not in KINDS or locale not in LANGUAGES:
        raise Http404
    if not request.user.email:
        flash.error(request, _("Your account has no email address to send the test to."))
    else:
        send_test(shop, kind, locale, request.user.email)
        flash.success(
            request, _("A test is on its way to %(email)s.") % {"email": request.user.email}
        )
    return redirect("dashboard:template", shop_slug=shop.slug, kind=kind, locale=locale)
