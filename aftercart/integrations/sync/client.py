"""HTTP to a shop's own store: one base URL, timeouts, and bounded waits when asked to slow down.

Requests go only to the store URL the merchant configured: paths are joined to it and
redirects are reported instead of followed, so a store (or anything in front of it)
cannot send our credentials elsewhere.
"""

import email.utils
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_ATTEMPTS = 5
MAX_WAIT = 60.0  # seconds; a store asking for longer fails the sync instead of holding a worker
RETRY_STATUSES = {429, 500, 502, 503, 504}


class SyncError(Exception):
    """A sync cannot go on: the store is unreachable, refuses us, or answers what we cannot read."""


class StoreUnreachable(SyncError):
    pass


class StoreRefused(SyncError):
    """401 or 403: the credentials are wrong, revoked, or lack a permission."""


class StoreClient:
    """A small httpx wrapper that retries 429/5xx with the wait the store asks for."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        deadline: float | None = None,  # time.monotonic() after which no wait is begun
    ):
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.sleep = sleep
        self.deadline = deadline
        self.waits = 0
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            headers={"User-Agent": "Aftercart reconciliation", **(headers or {})},
            timeout=TIMEOUT,
            follow_redirects=False,
        )

    def __enter__(self) -> "StoreClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def wait(self, seconds: float, why: str) -> None:
        seconds = min(max(seconds, 0.0), MAX_WAIT)
        if self.deadline is not None and time.monotonic() + seconds > self.deadline:
            raise SyncError(f"{self.name}: {why}; out of time for this attempt")
        log.info("%s: %s; waiting %.1f s", self.name, why, seconds)
        self.waits += 1
        self.sleep(seconds)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call to the store; waits and retries (at most MAX_ATTEMPTS) on 429, 5xx and read timeouts."""
        url = f"{self.base_url}{path}"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise StoreUnreachable(
                    f"cannot reach {self.name} at {self.base_url}: {exc}"
                ) from None
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError) as exc:
                if attempt == MAX_ATTEMPTS:
                    raise StoreUnreachable(
                        f"{self.name} at {self.base_url} did not answer in time: {exc}"
                    ) from None
                self.wait(2.0 ** (attempt - 1), f"no answer from {url}")
                continue
            if response.status_code in RETRY_STATUSES and attempt < MAX_ATTEMPTS:
                delay = retry_after(response.headers.get("Retry-After"))
                if delay is not None and delay > MAX_WAIT:
                    raise SyncError(
                        f"{self.name} at {self.base_url} asks us to wait {delay:.0f} s "
                        f"(HTTP {response.status_code}); try again later"
                    )
                self.wait(
                    delay if delay is not None else 2.0 ** (attempt - 1),
                    f"HTTP {response.status_code} from {url}",
                )
                continue
            check_status(self, response)
            return response
        raise AssertionError("unreachable")  # the loop returns or raises

    def send_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """One call, never repeated here: for a request that must not be made twice (a
        refund). None when there was no answer in time (it may or may not have been done)."""
        try:
            return self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise StoreUnreachable(f"cannot reach {self.name} at {self.base_url}: {exc}") from None
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError):
            return None

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise SyncError(
                f"{self.name} at {self.base_url} did not answer with JSON at {response.url.path} "
                f"(content type {response.headers.get('content-type', 'none')!r})"
            ) from None


def check_status(client: StoreClient, response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    where = f"{client.name} at {client.base_url}"
    if status in (401, 403):
        raise StoreRefused(
            f"{where} refused the credentials (HTTP {status}: {detail(response)}); "
            "check them with `aftercart shop connect`"
        )
    if 300 <= status < 400:
        raise SyncError(
            f"{where} redirects to {response.headers.get('location', '?')}; "
            "set the store URL to the address it redirects to"
        )
    if status in RETRY_STATUSES:
        raise SyncError(f"{where} still answers HTTP {status} after {MAX_ATTEMPTS} attempts")
    raise SyncError(f"{where} answered HTTP {status}: {detail(response)}")


def detail(response: httpx.Response) -> str:
    """The store's own one-line explanation, from the JSON error shapes Shopify and WordPress use."""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        if isinstance(body, dict):
            text = body.get("message") or body.get("errors") or body.get("error") or body
        else:
            text = body
    return " ".join(str(text).split())[:300] or response.reason_phrase


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)
