"""Django's SQLite backend, with writers queued on locks that wake them at once.

SQLite allows one write transaction at a time. A writer that finds the database busy
waits in SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10, 15, 20 … ms):
a queue of a few short writes becomes tens of milliseconds of latency, and a long import
batch in another process leaves the next one sleeping well past its end. So before
BEGIN, a writer takes a lock per process (threads queue on it and start the moment the
previous transaction ends), then a lock file beside the database shared by every process
that uses this backend (polled in sub-millisecond steps). Autocommit statements outside
a transaction are left alone: they are single statements and hold SQLite's lock briefly.
"""

import fcntl
import os
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_files: dict[str, tuple[int, int]] = {}  # database -> (pid that opened it, descriptor)
_guard = threading.Lock()


def _writer_lock(name: str) -> threading.Lock:
    with _guard:
        return _locks.setdefault(name, threading.Lock())


def _lock_file(name: str) -> int:
    # Opened once per process: a forked child must not share its parent's open file,
    # or it would hold the parent's lock as its own.
    with _guard:
        opened = _files.get(name)
        if opened is None or opened[0] != os.getpid():
            fd = os.open(f"{name}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
            opened = _files[name] = (os.getpid(), fd)
        return opened[1]


def _take_file_lock(fd: int, deadline: float) -> bool:
    pause = 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.002)


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_lock = False
    _holds_file_lock: int | None = None

    def _start_transaction_under_autocommit(self):
        name = str(self.settings_dict["NAME"])
        # The same patience as SQLite's own busy timeout, then the same error it gives.
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        if not _writer_lock(name).acquire(timeout=timeout):
            raise OperationalError("database is locked (another thread kept writing)")
        self._holds_writer_lock = True
        try:
            if not self.is_in_memory_db():
                fd = _lock_file(name)
                if not _take_file_lock(fd, deadline):
                    raise OperationalError("database is locked (another process kept writing)")
                self._holds_file_lock = fd
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self):
        if self._holds_file_lock is not None:
            fd, self._holds_file_lock = self._holds_file_lock, None
            fcntl.flock(fd, fcntl.LOCK_UN)
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            _writer_lock(str(self.settings_dict["NAME"])).release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()
