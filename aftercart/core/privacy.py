"""One mechanism for a customer's right to see and to erase their data.

Each app that holds personal data registers an exporter and an eraser here; the
customers app runs them all. core knows none of the apps: they come to it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonalDataHolder:
    name: str
    export: Callable[[Any], Any]  # customer -> JSON-able data
    erase: Callable[[Any], int]  # customer -> number of records changed


_holders: dict[str, PersonalDataHolder] = {}


def register(name: str, *, export: Callable[[Any], Any], erase: Callable[[Any], int]) -> None:
    _holders[name] = PersonalDataHolder(name, export, erase)


def holders() -> list[PersonalDataHolder]:
    return list(_holders.values())
