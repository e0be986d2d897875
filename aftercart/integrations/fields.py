"""Reading untrusted payloads field by field, collecting every problem with its path."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils.dateparse import parse_datetime

from aftercart.core.money import to_amount
from aftercart.integrations.intake import PayloadError


class Reader:
    """Reads values out of a JSON object; problems are collected, then raised together."""

    def __init__(self) -> None:
        self.problems: list[dict[str, str]] = []

    def fail(self, path: str, problem: str) -> None:
        self.problems.append({"field": path, "problem": problem})

    def check(self) -> None:
        if self.problems:
            raise PayloadError(self.problems)

    def obj(self, value: Any, path: str, *, required: bool = True) -> dict:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.fail(path, "must be an object" if value is not None else "is required")
            return {}
        return value

    def items(self, data: dict, key: str, path: str) -> list[dict]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(f"{path}{key}", "must be a list")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append(item)
            else:
                self.fail(f"{path}{key}[{i}]", "must be an object")
        return out

    def ident(self, data: dict, key: str, path: str = "", *, required: bool = True) -> str:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.fail(f"{path}{key}", "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(f"{path}{key}", "must be a string or an integer")
            return ""
        return str(value)[:100]

    def text(self, data: dict, key: str, path: str = "", *, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{path}{key}", "is required")
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.fail(f"{path}{key}", "must be a string")
            return None
        # NUL cannot be stored in PostgreSQL text and has no business in a name or a note.
        return str(value).replace("\x00", "")

    def amount(
        self, data: dict, key: str, path: str = "", *, required: bool = False
    ) -> Decimal | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.fail(f"{path}{key}", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(f"{path}{key}", "must be a decimal number")
            return None
        try:
            return to_amount(value, field=f"{path}{key}")
        except ValueError:
            self.fail(f"{path}{key}", f"{value!r} is not a decimal number")
            return None

    def integer(
        self, data: dict, key: str, path: str = "", *, required: bool = False, minimum: int = 0
    ) -> int | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(f"{path}{key}", "is required")
            return None
        try:
            number = int(value)
            if isinstance(value, bool) or isinstance(value, float) and value != number:
                raise ValueError
        except (TypeError, ValueError):
            self.fail(f"{path}{key}", f"{value!r} is not a whole number")
            return None
        if number < minimum:
            self.fail(f"{path}{key}", f"must be at least {minimum}")
            return None
        return number

    def moment(
        self, data: dict, key: str, path: str = "", *, required: bool = False, naive_tz=UTC
    ) -> datetime | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.fail(f"{path}{key}", "is required")
            return None
        parsed = parse_moment(value)
        if parsed is None:
            self.fail(f"{path}{key}", f"{value!r} is not an ISO 8601 date-time")
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=naive_tz)
        return parsed

    def boolean(self, data: dict, key: str, path: str = "") -> bool | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(f"{path}{key}", "must be true or false")
            return None
        return value


def parse_moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(
            value.strip().replace(" ", "T", 1) if "T" not in value else value.strip()
        )
    except ValueError:
        return None
