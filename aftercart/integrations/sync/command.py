"""`aftercart sync SLUG --since DATE`: progress on stderr, a summary per store on stdout.

Exit code 0 when every order was applied, 1 when a store could not be read (unreachable,
credentials refused) or any order failed.
"""

import sys
from datetime import datetime

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from aftercart.core.models import Shop
from aftercart.integrations.sync import service
from aftercart.integrations.sync.client import SyncError

CONNECT_HINT = {
    "shopify": "aftercart shop connect {slug} shopify --secret ... --url https://STORE.myshopify.com --token ...",
    "woocommerce": "aftercart shop connect {slug} woocommerce --secret ... --url https://STORE --consumer-key ... --consumer-secret ...",
}


def run_sync(shop: Shop, since: datetime) -> int:
    console = Console(stderr=True, highlight=False)
    ready, skipped = service.connections_to_sync(shop)
    for connection, reason in skipped:
        print(f"{connection.platform}: skipped, {reason}", file=sys.stderr)
    if not ready:
        hints = " or ".join(f"`{hint.format(slug=shop.slug)}`" for hint in CONNECT_HINT.values())
        _error(
            f"shop {shop.slug} has no store connection with API credentials; add them with {hints}"
        )
        return 1

    exit_code = 0
    for connection in ready:
        try:
            report = _sync_with_progress(console, connection, since)
        except SyncError as exc:
            _error(f"{connection.platform}: {exc}")
            exit_code = 1
            continue
        print(
            f"{report.platform} ({report.store_url}), orders changed since "
            f"{report.since:%Y-%m-%d %H:%M} UTC: {report.fetched} fetched in {report.pages} "
            f"page(s): {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.failed} failed"
        )
        for ref, reason in report.failures:
            print(f"  failed {ref}: {reason}")
        if report.failed:
            exit_code = 1
    return exit_code


def _sync_with_progress(console: Console, connection, since: datetime) -> service.SyncReport:
    label = f"{connection.platform}: connecting to {connection.store_url}"
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # Redirected to a file or a log, a live bar is only noise; the summary still prints.
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)

        def show(report: service.SyncReport) -> None:
            bar.update(
                task,
                description=(
                    f"{report.platform}: {report.pages} page(s), {report.fetched} orders fetched, "
                    f"{report.done} applied"
                ),
            )

        return service.sync_connection(connection, since, progress=show)


def _error(message: str) -> None:
    print(f"aftercart: error: {' '.join(message.split())}", file=sys.stderr)
