"""Writers in one process queue on a lock before SQLite's own (slow, sleeping) busy handler."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from aftercart.core.models import Shop

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("the writer lock is part of the SQLite backend only")


def _in_thread(fn):
    errors = []

    def run():
        try:
            fn()
        except Exception as exc:  # reported to the test below
            errors.append(exc)
        finally:
            connections.close_all()

    t = threading.Thread(target=run)
    t.start()
    return t, errors


def test_many_threads_writing_at_once_all_land():
    def write(n):
        def run():
            for i in range(20):
                with transaction.atomic():
                    Shop.objects.create(slug=f"t{n}-{i}", name="x")

        return run

    started = [_in_thread(write(n)) for n in range(6)]
    for t, errors in started:
        t.join(30)
        assert errors == []
    assert Shop.objects.filter(slug__startswith="t").count() == 120


def test_a_failed_transaction_lets_the_next_writer_in_at_once():
    with pytest.raises(RuntimeError), transaction.atomic():
        Shop.objects.create(slug="rolled-back", name="x")
        raise RuntimeError("the view failed half-way")

    took = []

    def write():
        started = time.perf_counter()
        with transaction.atomic():
            Shop.objects.create(slug="next", name="x")
        took.append(time.perf_counter() - started)

    t, errors = _in_thread(write)
    t.join(30)
    assert errors == [] and took[0] < 1
    assert list(
        Shop.objects.filter(slug__in=["rolled-back", "next"]).values_list("slug", flat=True)
    ) == ["next"]


def test_a_writer_that_holds_on_too_long_gets_a_clear_error(settings):
    holding, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            Shop.objects.create(slug="holder", name="x")
            holding.set()
            release.wait(10)

    holder, holder_errors = _in_thread(hold)
    holding.wait(10)
    connection.settings_dict["OPTIONS"]["timeout"] = 0.2
    try:
        with pytest.raises(Exception, match="database is locked"), transaction.atomic():
            Shop.objects.create(slug="waiter", name="x")
    finally:
        connection.settings_dict["OPTIONS"]["timeout"] = 20
        release.set()
        holder.join(10)
    assert holder_errors == []
    assert Shop.objects.filter(slug="holder").exists()


CHILD = """
import time, django
django.setup()
from django.db import transaction
from aftercart.core.models import Shop
print("ready", flush=True)
with transaction.atomic():
    Shop.objects.create(slug="from-the-other-process", name="x")
print(time.time(), flush=True)
"""


def test_a_writer_in_another_process_waits_for_the_transaction_and_then_lands():
    import os
    import subprocess
    import sys

    name = connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aftercart.settings",
        "DATABASE_URL": f"sqlite:///{name}",
    }
    with transaction.atomic():
        Shop.objects.create(slug="this-process", name="x")
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True
        )
        # Order, not durations (a busy machine may take seconds to start the child): once
        # it is about to write, hold the transaction a while longer, then note the time.
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        assert child.poll() is None  # still waiting: it did not write beside us
        before_commit = time.time()
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0
    assert float(out.strip()) > before_commit  # its write landed after ours ended
    assert set(Shop.objects.values_list("slug", flat=True)) >= {
        "this-process",
        "from-the-other-process",
    }


def test_a_forked_child_does_not_share_its_parents_lock_file():
    import os

    from aftercart.core.sqlite.base import _lock_file

    name = str(connection.settings_dict["NAME"])
    parent_fd = _lock_file(name)
    pid = os.fork()
    if pid == 0:  # the child: exit status says whether it got a descriptor of its own
        os._exit(0 if _lock_file(name) != parent_fd else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
