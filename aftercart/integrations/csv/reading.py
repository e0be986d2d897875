"""Reading an order CSV: rows streamed with their line numbers, cells read as typed values.

The file is never loaded whole. Rows are read one at a time; the importer keeps only the
rows of the order it is reading and the batch it is about to write.

Line numbers count the lines of the file, the header being line 1: what a text editor
shows, and a spreadsheet's row number too unless a quoted cell spans several lines.
"""

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.utils.translation import gettext as _

from aftercart.core.money import CENTS
from aftercart.customers.services import normalise_email
from aftercart.orders.history import PastOrder

LARGEST_AMOUNT = Decimal("999999999999.99")  # what a MoneyField (14 digits, 2 decimals) holds
LARGEST_QUANTITY = 1_000_000
TRUE = {"yes", "true", "1", "y", "ja"}
FALSE = {"no", "false", "0", "n", "nee"}


class ImportStopped(Exception):
    """The file cannot be imported (not UTF-8, a required column missing, broken CSV)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Problem:
    line: int
    column: str  # "" when the problem is the row or the order as a whole
    message: str
    order: str = ""  # the order's key as the file writes it, when known

    def __str__(self) -> str:
        where = f"line {self.line}"
        if self.order:
            where += f" (order {self.order})"
        return (
            f"{where}: {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


class CsvFile:
    """An order CSV opened for one pass: its header, then its rows as (line, cells)."""

    def __init__(self, path: str | Path, *, checked: bool = False):
        self.path = Path(path)
        self.checked = checked  # its encoding was checked already (check_utf8)
        if not self.path.is_file():
            raise ImportStopped("no such file")
        self.size = self.path.stat().st_size
        self.bytes_read = 0
        self.header: list[str] = []
        self._file = None
        self._reader = None

    def __enter__(self) -> "CsvFile":
        if not self.checked:
            check_utf8(self.path)
        self._file = self.path.open("rb")
        if self._file.read(3) == codecs.BOM_UTF8:  # Excel's "CSV UTF-8" starts with one
            self.bytes_read = 3
        else:
            self._file.seek(0)
        self._reader = csv.reader(self._text(self._file))
        try:
            self.header = [name.strip() for name in next(self._reader)]
        except StopIteration:
            raise ImportStopped("the file is empty: it has no header line") from None
        except csv.Error as exc:
            raise ImportStopped(f"the header is not valid CSV ({exc})", line=1) from None
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def _text(self, binary) -> Iterator[str]:
        # Lines keep their own line ends, so csv sees quoted line breaks as they are.
        try:
            for raw in binary:
                self.bytes_read += len(raw)
                yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ImportStopped("the file changed while it was read: import it again") from None

    @property
    def lines(self) -> int:
        """Lines read so far, the header included."""
        return self._reader.line_num

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        line = reader.line_num + 1
        try:
            for row in reader:
                yield line, row
                line = reader.line_num + 1
        except csv.Error as exc:
            raise ImportStopped(
                f"the CSV is broken here ({exc}). The orders above this line are imported, "
                "all but the last one, whose rows may go on below it; mend the file and "
                "import it again (what is imported stays as it is).",
                line=line,
            ) from None


def check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 before anything is written, naming the first bad line.

    Decoding in large chunks costs a fraction of a second for a million lines, and saves a
    merchant a half-imported file (Excel's plain "CSV" is Windows-1252, not UTF-8).
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines_before = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                at = max(exc.start - pending, 0)
                line = lines_before + chunk.count(b"\n", 0, at) + 1
                raise ImportStopped(
                    f"not UTF-8 text (byte 0x{chunk[at]:02x}); the file was "
                    'probably saved in another encoding, such as Excel\'s plain "CSV" '
                    '(Windows-1252). Save it as "CSV UTF-8" and import it again. '
                    "Nothing was imported.",
                    line=line,
                ) from None
            lines_before += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportStopped(
                "the file ends in the middle of a UTF-8 character: it is cut short or not "
                "UTF-8. Nothing was imported.",
                line=lines_before + 1,
            ) from None


@dataclass
class Context:
    """What reading one file needs: where its columns are, the shop's defaults, the problems."""

    index: dict[str, int]  # column name as the format spells it -> position in the row
    tz: tzinfo  # the shop's; a date-time without an offset is the shop's local time
    currency: str  # the shop's, for rows that name none
    problems: list[Problem] = field(default_factory=list)

    def cells(self, line: int, row: list[str]) -> "Cells":
        return Cells(self, line, row)


