"""An email as it arrives (raw RFC 5322 bytes), read into what a ticket needs.

The text is the plain-text part (or the HTML part as text), with the quoted conversation
below it cut off, the way mail apps write it: a line "On … wrote:" / "Op … schreef …:",
a "-----Original Message-----" block, or lines starting with ">". What was cut is kept
out of the ticket: the ticket has every message already.
"""

import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

MAX_TEXT = 50_000
_QUOTE_START = re.compile(
    r"^(On .{3,200} wrote:|Op .{3,200} (?:schreef|het volgende geschreven).{0,40}:"
    r"|-{2,}\s*(?:Original Message|Oorspronkelijk bericht|Forwarded message)\s*-{2,}"
    r"|From: .+|Van: .+)\s*$",
    re.IGNORECASE,
)
_IDS = re.compile(r"<[^<>\s]+>")
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)


class UnreadableEmail(ValueError):
    """Not an email we can read: no sender, or not RFC 5322 at all."""


@dataclass
class InboundEmail:
    sender: str
    name: str
    subject: str
    text: str
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)  # In-Reply-To, then References
    to: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    auto_reply: bool = False  # an out-of-office: kept, but it does not reopen anything


def read_email(raw: bytes) -> InboundEmail:
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001  the parser's errors are many and undocumented
        raise UnreadableEmail(f"not an email: {exc}") from None
    name, sender = parseaddr(str(message.get("From", "")))
    if "@" not in sender:
        raise UnreadableEmail("the email has no From address")
    replied = _IDS.findall(str(message.get("In-Reply-To", "")))
    replied += [i for i in _IDS.findall(str(message.get("References", ""))) if i not in replied]
    return InboundEmail(
        sender=sender.strip().lower(),
        name=name.strip()[:200],
        subject=" ".join(str(message.get("Subject", "")).split())[:255],
        text=_without_quote(_text_of(message))[:MAX_TEXT],
        message_id=(_IDS.findall(str(message.get("Message-ID", ""))) or [""])[0][:255],
        in_reply_to=replied,
        to=[a.lower() for _, a in getaddresses([str(v) for v in message.get_all("To", [])])],
        attachments=[
            (part.get_filename() or "attachment")[:120]
            for part in message.iter_attachments()
            if isinstance(message, EmailMessage)
        ][:20],
        auto_reply=_is_auto_reply(message),
    )


def _text_of(message) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, UnicodeError):
        payload = body.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if body.get_content_type() == "text/html":
        content = html.unescape(
            _TAGS.sub(" ", re.sub(r"<br\s*/?>|</p>", "\n", content, flags=re.I))
        )
    return content.replace("\r\n", "\n")


def _without_quote(text: str) -> str:
    kept = []
    for line in text.split("\n"):
        if _QUOTE_START.match(line.strip()) or line.startswith(">"):
            break
        kept.append(line.rstrip())
    result = "\n".join(kept).strip()
    return result or text.strip()  # all quote (a forward): keep it whole


def _is_auto_reply(message) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).lower()
    return auto not in ("", "no") or str(message.get("X-Autoreply", "")).lower() == "yes"
