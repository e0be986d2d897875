"""Where a webhook may go: http(s) on the public internet, not into our own network.

A merchant types the URL, and the server sends to it from inside the hosting network: a
URL pointing at 127.0.0.1, 10.x or 169.254.169.254 (cloud metadata) would let anyone with
dashboard access reach what only the server should (server-side request forgery). So the
name is resolved and every address it resolves to must be public — when the URL is saved,
and again at each send, and the request then goes to exactly the address that was checked
(a name that resolves to a public address once and a private one a second later gains
nothing).

AFTERCART_WEBHOOKS_ALLOW_PRIVATE = True lifts the rule, for a shop whose receiver runs on
the same private network (and for tests, whose receiver listens on 127.0.0.1).
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class UnsafeUrl(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    url: str
    host: str  # as written in the URL, for the Host header and TLS
    address: str  # the checked IP address the request connects to


def allow_private() -> bool:
    return bool(getattr(settings, "AFTERCART_WEBHOOKS_ALLOW_PRIVATE", False))


def check_url(url: str) -> Target:
    """The URL's target if webhooks may be sent to it; UnsafeUrl saying why not."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(_("The URL must start with https:// (or http://)."))
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise UnsafeUrl(_("The URL's port is not a number between 1 and 65535.")) from None
    if not host:
        raise UnsafeUrl(_("The URL has no host name."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(
            _("%(host)s cannot be found (DNS): check the spelling.") % {"host": host}
        ) from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not allow_private():
        for address in addresses:
            if not _is_public(address):
                raise UnsafeUrl(
                    _(
                        "%(host)s points to %(address)s, a private, local or reserved "
                        "address: webhooks go to the public internet only."
                    )
                    % {"host": host, "address": address}
                )
    return Target(url=url, host=host, address=addresses[0])


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside an IPv6 one is checked as itself: ::ffff:127.0.0.1,
        # 6to4 (2002:a00:1::), Teredo, and NAT64 (64:ff9b::a00:1 reaches 10.0.0.1).
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            ip = inner
    return ip.is_global and not ip.is_multicast


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
