"""The template engine of the customer's pages: Jinja2, set up to speak Django's languages.

The order-status page is what customers open by the thousand when a batch of parcels goes
out, so its pages render with Jinja2 (about five times faster than Django's engine here)
and dates are written with the month and day names looked up once per language instead of
through Django's general date formatter (a fifth of the page's time otherwise).

Texts are marked `_("...")` in the templates: Django's makemessages reads that form from
any .html file, so they land in the same catalogue as the rest of the product. A
translation is text, escaped like any other; the few that hold markup (<strong>) say so
with `_("...")|markup|format(...)`, where `|format` escapes what is put into them.
"""

import functools
from datetime import date, datetime

from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS
from jinja2 import Environment, pass_context
from markupsafe import Markup

from aftercart.core.money import format_money


def _(message: str) -> str:
    return _translated(translation.get_language(), message)


@functools.lru_cache(maxsize=4096)
def _translated(language: str, message: str) -> str:
    """Looked up once per language (called with `language` active)."""
    return translation.gettext(message)


def markup(translated: str) -> Markup:
    """A translation from our own catalogue that holds markup, kept as markup."""
    return Markup(translated)  # noqa: S704 (our catalogue, never a customer's text)


def url(name: str, *args) -> str:
    return reverse(name, args=args)


@functools.cache
def _names(language: str) -> tuple[list[str], list[str], list[str]]:
    """Month names, short month names and weekday names in one language."""
    with translation.override(language):
        return (
            [str(MONTHS[m]) for m in range(1, 13)],
            [str(MONTHS_3[m]).title() for m in range(1, 13)],
            [str(WEEKDAYS[d]) for d in range(7)],
        )


# The page's language and clock: given by the view as `language_code` and `zone` (read
# once per page; asking Django's thread-locals for them per date cost a quarter of the
# status page's rendering), else the ones active.
def _language(context) -> str:
    return context.get("language_code") or translation.get_language()


def _local(context, value: datetime | date) -> datetime | date:
    """A moment on the clock of the page's time zone (the shop's); a day stays a day."""
    if not isinstance(value, datetime):
        return value
    return value.astimezone(context.get("zone") or timezone.get_current_timezone())


@pass_context
def day(context, value: datetime | date) -> str:
    """25 November 2026 (Django's "j F Y")."""
    if value is None:  # as Django's date filter: nothing
        return ""
    value = _local(context, value)
    return f"{value.day} {_names(_language(context))[0][value.month - 1]} {value.year}"


@pass_context
def weekday(context, value: datetime | date) -> str:
    """Wednesday 25 November (Django's "l j F")."""
    if value is None:  # as Django's date filter: nothing
        return ""
    value = _local(context, value)
    months, _short, days = _names(_language(context))
    return f"{days[value.weekday()]} {value.day} {months[value.month - 1]}"


@pass_context
def moment(context, value: datetime) -> str:
    """25 Nov, 09:05 (Django's "j M, H:i")."""
    if value is None:  # as Django's date filter: nothing
        return ""
    value = _local(context, value)
    short = _names(_language(context))[1]
    return f"{value.day} {short[value.month - 1]}, {value.hour:02d}:{value.minute:02d}"


@pass_context
def iso(context, value: datetime) -> str:
    """For <time datetime="...">."""
    if value is None:  # as Django's date filter: nothing
        return ""
    return _local(context, value).isoformat()


@pass_context
def money(context, amount, currency: str) -> str:
    """€ 12,50 in Dutch, €12.50 in English."""
    return format_money(amount, currency, _language(context))


def environment(**options) -> Environment:
    # Django's backend turns autoescaping on already; said here too, as it must stay on.
    env = Environment(autoescape=options.pop("autoescape", True), **options)
    env.globals.update(_=_, url=url, static=static)
    env.filters.update(day=day, weekday=weekday, moment=moment, iso=iso, markup=markup, money=money)
    return env
