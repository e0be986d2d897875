"""Django's SQLite backend, with one writer at a time per process waiting on a lock.

SQLite allows one write transaction at a time. When two threads of the same process
both start one, the loser waits in SQLite's busy handler, which sleeps in growing steps
(1, 2, 5, 10, 15, 20 … ms) and so turns a queue of a few short writes into tens of
milliseconds of latency. Threads of one process therefore queue on a lock first and
start their transaction the moment the previous one ends; only writers in other
processes still meet the busy handler. Autocommit statements outside a transaction are
left alone: they are single statements and hold SQLite's lock only briefly.
"""

import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _writer_lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_lock = False

    def _start_transaction_under_autocommit(self):
        lock = _writer_lock(self.settings_dict["NAME"])
        # The same patience as SQLite's own busy timeout, then the same error it gives.
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked (another thread kept writing)")
        self._holds_writer_lock = True
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self):
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            _writer_lock(self.settings_dict["NAME"]).release()

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
