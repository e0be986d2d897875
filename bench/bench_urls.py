"""The product's URLs plus /bench/ceiling: a bare view that inserts one row and answers.

It goes through the same server, middleware and database as a webhook, so the ratio
of webhook throughput to it shows what Aftercart's own work costs.
"""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from aftercart.urls import urlpatterns as product_urls


@csrf_exempt
def ceiling(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_ceiling (body) VALUES (%s)", [request.body.decode()])
    return HttpResponse(b'{"status":"accepted"}', content_type="application/json")


urlpatterns = [path("bench/ceiling", ceiling), *product_urls]
