from django.core.paginator import Page, Paginator

PER_PAGE = 25


def paginate(request, items) -> Page:
    """One page of items; a page number out of range shows the nearest page."""
    return Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
