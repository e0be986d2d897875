"""A local SMTP server that accepts every message and counts them (for the benchmarks).

    .venv/bin/python bench/smtp_sink.py PORT COUNT_FILE

It writes the number of messages received to COUNT_FILE about every 0.2 s, and stops on
SIGTERM. It runs in a process of its own so that it does not share a GIL with the sender.
"""

import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.received += 1
        return "250 OK"


def main() -> None:
    port, count_file = int(sys.argv[1]), Path(sys.argv[2])
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    count_file.write_text("0")
    while not stop.wait(0.2):
        count_file.write_text(str(counter.received))
    controller.stop()
    count_file.write_text(str(counter.received))


if __name__ == "__main__":
    main()
