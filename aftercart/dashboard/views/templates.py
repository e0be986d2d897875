"""Email templates: each kind in each language, previewed with the shop's latest order."""

from django.contrib import messages as flash
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercart.dashboard.access import page, shop_page
from aftercart.messaging.editing import draft, reset_template, save_template, try_out
from aftercart.messaging.kinds import KINDS
from aftercart.messaging.models import MessageTemplate
from aftercart.messaging.rendering import Source, TemplateProblem
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
    """The email previewed; below it, its text to edit. "Preview" shows an edit without
    saving it; "Save" keeps it as a new version; "Back to the default" drops the shop's own."""
    if kind not in KINDS or locale not in LANGUAGES:
        raise Http404
    text, problem, rendered = draft(shop, kind, locale), "", None
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "reset":
        if reset_template(shop, kind, locale):
            flash.success(request, _("Back to Aftercart's default text."))
        return redirect("dashboard:template", shop_slug=shop.slug, kind=kind, locale=locale)
    if action in ("preview", "save"):
        text = Source(
            request.POST.get("subject", ""),
            request.POST.get("preheader", ""),
            request.POST.get("body", ""),
            locale,
            "draft",
        )
        try:
            if action == "save":
                saved = save_template(shop, kind, locale, text)
                flash.success(
                    request,
                    _("Saved as version %(n)s. Emails not sent yet go out with this text.")
                    % {"n": saved.version},
                )
                return redirect("dashboard:template", shop_slug=shop.slug, kind=kind, locale=locale)
            rendered = try_out(shop, kind, locale, text)
        except TemplateProblem as exc:
            problem = str(exc)
    else:
        rendered = preview(shop, kind, locale)
    context = {
        "spec": KINDS[kind],
        "locale": locale,
        "language_choices": [(lang, LANGUAGE_NAMES[lang]) for lang in LANGUAGES],
        "rendered": rendered,
        "draft": text,
        "is_draft": action == "preview" and not problem,
        "problem": problem,
        "own": MessageTemplate.objects.filter(shop=shop, kind=kind, locale=locale).exists(),
    }
    return page(request, "dashboard/template.html", context, status=400 if problem else 200)


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
