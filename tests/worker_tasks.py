"""Tasks the worker tests enqueue; a worker subprocess imports them by path."""

import os
import time
from pathlib import Path

from django_tasks import task


@task()
def note_run(log_path: str, n: int, seconds: float = 0.0) -> int:
    time.sleep(seconds)  # long enough that a second worker gets a share of the queue
    # O_APPEND makes each line one atomic write, even from several processes.
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{n} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return n


@task()
def slow_first_time(log_path: str) -> str:
    """Hangs on its first attempt (the test kills the worker then); finishes on the next."""
    path = Path(log_path)
    attempts = len(path.read_text().splitlines()) if path.exists() else 0
    with path.open("a") as fh:
        fh.write(f"start {os.getpid()}\n")
    if attempts == 0:
        time.sleep(120)
    return "done"
