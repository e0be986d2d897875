"""A shop's own email templates: edited in the dashboard, previewed before they are saved.

Saving is refused with the reason when the text would not compile or render (with the
shop's latest order), so a mistake never reaches a customer. Each save is a new version;
messages render when they are sent, so queued ones pick the new text up.
"""

import re

from django.db import transaction

from aftercart.core.models import Shop
from aftercart.messaging.kinds import kind as kind_of
from aftercart.messaging.models import MessageTemplate
from aftercart.messaging.rendering import Rendered, Source, TemplateProblem, check, read_default
from aftercart.messaging.services import LANGUAGES, preview, source

# Tags that have no place in an email: {% debug %} prints everything the template sees,
# {% load %} would reach for tag libraries beyond ours.
_REFUSED = re.compile(r"{%\s*(debug|load|include|extends|ssi)\b")
LIMIT = 100_000  # characters of MJML: a long email is a few thousand


def draft(shop: Shop, kind: str, locale: str) -> Source:
    """What the editor starts with: the shop's own text, else Aftercart's default."""
    _check_names(kind, locale)
    own = MessageTemplate.objects.filter(shop=shop, kind=kind, locale=locale).first()
    if own is not None:
        return Source(own.subject, own.preheader, own.body, locale, str(own.version))
    return read_default(kind, locale) or source(shop, kind, locale)


def try_out(shop: Shop, kind: str, locale: str, text: Source) -> Rendered | None:
    """The draft filled in with the latest order (None: the shop has no order yet);
    TemplateProblem when it would not work."""
    _check_names(kind, locale)
    _check_text(text)
    try:
        return preview(shop, kind, locale, draft=text)
    except TemplateProblem:
        raise
    except Exception as exc:  # a variable that breaks when filled in, e.g. a bad filter
        raise TemplateProblem(f"the template does not render: {exc}") from None


def save_template(shop: Shop, kind: str, locale: str, text: Source) -> MessageTemplate:
    try_out(shop, kind, locale, text)  # raises before anything is written
    with transaction.atomic():
        row, created = MessageTemplate.objects.select_for_update().get_or_create(
            shop=shop,
            kind=kind,
            locale=locale,
            defaults={"subject": text.subject, "preheader": text.preheader, "body": text.body},
        )
        if not created:
            row.subject, row.preheader, row.body = text.subject, text.preheader, text.body
            row.version += 1
            row.save()
    return row


def reset_template(shop: Shop, kind: str, locale: str) -> bool:
    """Back to Aftercart's default text; returns whether there was an own version."""
    _check_names(kind, locale)
    deleted, _ = MessageTemplate.objects.filter(shop=shop, kind=kind, locale=locale).delete()
    return bool(deleted)


def _check_names(kind: str, locale: str) -> None:
    kind_of(kind)  # raises for an unknown kind
    if locale not in LANGUAGES:
        raise TemplateProblem(f"no such language: {locale!r}")


def _check_text(text: Source) -> None:
    if not text.subject.strip():
        raise TemplateProblem("the subject is empty")
    if len(text.body) > LIMIT or len(text.subject) > 300 or len(text.preheader) > 300:
        raise TemplateProblem(
            f"too long: the subject and preview text hold 300 characters, the body {LIMIT:,}"
        )
    for part in (text.subject, text.preheader, text.body):
        if found := _REFUSED.search(part):
            raise TemplateProblem(f"{{% {found.group(1)} %}} cannot be used in an email")
    check(text.subject, text.preheader, text.body)
