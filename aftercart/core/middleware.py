import re

from django.conf import settings
from django.http import JsonResponse

_UPLOADS = re.compile(r"^/(o/[^/]+/return/|webhooks/inbound-mail/[^/]+)$")


class BodySizeLimit:
    """Refuse a body over MAX_BODY_BYTES with 413 before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MAX_BODY_BYTES
        # Photos with a return, an email with attachments: larger, on these paths only.
        if _UPLOADS.match(request.path):
            limit = settings.MAX_UPLOAD_BYTES
        if length > limit:
            return JsonResponse(
                {"error": f"body of {length} bytes is over the limit of {limit}"}, status=413
            )
        return self.get_response(request)
