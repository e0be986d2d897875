"""The background worker against a real database, in real processes."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from aftercart.core.worker import prune_results, requeue_abandoned
from tests.worker_tasks import note_run, slow_first_time

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(*extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    return subprocess.Popen(
        [sys.executable, "-m", "aftercart.cli", "worker", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_one_queue_never_run_a_task_twice(tmp_path):
    log = tmp_path / "runs.log"
    count = 150
    for n in range(count):
        note_run.enqueue(str(log), n, 0.05)
    workers = [start_worker(), start_worker()]
    try:
        mine = DBTaskResult.objects.filter(task_path="tests.worker_tasks.note_run")
        wait_for(lambda: mine.successful().count() == count, 90, "all tasks to finish")
    finally:
        for w in workers:
            stop(w)
    lines = log.read_text().split()
    runs = [int(n) for n in lines[0::2]]
    pids = set(lines[1::2])
    assert sorted(runs) == list(range(count)), "each task ran exactly once"
    assert len(pids) == 2, "both workers took part"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_task_leaves_nothing_stuck(tmp_path):
    log = tmp_path / "attempts.log"
    result = slow_first_time.enqueue(str(log))
    first = start_worker()
    try:
        wait_for(
            lambda: log.exists() and log.read_text().count("start") == 1, 30, "the first attempt"
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        assert DBTaskResult.objects.get(pk=result.id).status == "RUNNING"  # held by a dead worker
        second = start_worker()
        try:
            wait_for(
                lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL",
                40,
                "the task to run again on the second worker",
            )
        finally:
            stop(second)
    finally:
        stop(first)
    assert log.read_text().count("start") == 2
    assert DBTaskResult.objects.get(pk=result.id).return_value == "done"


@pytest.mark.django_db
def test_running_task_of_a_live_worker_is_left_alone():
    from aftercart.core.worker import heartbeat

    result = note_run.enqueue("/dev/null", 1)
    heartbeat("alive-worker")
    DBTaskResult.objects.filter(pk=result.id).update(
        status="RUNNING",
        started_at=timezone.now() - timedelta(minutes=5),
        worker_ids=["alive-worker"],
    )
    assert requeue_abandoned() == 0
    DBTaskResult.objects.filter(pk=result.id).update(worker_ids=["dead-worker"])
    assert requeue_abandoned() == 1
    assert DBTaskResult.objects.get(pk=result.id).status == "READY"


@pytest.mark.django_db
def test_finished_results_are_pruned_so_the_queue_table_stays_small(settings):
    settings.TASK_RESULT_KEEP_SECONDS = 60
    old = [note_run.enqueue("/dev/null", n) for n in range(3)]
    fresh = note_run.enqueue("/dev/null", 9)
    waiting = note_run.enqueue("/dev/null", 10)
    DBTaskResult.objects.filter(pk__in=[r.id for r in old]).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(minutes=5)
    )
    DBTaskResult.objects.filter(pk=fresh.id).update(status="SUCCESSFUL", finished_at=timezone.now())
    assert prune_results() == 3
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {
        DBTaskResult.objects.get(pk=fresh.id).pk,
        DBTaskResult.objects.get(pk=waiting.id).pk,
    }


@pytest.mark.django_db(transaction=True)
def test_a_worker_gives_sqlite_the_statistics_to_find_orders_by_id():
    """Without statistics SQLite read a batch of a shop's orders by id through the shop
    index (every order of the shop) instead of the primary key."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its own statistics (autovacuum)")
    from aftercart.core.services import create_shop
    from aftercart.orders.models import Order

    shop, _key = create_shop("stats", name="Stats shop", locale="en")
    Order.objects.bulk_create(
        Order(shop=shop, external_id=str(n), number=f"#{n}", currency="EUR", total=10)
        for n in range(3000)
    )
    ids = list(Order.objects.values_list("pk", flat=True)[:50])
    query = Order.objects.filter(shop_id=shop.pk, pk__in=ids).values_list("pk", "locale")

    def plan() -> str:
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " ".join(row[-1] for row in cursor.fetchall())

    assert "PRIMARY KEY" not in plan()  # SQLite's guess: the shop index
    worker = start_worker()
    try:
        # A connection opened after the worker's ANALYZE reads the statistics.
        def planned_by_id() -> bool:
            connection.close()
            return "PRIMARY KEY" in plan()

        wait_for(planned_by_id, 30, "the plan to use the primary key")
    finally:
        stop(worker)


@pytest.mark.django_db
def test_on_postgresql_without_autovacuum_the_worker_analyzes_the_tables():
    """A server with autovacuum off never refreshes the planner's statistics by itself."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    from aftercart.core.worker import refresh_planner_stats

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    analyzed = refresh_planner_stats()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'orders_order'"
        )
        has_statistics = cursor.fetchone()[0]
    assert analyzed == (autovacuum == "off")
    if autovacuum == "off":
        assert has_statistics
