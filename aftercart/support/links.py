"""The one-click rating links in the rating email: the ticket's secret token and a score."""

from django.conf import settings
from django.urls import reverse


def rating_url(token: str, score: int) -> str:
    return settings.BASE_URL + reverse("portal:rate", args=[token, score])
