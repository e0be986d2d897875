"""Export a flow as JSON or YAML, and import one: as a new flow, or a new version of one.

The document is the flow's live definition plus its key:

    key: after-delivery
    name: "After delivery"
    trigger: order.delivered
    steps: [...]

Importing checks everything before anything is saved: a syntax error names the line and
column, a definition error names the step and field (definitions.parse), and an import
that fails saves nothing. Importing a key the shop has makes a new version of that flow;
customers already in it finish on the version they started (services.save_flow).
"""

import json
import re

import yaml
from django.utils.text import slugify

from aftercart.core.models import Shop
from aftercart.flows.definitions import parse
from aftercart.flows.models import Flow
from aftercart.flows.services import save_flow

MAX_BYTES = 256 * 1024  # a flow is a few KB; anything near this is a mistake or an attack
FORMATS = ("json", "yaml")
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


class TransferError(ValueError):
    """What is wrong with the imported text, and where: "line 4, column 7: ..."."""


def export_flow(flow: Flow, fmt: str = "json") -> str:
    """The flow's live definition with its key, as JSON or YAML text."""
    document = {"key": flow.key, **flow.version.definition}
    if fmt == "yaml":
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    raise TransferError(f"format {fmt!r}: json or yaml")


def read_flow(text: str | bytes, fmt: str | None = None) -> tuple[str, dict]:
    """(key, definition) from JSON or YAML text, checked; TransferError or DefinitionError
    saying what and where. The key is "" when the text has none. `fmt` None: JSON when
    the text starts with "{", else YAML."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "replace"))
    if size > MAX_BYTES:
        raise TransferError(
            f"the file is {size // 1024} KB; a flow is at most {MAX_BYTES // 1024} KB"
        )
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TransferError(f"byte {exc.start}: the file is not UTF-8 text") from None
    if fmt not in (None, *FORMATS):
        raise TransferError(f"format {fmt!r}: json or yaml")
    if not text.strip():
        raise TransferError("the file is empty")
    fmt = fmt or ("json" if text.lstrip().startswith("{") else "yaml")
    document = _read_json(text) if fmt == "json" else _read_yaml(text)
    if not isinstance(document, dict):
        raise TransferError("a flow is an object with key, name, trigger and steps")
    try:
        # What is saved is JSON (FlowVersion.definition): YAML's dates and the like are not.
        json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TransferError(f"{exc}: put dates and other such values in quotes") from None
    definition = dict(document)
    key = definition.pop("key", "")
    if not isinstance(key, str):
        raise TransferError("key: a short name of lowercase letters, digits and dashes")
    parse(definition)  # DefinitionError names the step and field
    return key, definition


def import_flow(shop: Shop, text: str | bytes, *, key: str = "", fmt: str | None = None) -> Flow:
    """A new flow, or a new version of the shop's flow with that key. The key: as given,
    else the document's, else made from the flow's name."""
    found, definition = read_flow(text, fmt)
    key = (key or found or slugify(definition["name"])[:60]).strip()
    if not _KEY.match(key):
        raise TransferError(
            f"key {key!r}: lowercase letters, digits and dashes, at most 60 (e.g. after-delivery)"
        )
    return save_flow(shop, key, definition)


def _read_json(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransferError(f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise TransferError("nested too deeply to be a flow") from None


class _SafeLoader(yaml.SafeLoader):
    """yaml.safe_load's loader (plain data only, never Python objects), without anchors and
    aliases: a few KB of nested aliases expand to gigabytes when saved as JSON."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def _read_yaml(text: str):
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 (a SafeLoader, see above)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if mark is None:
            raise TransferError(f"not valid YAML: {problem}") from None
        raise TransferError(f"line {mark.line + 1}, column {mark.column + 1}: {problem}") from None
    except yaml.YAMLError as exc:
        raise TransferError(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise TransferError("nested too deeply to be a flow") from None
