"""Many rows in one executemany, for bulk imports (order history: a million CSV lines).

Django's bulk_create and bulk_update build a model instance per row and prepare each value
through the field API (bulk_update adds a CASE per field and row); for an import's hundreds
of thousands of rows that costs many times the database's own work. These helpers take
plain tuples, adapt the few types that need it as the fields would (datetimes on SQLite,
JSON), fill every column not given with the field's default (so a field added later
cannot break them), and send them in bulk: one executemany on SQLite, COPY on PostgreSQL
(its fastest way in, and the only one that does not format every row in Python). Table
and column names come from the models.

Only for services that validate their input first: nothing here checks a value.
"""

from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from json import dumps
from typing import Any

from django.db import DatabaseError, connection, models
from django.utils import timezone

# Field types whose values the drivers take as they are (after the adapters below).
PLAIN = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "DecimalField",  # Django registers Decimal with sqlite3; psycopg adapts it natively
    "DateTimeField",
    "EmailField",
    "ForeignKey",
    "IntegerField",
    "JSONField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "SlugField",
    "TextField",
    "URLField",
}


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    same: dict[str, Any] | None = None,
    ignore_conflicts: bool = False,
    ids: bool = False,
) -> list[int]:
    """INSERT the rows: values in the order of `fields` (a foreign key takes the id).

    same: values every row shares (the shop, "now"), adapted once rather than per row.
    ignore_conflicts: a row that breaks a unique constraint is skipped (ON CONFLICT DO
    NOTHING, which SQLite and PostgreSQL both speak).
    ids: return the new rows' primary keys, in the order of `rows` (saves looking them up).
    """
    rows = list(rows)
    if not rows:
        return []
    if ids and ignore_conflicts:
        raise ValueError("insert_rows: a skipped row has no id to return")
    given = [model._meta.get_field(name) for name in fields]
    shared = {model._meta.get_field(name): value for name, value in (same or {}).items()}
    named = {f.name for f in (*given, *shared)}
    now = timezone.now()
    for f in model._meta.concrete_fields:
        if f.name in named or f.primary_key or (f.null and not f.has_default()):
            continue  # left to the database: the key, or NULL
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        shared[f] = now if auto else f.get_default()
    constant = tuple(fn(value) if (fn := _adapter(f)) else value for f, value in shared.items())
    columns = [*given, *shared]
    qn = connection.ops.quote_name
    table, names = qn(model._meta.db_table), ", ".join(qn(f.column) for f in columns)
    if connection.vendor == "postgresql":
        if ids:
            # Take the keys from the table's sequence first, then COPY them with the rows.
            new_ids = _next_ids(model, len(rows))
            given = [model._meta.pk, *given]
            names = f"{qn(model._meta.pk.column)}, {names}"
            rows = [(pk, *row) for pk, row in zip(new_ids, rows, strict=True)]
        if not ignore_conflicts:
            _copy(f"COPY {table} ({names}) FROM STDIN", given, rows, constant)
            return new_ids if ids else []
        # COPY cannot skip conflicts: copy into a scratch table, insert what is new from it.
        with _scratch(table, names) as cursor:
            _copy(f"COPY _bulk ({names}) FROM STDIN", given, rows, constant)
            new = f"INSERT INTO {table} ({names}) SELECT {names} FROM _bulk"  # noqa: S608
            cursor.execute(new + " ON CONFLICT DO NOTHING")
        return []
    # Names come from the model and are quoted; every value is a parameter.
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    _execute_many(sql, given, rows, constant)
    if not ids:
        return []
    # SQLite has one writer at a time and this transaction holds the lock, so the rows of
    # one executemany get consecutive keys, ending at the last one inserted.
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_insert_rowid()")
        last = cursor.fetchone()[0]
    return list(range(last - len(rows) + 1, last + 1))


def find_ids(
    model: type[models.Model], key: str, values: Iterable[Any], *, same: dict[str, Any]
) -> dict[Any, int]:
    """{key: primary key} of the rows whose `key` field is one of `values` (and `same` holds).

    For an import's "which of these exist?": most often none do, and the ORM would spend
    far longer building an IN of a thousand parameters than the database spends answering.
    """
    values = list(values)
    if not values:
        return {}
    qn = connection.ops.quote_name
    meta = model._meta
    column = qn(meta.get_field(key).column)
    where = " AND ".join(f"{qn(meta.get_field(name).column)} = %s" for name in same)
    found: dict[Any, int] = {}
    with connection.cursor() as cursor:
        for at in range(0, len(values), 1000):  # SQLite's limit on parameters is far above
            chunk = values[at : at + 1000]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {column}, {qn(meta.pk.column)} FROM {qn(meta.db_table)} "  # noqa: S608
                f"WHERE {where + ' AND ' if where else ''}{column} IN ({marks})",
                [*(getattr(v, "pk", v) for v in same.values()), *chunk],
            )
            found.update(cursor.fetchall())
    return found


