"""Signatures as the Standard Webhooks specification describes them (standardwebhooks.com).

The receiver recomputes HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" with the
base64-decoded secret and compares it with each "v1,<base64>" in webhook-signature. Any
Standard Webhooks library verifies them, in any language.
"""

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"


def new_secret() -> str:
    # 24 bytes is the spec's minimum; 32 costs nothing more.
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One "v1,<base64>" signature of the body (the exact bytes that are sent)."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers; several secrets (during a rotation) give space-separated signatures."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_),
    }
