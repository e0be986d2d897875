"""One HTTP POST of a webhook, and what came of it. No database here: services record it."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from django.utils.translation import gettext as _

from aftercart import __version__ as VERSION
from aftercart.webhooks.addresses import Target, UnsafeUrl, check_url

# Short: a receiver should answer at once and do its work later; a slow one must not hold
# up the worker (every delivery waits its turn behind it).
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
EXCERPT = 500  # characters of the answer kept for the log
READ_AT_MOST = 16 * 1024  # bytes read of an answer: enough for the excerpt, never a download
LONGEST_WAIT = timedelta(hours=24)  # a Retry-After beyond this is taken as this


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None = None
    response: str = ""
    error: str = ""
    duration_ms: int = 0
    retry_after: timedelta | None = None  # the receiver asked us to wait this long


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST the body; success is any 2xx. Redirects are not followed (a 3xx is a failure)."""
    started = time.monotonic()
    try:
        target = check_url(url)  # again now: DNS may say something else than when saved
    except UnsafeUrl as exc:
        return Outcome(False, error=str(exc)[:300])
    request_url, host, extensions = _pinned(target)
    sent_headers = {
        **headers,
        **host,
        "content-type": "application/json",
        "user-agent": f"Aftercart-Webhooks/{VERSION}",
    }
    client = httpx.Client(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
    try:
        with (
            client,
            client.stream(
                "POST", request_url, content=body, headers=sent_headers, extensions=extensions
            ) as response,
        ):
            excerpt = _excerpt(response)
    except httpx.TimeoutException:
        return Outcome(False, error=_("no answer within the time limit"), duration_ms=_ms(started))
    except httpx.HTTPError as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Outcome(False, error=detail[:300], duration_ms=_ms(started))
    code = response.status_code
    error = ""  # a plain 4xx/5xx says enough by its status code
    if response.is_redirect:
        where = response.headers.get("location", "")
        error = _("redirected to %(where)s: redirects are not followed, use the final URL") % {
            "where": where
        }
        error = error[:300]
    return Outcome(
        succeeded=response.is_success,
        status_code=code,
        response=excerpt,
        error=error,
        duration_ms=_ms(started),
        retry_after=_retry_after(response) if code in (429, 503) else None,
    )


def _pinned(target: Target) -> tuple[httpx.URL, dict[str, str], dict]:
    """Connect to the address that was checked, not whatever the name resolves to next.

    The URL gets the IP; the Host header and, for https, the TLS server name (SNI and the
    certificate check) keep the host name, so the receiver sees an ordinary request.
    """
    url = httpx.URL(target.url)
    host_header = target.host if url.port is None else f"{target.host}:{url.port}"
    extensions = {"sni_hostname": target.host} if url.scheme == "https" else {}
    return url.copy_with(host=target.address), {"host": host_header}, extensions


def _excerpt(response: httpx.Response) -> str:
    read = b""
    for chunk in response.iter_bytes():
        read += chunk
        if len(read) >= READ_AT_MOST:
            break
    return read.decode(response.encoding or "utf-8", errors="replace").strip()[:EXCERPT]


def _retry_after(response: httpx.Response) -> timedelta | None:
    """The wait a 429 or 503 asks for: seconds, or an HTTP date."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - datetime.now(UTC)
        except (TypeError, ValueError):
            return None
    return max(timedelta(seconds=1), min(wait, LONGEST_WAIT))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
