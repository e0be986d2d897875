"""Claiming the next rows of a work queue (due flow steps, due emails) cheaply.

A claim reads "the first N due rows in this order, locked, skipping locked ones" and has
an index in exactly that order. PostgreSQL's planner only uses it when its statistics say
many rows are due: a table that grew fast since autovacuum last looked (100,000 emails
queued by a drain of flow steps) is thought nearly empty, and each claim then fetched
every due row and sorted them all, whole rows of rendered HTML spilling to disk: 116 ms a
claim at 100,000 emails against 0.1 ms down the index.
"""

from contextlib import contextmanager

from django.db import connection


@contextmanager
def in_index_order():
    """Within a transaction: the queries inside read ordered rows from an index rather than
    sort them (PostgreSQL; SQLite's planner does so by itself for these queries)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # a sort priced out, not forbidden
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = on")
