from django.core.paginator import Page, Paginator

PER_PAGE = 25


def paginate(request, items) -> Page:
    """One page of items; a page number out of range shows the nearest page."""
    return Paginator(items, PER_PAGE).get_page(request.GET.get("page"))


PERIODS = (30, 90, 365)  # the figures pages' tabs: a month, a quarter, a year


def period_days(request, default: int = 90) -> int:
    """The period a figures page was asked for (?days=30), one of PERIODS."""
    asked = request.GET.get("days", "")
    return int(asked) if asked.isdigit() and int(asked) in PERIODS else default