class Cells:
    """One row read by column name; each problem is kept with its line and column."""

    __slots__ = ("ctx", "index", "line", "row", "width")

    def __init__(self, ctx: Context, line: int, row: list[str]):
        self.ctx = ctx
        self.index = ctx.index
        self.line = line
        self.row = row
        self.width = len(row)

    def fail(self, column: str, message: str) -> None:
        self.ctx.problems.append(Problem(self.line, column, message))

    def text(self, column: str, *, required: bool = False) -> str:
        at = self.index.get(column, 1 << 30)
        value = self.row[at].strip() if at < self.width else ""
        if not value:
            if required:
                self.fail(column, _("is required"))
            return ""
        if "\x00" in value:  # PostgreSQL cannot store NUL, and it has no place in a shop's data
            value = value.replace("\x00", "")
        return value

    def key(self, column: str) -> str:
        """The order's id: required, and short enough to be stored whole (100 characters)."""
        value = self.text(column, required=True)
        if len(value) > 100:
            self.fail(column, _("is longer than 100 characters"))
        return value

    def amount(self, column: str, *, required: bool = False) -> Decimal | None:
        raw = self.text(column, required=required)
        if not raw:
            return None
        # The rule of core.money.to_amount (a dot for decimals, no thousands separators),
        # without its float and whitespace handling: a CSV cell is a stripped string.
        try:
            value = Decimal(raw).quantize(CENTS, ROUND_HALF_UP)
        except InvalidOperation:
            self.fail(column, _("%(value)s is not an amount") % {"value": repr(raw)})
            return None
        if value < 0:
            self.fail(column, _("%(value)s is negative") % {"value": repr(raw)})
            return None
        if value > LARGEST_AMOUNT:
            self.fail(column, _("%(value)s is too large") % {"value": repr(raw)})
            return None
        return value

    def moment(self, column: str, *, required: bool = False) -> datetime | None:
        raw = self.text(column, required=required)
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            self.fail(column, _("%(value)s is not a date") % {"value": repr(raw)})
            return None
        return value if value.tzinfo else value.replace(tzinfo=self.ctx.tz)

    def quantity(self, column: str) -> int | None:
        raw = self.text(column, required=True)
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()):
            self.fail(column, _("%(value)s is not a whole number") % {"value": repr(raw)})
            return None
        value = int(raw)
        if value > LARGEST_QUANTITY:
            self.fail(column, _("%(value)s is too large") % {"value": repr(raw)})
            return None
        return value

    def yes_no(self, column: str) -> bool | None:
        raw = self.text(column).lower()
        if not raw:
            return None
        if raw in TRUE:
            return True
        if raw in FALSE:
            return False
        self.fail(column, _("%(value)s is not yes or no") % {"value": repr(raw)})
        return None

    def email(self, column: str) -> str | None:
        raw = self.text(column)
        if not raw:
            return None
        email = _checked_email(raw)
        if email is None:
            self.fail(column, _("%(value)s is not an email address") % {"value": repr(raw)})
        return email

    def currency(self, column: str) -> str:
        raw = self.text(column).upper()
        if not raw:
            return self.ctx.currency
        if len(raw) != 3 or not (raw.isascii() and raw.isalpha()):
            self.fail(column, _("%(value)s is not a currency code like EUR") % {"value": repr(raw)})
        return raw

    def country(self, column: str) -> str | None:
        raw = self.text(column).upper()
        if not raw:
            return None
        if len(raw) != 2 or not (raw.isascii() and raw.isalpha()):
            self.fail(
                column,
                _("%(value)s is not a two-letter country code like NL") % {"value": repr(raw)},
            )
            return None
        return raw

    def choice(self, column: str, choices: dict[str, str]) -> str | None:
        raw = self.text(column).lower()
        if not raw:
            return None
        if raw not in choices:
            self.fail(
                column,
                _("%(value)s is not one of: %(choices)s")
                % {"value": repr(raw), "choices": ", ".join(choices)},
            )
            return None
        return choices[raw]

    def words(self, column: str) -> list[str]:
        """A comma-separated list (tags, discount codes)."""
        raw = self.text(column)
        return [w.strip() for w in raw.split(",") if w.strip()] if raw else []


def _checked_email(raw: str) -> str | None:
    try:
        return normalise_email(raw)
    except ValueError:
        return None


def financial_status(
    stated: str | None, total: Decimal | None, refunded: Decimal | None, cancelled: bool
) -> str:
    """A history row without a payment status was paid, less what was refunded since.

    A cancelled order without refunds had its payment voided.
    """
    if stated:
        return stated
    if refunded and total and refunded >= total:
        return "refunded"
    if refunded:
        return "partially_refunded"
    return "voided" if cancelled else "paid"


Rows = list[tuple[int, list[str]]]


@dataclass(frozen=True)
class Layout:
    """A CSV format: its columns, which must be in the header, and how rows become an order."""

    name: str
    key: str  # the column that tells the rows of one order from the next
    columns: tuple[str, ...]  # every column it reads; other columns are ignored
    required: tuple[str, ...]  # columns the header must have
    read_order: Callable[[Context, Rows], PastOrder | None]  # None: problems were recorded
    # A column whose value, when a row has one, must match the order's first row; a
    # different value starts another order even under the same key (two orders that
    # share a Shopify Name).
    id_column: str | None = None

    def index(self, header: list[str]) -> dict[str, int]:
        """Where each column is; names match without regard to case or surrounding spaces."""
        positions: dict[str, int] = {}
        for at, name in enumerate(header):
            positions.setdefault(name.strip().lower(), at)
        return {c: positions[c.lower()] for c in self.columns if c.lower() in positions}

    def missing(self, header: list[str]) -> list[str]:
        found = self.index(header)
        return [c for c in self.required if c not in found]
