"""A real HTTP receiver on 127.0.0.1 that records each request and answers as told."""

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from aftercart.webhooks.services import create_endpoint


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self):
        return json.loads(self.body)


class Receiver:
    def __init__(self):
        self.requests: list[Received] = []
        self.answers: deque[tuple[int, dict, bytes]] = deque()  # then 200 "ok"
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status, headers, answer = (
                        receiver.answers.popleft() if receiver.answers else (200, {}, b"ok")
                    )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        """The next request gets this answer (queue several for several requests)."""
        self.answers.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, body))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    # The receiver listens on loopback, which webhooks refuse unless told otherwise.
    settings.AFTERCART_WEBHOOKS_ALLOW_PRIVATE = True
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def endpoint(shop, receiver):
    return create_endpoint(shop, receiver.url, "order.*", "the warehouse")
