"""`aftercart serve`: the production web server (granian) with a background worker beside it."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings

# Threads per web process. Two: pages are CPU work under Python's lock, so more threads
# only add switching (the status page's p99 at 50 concurrent: 41 ms with 2, 61 ms with 4).
# The cost: an order lookup holds its thread for its 0.4 s floor (portal.views), so two
# processes of two threads take about ten lookups a second before pages queue behind
# them. A shop that expects more (a "where is my order?" link in a newsletter) raises
# --threads.
THREADS = 2


def web_command(host: str, port: int, workers: int, threads: int = THREADS) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--no-access-log",
        "--log-level",
        "warning",
        "aftercart.wsgi:application",
    ]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "aftercart.cli", "worker"]


def serve(
    *,
    host: str,
    port: int,
    web_workers: int = 2,
    threads: int = THREADS,
    with_worker: bool = True,
) -> int:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "aftercart.settings"),
    }
    procs = [subprocess.Popen(web_command(host, port, web_workers, threads), env=env)]
    if with_worker:
        procs.append(subprocess.Popen(worker_command(), env=env))
    print(f"Aftercart is running at http://{host}:{port}/  (dashboard; API docs at /api/v1/docs)")
    print(f"Data: {settings.DATABASES['default']['NAME']}   Stop with Ctrl+C.")

    def stop(*_):
        for p in procs:
            if p.poll() is None:
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)
