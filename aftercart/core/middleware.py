from django.conf import settings
from django.http import JsonResponse


class BodySizeLimit:
    """Refuse a body over MAX_BODY_BYTES with 413 before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_BODY_BYTES:
            return JsonResponse(
                {"error": f"body of {length} bytes is over the limit of {settings.MAX_BODY_BYTES}"},
                status=413,
            )
        return self.get_response(request)
