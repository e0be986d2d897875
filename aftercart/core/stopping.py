"""A worker asked to stop: long drains end between batches instead of running on.

The worker finishes the task it is running when it gets SIGTERM (a deploy, `aftercart
serve` stopping). A drain of a large backlog (100,000 due emails) is one task that could
run for many minutes; it looks here between batches and leaves the rest due, for the
next worker to pick up.
"""

import threading

_requested = threading.Event()


def request() -> None:
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def reset() -> None:
    """For tests: a process that goes on after a stop was asked for."""
    _requested.clear()
