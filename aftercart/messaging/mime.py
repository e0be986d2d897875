"""Outgoing email as bytes, ready for smtplib: the MIME message of a text and an HTML body.

What Django's EmailMultiAlternatives with an HTML alternative produces, built as bytes
directly: the `email` package spends about a millisecond per message on objects,
policies and a generator where a few string joins will do. Header encoding, folding and
the checks against header injection follow what Django does (see the notes at each).
"""

import re
import secrets
import time
from binascii import b2a_base64, b2a_qp
from email.utils import formatdate, getaddresses, make_msgid
from functools import lru_cache

from django.conf import settings
from django.core.mail import BadHeaderError
from django.core.mail.message import ADDRESS_HEADERS, sanitize_address
from django.core.mail.utils import DNS_NAME

__all__ = ["raw_email"]

_FOLD_AT = 78  # RFC 5322: lines "SHOULD" be no longer than this
_LINE_LIMIT = 998  # RFC 5322: lines "MUST" be no longer than this (without the CRLF)
_WORD_LIMIT = 75  # RFC 2047: the longest an encoded word may be

# Headers the caller may give in `headers` to replace what raw_email would write itself.
_STANDARD = ("subject", "from", "to", "reply-to", "date", "message-id", "mime-version")
# Headers that describe the MIME structure this module builds: replacing them breaks it.
_STRUCTURE = frozenset({"content-type", "content-transfer-encoding"})

_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but ":"