def _next_ids(model: type[models.Model], count: int) -> list[int]:
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return [pk for (pk,) in cursor.fetchall()]


def update_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """UPDATE rows by primary key: each row is the values of `fields`, then the key."""
    rows = list(rows)
    if not rows:
        return
    columns = [*(model._meta.get_field(name) for name in fields), model._meta.pk]
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    if connection.vendor == "postgresql":
        names = ", ".join(qn(f.column) for f in columns)
        with _scratch(table, names) as cursor:
            _copy(f"COPY _bulk ({names}) FROM STDIN", columns, rows, ())
            sets = ", ".join(f"{qn(f.column)} = _bulk.{qn(f.column)}" for f in columns[:-1])
            cursor.execute(f"UPDATE {table} SET {sets} FROM _bulk WHERE {table}.{pk} = _bulk.{pk}")  # noqa: S608
        return
    sets = ", ".join(f"{qn(f.column)} = %s" for f in columns[:-1])
    _execute_many(f"UPDATE {table} SET {sets} WHERE {pk} = %s", columns, rows, ())  # noqa: S608


def _execute_many(
    sql: str, columns: list[models.Field], rows: list[Sequence[Any]], constant: tuple
) -> None:
    adapters = [(at, fn) for at, f in enumerate(columns) if (fn := _adapter(f))]
    if adapters:
        params = []
        for row in rows:
            row = list(row)
            for at, fn in adapters:
                row[at] = fn(row[at])
            params.append((*row, *constant))
    else:
        params = [(*row, *constant) for row in rows] if constant else rows
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


@contextmanager
def _scratch(table: str, names: str):
    """A temporary table shaped like `table`'s columns, for COPY; dropped after use.

    Dropped also when the COPY or the statement fails: outside a transaction nothing
    would roll it back, and the next use on this connection would find it there.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE _bulk AS SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608
        try:
            yield cursor
        finally:
            with suppress(DatabaseError):  # in a failed transaction: its rollback drops it
                cursor.execute("DROP TABLE IF EXISTS _bulk")


def _copy(sql: str, columns: list[models.Field], rows: list[Sequence[Any]], constant: tuple):
    adapters = [(at, fn) for at, f in enumerate(columns) if (fn := _adapter(f))]
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            if adapters:
                row = list(row)
                for at, fn in adapters:
                    row[at] = fn(row[at])
            copy.write_row((*row, *constant))


def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
    kind = field.get_internal_type()
    if kind not in PLAIN:
        raise NotImplementedError(f"bulk rows: no adapter for {kind} ({field})")
    if kind == "JSONField":
        encoder, adapt = field.encoder, connection.ops.adapt_json_value
        if connection.vendor == "sqlite" and encoder is None:
            # What adapt_json_value does on SQLite; most values are empty, spare them json.
            return lambda value: "{}" if value == {} else "[]" if value == [] else dumps(value)
        return lambda value: adapt(value, encoder)
    if kind == "DateTimeField" and connection.vendor == "sqlite":
        return _sqlite_datetime
    return None


def _sqlite_datetime(value: datetime | None) -> str | None:
    # What SQLite's adapt_datetimefield_value stores: naive UTC, as str() writes it
    # ("2024-03-02 09:14:55"); slicing off "+00:00" is twice as fast as replace(tzinfo=None).
    if value is None:
        return None
    if value.tzinfo is None:
        return str(value)
    return str(value.astimezone(UTC))[:-6]


def one_writer_at_a_time(name: str) -> None:
    """Until this transaction ends, other transactions that ask for `name` wait.

    For bulk writers that share a database (the parts of one import): two batches that
    both create the same new customers would otherwise collide on the unique email and
    roll back. SQLite runs one write transaction at a time anyway; PostgreSQL is asked
    for a transaction-level advisory lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])


def refresh_statistics() -> None:
    """Let PostgreSQL's planner see how large the tables have grown (ANALYZE).

    A bulk load outruns autovacuum: with statistics from when a table was nearly empty, the
    planner answers "these 1,000 keys" by reading every row of the shop, and each batch of
    an import gets slower than the last. SQLite is left alone here: its full ANALYZE reads
    whole indexes; the workers refresh its statistics, sampled (worker.refresh_planner_stats).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@contextmanager
def loading():
    """Around a bulk load (an import of many batches), tune the database for it.

    SQLite copies the write-ahead log back into the database every 1,000 pages by default,
    which during an import means after nearly every batch, each time rewriting the index
    pages the next batch changes again. Checkpointing every 20,000 pages (80 MB of log)
    writes each of them once per many batches; the default comes back afterwards.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA wal_autocheckpoint = 20000")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(before)}")
