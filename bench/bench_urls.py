"""The product's URLs plus bare views to compare with: /bench/ceiling inserts one row and
answers; /bench/read/<id> reads one row and answers.

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


def read_ceiling(request, pk: int):
    """A bare page: one row read by its key, a line of HTML (the status page's baseline)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT number, email FROM orders_order WHERE id = %s", [pk])
        row = cursor.fetchone()
    return HttpResponse(f"<!doctype html><p>Order {row[0] if row else '?'}</p>".encode())


urlpatterns = [
    path("bench/ceiling", ceiling),
    path("bench/read/<int:pk>", read_ceiling),
    *product_urls,
]