def raw_email(
    *,
    subject: str,
    from_email: str,
    to: list[str],
    reply_to: list[str] | None,
    headers: dict[str, str],
    text: str,
    html: str,
    date: str | None = None,
) -> bytes:
    """The whole message, CRLF line endings, for `smtplib.SMTP.sendmail(sender, to, raw)`.

    multipart/alternative of the text (left out when empty, as Django does) and the HTML.
    An item of `headers` named like a standard header (From, To, Reply-To, Subject, Date,
    Message-ID, MIME-Version; any case) replaces it; the others follow in their order.
    Raises BadHeaderError for a newline in any header, ValueError for an address whose
    local part is not ASCII or a header that cannot be written within the line limit.
    """
    given: dict[str, str] = {}
    extra: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise BadHeaderError(f"Invalid header name {name!r}")
        key = name.lower()
        if key in _STRUCTURE:
            raise ValueError(f"Header {name!r} is set by the MIME structure, not by the caller")
        if key in _STANDARD:
            given[key] = str(value)
        else:
            extra.append((name, str(value)))

    lines = [_header("Subject", given.get("subject", str(subject)))]
    lines.append(_header("From", given.get("from", from_email or settings.DEFAULT_FROM_EMAIL)))
    recipients = given.get("to") or ", ".join(to)
    if recipients:
        lines.append(_header("To", recipients))
    replies = given.get("reply-to") or (", ".join(reply_to) if reply_to else "")
    if replies:
        lines.append(_header("Reply-To", replies))
    lines.append(_header("Date", given.get("date") or date or _date(int(time.time()))))
    # DNS_NAME: Django's cached host name; make_msgid would look it up for every message.
    lines.append(_header("Message-ID", given.get("message-id") or make_msgid(domain=DNS_NAME)))
    lines.append(_header("MIME-Version", given.get("mime-version", "1.0")))

    boundary = "===============" + secrets.token_hex(12) + "=="
    # As good as never, but 7bit and 8bit bodies go as they are: one must not hold it.
    while boundary in text or boundary in html:
        boundary = "===============" + secrets.token_hex(12) + "=="
    lines.append(f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"')
    lines.extend(_header(name, value) for name, value in extra)

    # The CRLF before each delimiter belongs to the delimiter (RFC 2046), not to the body.
    dashes = b"--" + boundary.encode()
    parts = ["\r\n".join(lines).encode("ascii"), b"\r\n\r\n", dashes, b"\r\n"]
    if text:
        parts += [*_body("plain", text), b"\r\n", dashes, b"\r\n"]
    parts += [*_body("html", html), b"\r\n", dashes, b"--\r\n"]
    return b"".join(parts)


@lru_cache(maxsize=1)  # formatdate takes a few µs; a second's messages share the answer
def _date(second: int) -> str:
    return formatdate(second, localtime=False)


def _header(name: str, value: str) -> str:
    """One header, encoded and folded: "Name: value" with CRLF + space continuations."""
    if "\n" in value or "\r" in value:
        # Django's words, so that logs and tests read the same whichever builds the message.
        raise BadHeaderError(
            f"Header values can't contain newlines (got {value!r} for header {name!r})"
        )
    key = name.lower()
    if key in ADDRESS_HEADERS:
        if not value.isascii():
            value = _sanitized(value)
        return _fold(name, value)
    if value.isascii() and not (key == "subject" and "=?" in value):
        folded = _fold(name, value, strict=key != "subject")
        if folded is not None:
            return folded
    # Non-ASCII, a subject that would read as an encoded word, or one with a word too long
    # to fold: as RFC 2047 encoded words, which can be split anywhere between characters.
    return _encoded(name, value)


def _fold(name: str, value: str, *, strict: bool = True) -> str | None:
    """Fold before spaces so that lines keep within _FOLD_AT where the words allow; a word
    too long for _LINE_LIMIT raises ValueError (strict) or returns None."""
    line = f"{name}: {value}"
    if len(line) <= _FOLD_AT:
        return line
    words = value.split(" ")
    lines, line = [], f"{name}: {words[0]}"
    for word in words[1:]:
        # Never fold before an empty word: a continuation line must not be all whitespace.
        if word and len(line) + 1 + len(word) > _FOLD_AT:
            lines.append(line)
            line = " " + word
        else:
            line += " " + word
    lines.append(line)
    if max(map(len, lines)) > _LINE_LIMIT:
        if strict:
            raise ValueError(f"Header {name!r} has a word too long to fold within 998 octets")
        return None
    return "\r\n".join(lines)


@lru_cache(maxsize=4096)  # ~100 µs each; the same shop's From and Reply-To come back often
def _sanitized(addresses: str) -> str:
    """Non-ASCII addresses as Django writes them: display names RFC 2047 encoded, domains
    in IDNA (punycode)."""
    out = []
    for name, address in getaddresses((addresses,)):
        local = address.rpartition("@")[0]
        if not local.isascii():
            # Django would write the local part as an encoded word: an address that exists
            # nowhere. Without SMTPUTF8 there is no right way to send to it, so say so.
            raise ValueError(f"Invalid address {address!r}: its local part is not ASCII")
        # Header.encode joins its encoded words with "\n "; refolded by _fold().
        out.append(sanitize_address((name, address), "utf-8").replace("\n", ""))
    return ", ".join(out)


# RFC 2047 "Q" in a header: what may stand for itself (as Python's email.quoprimime).
_Q_SAFE = b"-!*+/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_Q_SAFE_AND_SPACE = _Q_SAFE + b" "  # a space is written "_", one character as well
_ENCODED_OVERHEAD = len("=?utf-8?q??=")


class _QCharacters(dict):
    """A character's Q encoding (of its UTF-8 octets) by code point, worked out once: a
    table for str.translate."""

    def __missing__(self, point: int) -> str:
        code = "".join(
            chr(octet) if octet in _Q_SAFE else "_" if octet == 32 else f"={octet:02X}"
            for octet in chr(point).encode()
        )
        if len(self) < 4096:  # a bound for text of every script under the sun
            self[point] = code
        return code


_Q = _QCharacters()


def _encoded(name: str, value: str) -> str:
    """The value as RFC 2047 encoded words in utf-8, each of whole characters and at most
    _WORD_LIMIT long, one per line: Q (readable in the source) when it fits one word or is
    the shorter, as Python's email chooses; B (base64) otherwise."""
    data = value.encode()
    unsafe = len(data.translate(None, _Q_SAFE_AND_SPACE))
    q_length, b_length = len(data) + 2 * unsafe, (len(data) + 2) // 3 * 4
    # Room for the first word beside the name; no less than enough for a few characters.
    room = min(_WORD_LIMIT, max(_FOLD_AT - len(name) - 2, 30)) - _ENCODED_OVERHEAD
    if q_length <= room:  # most subjects: one word, translated in one go
        return f"{name}: =?utf-8?q?{value.translate(_Q)}?="
    words = []
    if q_length <= b_length:
        word: list[str] = []
        length = 0
        for char in value:
            code = _Q[ord(char)]
            if length + len(code) > room and word:
                words.append("=?utf-8?q?" + "".join(word) + "?=")
                word, length, room = [], 0, _WORD_LIMIT - _ENCODED_OVERHEAD
            word.append(code)
            length += len(code)
        words.append("=?utf-8?q?" + "".join(word) + "?=")
    else:
        start = 0
        while start < len(data):
            end = start + room // 4 * 3
            if end < len(data):
                while data[end] & 0xC0 == 0x80:  # not in the middle of a character
                    end -= 1
            words.append("=?utf-8?b?" + b2a_base64(data[start:end], newline=False).decode() + "?=")
            start, room = end, _WORD_LIMIT - _ENCODED_OVERHEAD
    # The space between two encoded words is not part of the text (RFC 2047, 6.2).
    return f"{name}: " + "\r\n ".join(words)


def _body(subtype: str, content: str) -> tuple[bytes, bytes]:
    """A text part's headers and body (CRLF line endings).

    Content-Transfer-Encoding as Django chooses it for utf-8: 7bit or 8bit as it is, unless
    a line is longer than SMTP allows, then quoted-printable. Cheaper than quoted-printable
    for every body (binascii.b2a_qp takes ~100 µs for 12 KB of HTML, several times all the
    rest), and the HTML stays as written: smaller, and no "=3D" in every attribute.
    """
    data = content.encode()
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if _has_long_line(data):
        # Fed "\n" line ends, b2a_qp writes "\n" ones (also after its soft "="); nothing
        # else in its output is CR or LF, so the replace makes every line end CRLF.
        encoding, data = "quoted-printable", b2a_qp(data, istext=True)
    else:
        encoding = "7bit" if content.isascii() else "8bit"
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode("ascii"), data.replace(b"\n", b"\r\n")


_BLOCK = (_LINE_LIMIT + 1) // 2  # 499


def _has_long_line(data: bytes) -> bool:
    """Whether a line is longer than _LINE_LIMIT octets (line ends: "\\n")."""
    if len(data) <= _LINE_LIMIT:
        return False
    # A line of 999 octets or more holds a whole block of 499 that starts at a multiple of
    # 499; when every such block has a line end in it, no line can be that long. A find()
    # per block instead of a bytes object per line: the usual answer costs microseconds.
    for start in range(0, len(data) - _BLOCK + 1, _BLOCK):
        if data.find(b"\n", start, start + _BLOCK) == -1:
            return max(map(len, data.split(b"\n"))) > _LINE_LIMIT
    return False
