"""`aftercart flows list|export|import|backtest`: the flows of a shop from the command line.

The backtest shows a progress bar while it replays (on the terminal only), then a table
per step, a bar per week and how long it took.
"""

import json
import sys
from datetime import datetime

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from aftercart.core.models import Shop
from aftercart.core.times import moment_in
from aftercart.flows.backtest import Report, backtest
from aftercart.flows.definitions import DefinitionError
from aftercart.flows.models import Flow
from aftercart.flows.queries import flows_with_numbers
from aftercart.flows.transfer import MAX_BYTES, TransferError, export_flow, import_flow, read_flow

BAR_WIDTH = 40


class FlowsCommandError(Exception):
    """A problem the user can fix, said in one line."""


def run_flows(shop: Shop, args) -> int:
    if args.flows_cmd == "list":
        return _list(shop)
    if args.flows_cmd == "export":
        sys.stdout.write(export_flow(_flow(shop, args.key), args.format))
        return 0
    if args.flows_cmd == "import":
        return _import(shop, args.file, args.key or "")
    return _backtest(shop, args)


def _list(shop: Shop) -> int:
    rows = flows_with_numbers(shop)
    if not rows:
        print(f"Shop {shop.slug} has no flows.")
    for row in rows:
        flow = row["flow"]
        print(
            f"{flow.key:<24} v{flow.version.number:<3} {flow.status:<7} {flow.trigger:<19}"
            f" {row['enrolled']:>7} enrolled  {flow.name}"
        )
    return 0


def _import(shop: Shop, path: str, key: str) -> int:
    try:
        flow = import_flow(shop, _read(path), key=key, fmt=_format_of(path))
    except (TransferError, DefinitionError) as exc:
        raise FlowsCommandError(f"{path}: {exc}") from None
    number = flow.version.number
    made = "created flow" if number == 1 else f"version {number} of flow"
    print(f"Imported {path}: {made} {flow.key} ({flow.name}) in shop {shop.slug}.")
    if number > 1:
        print("Customers already in the flow finish on the version they started.")
    return 0


def _backtest(shop: Shop, args) -> int:
    flow = _flow(shop, args.key)
    since = _since(shop, args.since)
    definition = None
    if args.definition:
        try:
            _, definition = read_flow(_read(args.definition), _format_of(args.definition))
        except (TransferError, DefinitionError) as exc:
            raise FlowsCommandError(f"{args.definition}: {exc}") from None
    # Piped into a file or a pager: wide enough for the table, not the 80 columns of old.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    err = Console(stderr=True)
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("Replaying customers", total=None)
        try:
            report = backtest(
                shop,
                since,
                flow=flow,
                definition=definition,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except ValueError as exc:  # DefinitionError too
            raise FlowsCommandError(str(exc)) from None
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        show_report(console, report, edited=definition is not None)
    return 0


def show_report(console: Console, report: Report, *, edited: bool = False) -> None:
    what = "your edit of " if edited else ""
    console.print(
        f"[bold]Backtest of {what}{report.flow}[/] ({report.trigger}), "
        f"{report.since} to {report.until}: nothing was sent or saved."
    )
    console.print(
        f"{report.orders} orders, {report.enrolments} enrolments "
        f"({report.control} in the control group), {report.emails_sent} emails would have gone; "
        f"{report.completed} completed, {report.still_in_flow} still in the flow."
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))
    table.add_column("#", justify="right")
    table.add_column("Step", min_width=16, overflow="fold")
    for head in ("In", "Sent", "Ctrl", "Held", "Cap", "Quiet", "Drop", "Left"):
        table.add_column(head, justify="right")
    for s in report.steps:
        dropped = s.lapsed + s.withdrawn
        emails = (
            s.sent,
            s.control,
            s.held_by_consent,
            s.moved_by_cap,
            s.moved_by_quiet_hours,
            dropped,
        )
        shown = [str(v) for v in emails] if s.kind == "send" else [""] * len(emails)
        left = str(s.left) if s.left else ""
        table.add_row(str(s.number), s.description, str(s.reached), *shown, left)
    console.print(table)
    console.print(
        "[dim]In: reached the step. Sent: would have gone. Ctrl: control group, not sent. "
        "Held: no consent or a suppressed address. Cap, Quiet: sent later because of the "
        "frequency cap or quiet hours. Drop: expired first, or withdrawn when the customer "
        "left the flow. Left: left the flow at this step.[/]"
    )
    if report.exits:
        console.print("Left the flow: " + "; ".join(f"{w} ({n})" for w, n in report.exits.items()))
    _chart(console, report)
    for note in report.notes:
        console.print(f"[yellow]Note:[/] {note}")
    console.print(f"Replayed in {report.seconds:.1f} s.")


def _chart(console: Console, report: Report) -> None:
    most = max((n for _, n in report.weeks), default=0)
    console.print("[bold]Emails per week[/]")
    for week, n in report.weeks:
        bar = "█" * round(n / most * BAR_WIDTH) if most else ""
        console.print(f"{week}  {bar} {n}")


def _flow(shop: Shop, key: str) -> Flow:
    flow = Flow.objects.filter(shop=shop, key=key).select_related("version").first()
    if flow is None:
        raise FlowsCommandError(
            f"no flow {key!r} in shop {shop.slug} (aftercart flows list shows them)"
        )
    return flow


def _since(shop: Shop, value: str) -> datetime:
    try:
        return moment_in(value, shop.zone)
    except ValueError as exc:
        raise FlowsCommandError(f"--since {exc}") from None


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_BYTES + 1)  # read_flow refuses more; never read a huge file whole
    except OSError as exc:
        raise FlowsCommandError(f"{path}: {exc.strerror}") from None


def _format_of(path: str) -> str | None:
    lower = path.lower()
    if lower.endswith(".json"):
        return "json"
    return "yaml" if lower.endswith((".yaml", ".yml")) else None
