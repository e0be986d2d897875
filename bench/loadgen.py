"""A small HTTP/1.1 keep-alive load generator on asyncio, for loopback benchmarks.

Bounded by the number of requests it is given; it stops by itself.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass
class Result:
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    cpu_seconds: float = 0.0  # the load generator's own, on the same cores as the server

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _client(host, port, requests, index, latencies, statuses):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            i = index[0]
            if i >= len(requests):
                return
            index[0] = i + 1
            started = time.perf_counter()
            writer.write(requests[i])
            status = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def build_get(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def run(host: str, port: int, requests: list[bytes], concurrency: int) -> Result:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    index = [0]

    async def main():
        await asyncio.gather(
            *(_client(host, port, requests, index, latencies, statuses) for _ in range(concurrency))
        )

    started, cpu = time.perf_counter(), time.process_time()
    asyncio.run(main())
    seconds = time.perf_counter() - started
    return Result(seconds, latencies, statuses, time.process_time() - cpu)


def report(label: str, result: Result, against: Result | None = None, name: str = "") -> None:
    """One line: requests/s, p50, p99, and the rate and p99 against a reference run."""
    ratio = ""
    if against:
        ratio = (
            f"   {result.rate / against.rate:.0%} of the {name}'s rate,"
            f" p99 {result.pct(0.99) / against.pct(0.99):.1f}x"
        )
    bad = {k: v for k, v in result.statuses.items() if k >= 300}
    print(
        f"  {label:<34} {result.rate:7.0f} req/s   p50 {result.p50:6.1f} ms"
        f"   p99 {result.pct(0.99):6.1f} ms{ratio}{'   not 2xx: ' + str(bad) if bad else ''}"
        f"   (load generator: {result.cpu_seconds / result.seconds:.0%} of a core)"
    )
