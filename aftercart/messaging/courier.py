"""The courier: a process of its own that hands a batch of emails to the SMTP server while
the worker decides on and renders the next batch.

Handing an email over is mostly waiting for the server's answers (four per email); in the
worker's own process that wait adds to the rendering, and a thread of its own waits for
Python's lock behind the rendering instead. A forked process waits alongside.

The courier never touches the database: the worker sends it each email's parts, the courier
builds the bytes, hands them over over its own connection and answers, per email, what
became of it ("sent" with the time, or the stage that failed with the exception). The
worker records that (every sent email of the batch marked in one transaction), so after a
hard kill of the worker the batch in the courier's hands may be left `sending`: shown to
the merchant, never sent again by itself.
"""

import contextlib
import multiprocessing
import os
import pickle
import signal
import time


class CourierLost(RuntimeError):
    """The courier process ended without answering: what it handed over is unknown."""


class Courier:
    """One courier process and one batch at a time in its hands.

    `mailer` has from_parts(parts) -> prepared, ready(), send(prepared) and close(): the
    worker's own, with its connection closed (the courier opens its own)."""

    def __init__(self, mailer) -> None:
        context = multiprocessing.get_context("fork")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(mailer, child, self._pipe), name="aftercart-courier", daemon=True
        )
        self._process.start()
        child.close()

    def hand_over(self, jobs: list[tuple[int, dict]], seconds: float) -> None:
        """Give it a batch: (message id, the email's parts) each; it hands over no more after
        `seconds` (the rest are left out of its answer)."""
        try:
            self._pipe.send((jobs, seconds))
        except OSError as exc:
            raise CourierLost("the courier process has ended") from exc

    def results(self) -> list[tuple[int, str, object]]:
        """Wait for the batch's answer: (message id, "sent", unix time) or (message id,
        "prepare" | "ready" | "send", the exception), in the order handed over."""
        try:
            return self._pipe.recv()
        except (EOFError, OSError) as exc:
            raise CourierLost("the courier process ended in the middle of a batch") from exc

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._pipe.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._pipe.close()


def _serve(mailer, pipe, parents_end) -> None:
    parents_end.close()
    # The worker decides when to stop (after the batch in hand); a SIGTERM sent to the
    # whole process group must not cut a hand-over in half.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while True:
            try:
                job = pipe.recv()
            except (EOFError, OSError):
                break  # the worker is gone
            if job is None:
                break
            jobs, seconds = job
            pipe.send(_hand_over(mailer, jobs, seconds))
    finally:
        mailer.close()
        # Not the worker's exit handlers: its database connections are the worker's.
        os._exit(0)


def _hand_over(mailer, jobs, seconds) -> list[tuple[int, str, object]]:
    started, answers = time.monotonic(), []
    for pk, parts in jobs:
        if time.monotonic() - started > seconds:
            break  # a slow server: the rest go back to the queue
        try:
            prepared = mailer.from_parts(parts)
        except Exception as exc:
            answers.append((pk, "prepare", _portable(exc)))
            continue
        try:
            mailer.ready()
        except Exception as exc:
            mailer.close()
            answers.append((pk, "ready", _portable(exc)))
            continue
        try:
            mailer.send(prepared)
        except Exception as exc:
            mailer.close()
            answers.append((pk, "send", _portable(exc)))
            continue
        answers.append((pk, "sent", time.time()))
    return answers


def _portable(exc: Exception) -> Exception:
    """The exception as it can cross to the worker (smtplib's and OSError's do as they are)."""
    try:
        # Our own bytes, read back at once: some exceptions pickle but cannot be rebuilt.
        pickle.loads(pickle.dumps(exc))  # noqa: S301
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
