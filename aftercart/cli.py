"""The `aftercart` command: run the product, operate shops, import and sync data.

Each subcommand parses its arguments, sets Django up and calls a service; the rules
live in the services, not here.
"""

import argparse
import json
import os
import sys
from datetime import UTC, datetime

from aftercart.server import THREADS


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftercart.settings")
    import django

    django.setup()


def _fail(message: str) -> int:
    print(f"aftercart: error: {message}", file=sys.stderr)
    return 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _shop(slug: str):
    from aftercart.core.models import Shop

    shop = Shop.objects.filter(slug=slug).first()
    if shop is None:
        raise CliError(f"no shop {slug!r} (aftercart shop list shows them)")
    return shop


def _date(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date (YYYY-MM-DD or ISO 8601)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_migrate(args) -> int:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=args.verbosity)
    return 0


def cmd_demo(args) -> int:
    from aftercart.demo import run_demo

    return run_demo(host=args.host, port=args.port, serve=not args.no_serve, orders=args.orders)


def cmd_serve(args) -> int:
    from aftercart.server import serve

    return serve(
        host=args.host,
        port=args.port,
        web_workers=args.workers,
        threads=args.threads,
        with_worker=not args.no_worker,
    )


def cmd_worker(args) -> int:
    from django.core.management import call_command

    call_command("aftercart_worker", queues=args.queues, batch=args.batch, verbosity=args.verbosity)
    return 0


def cmd_createadmin(args) -> int:
    from aftercart.core.services import create_admin

    try:
        username, password = create_admin(
            args.username, email=args.email, password=args.password, shop_slugs=args.shop or []
        )
    except ValueError as exc:
        return _fail(str(exc))
    print(f"admin user: {username}")
    if not args.password:
        print(f"password:   {password}   (shown once)")
    return 0


def cmd_shop(args) -> int:
    from aftercart.core import services as core
    from aftercart.core.models import Shop
    from aftercart.integrations.services import ConnectionError_, connect_store

    if args.shop_cmd == "create":
        try:
            shop, key = core.create_shop(
                args.slug,
                name=args.name,
                currency=args.currency,
                locale=args.locale,
                timezone_name=args.timezone,
            )
        except core.ShopError as exc:
            return _fail(str(exc))
        if args.json:
            print(json.dumps({"slug": shop.slug, "name": shop.name, "api_key": key}))
        else:
            print(f"Created shop {shop.slug} ({shop.name}).")
            print(f"API key (shown once, keep it safe): {key}")
        return 0
    if args.shop_cmd == "connect":
        shop = _shop(args.slug)
        try:
            connect_store(
                shop,
                args.platform,
                webhook_secret=args.secret,
                store_url=args.url or "",
                access_token=args.token or "",
                consumer_key=args.consumer_key or "",
                consumer_secret=args.consumer_secret or "",
            )
        except ConnectionError_ as exc:
            return _fail(str(exc))
        from django.conf import settings

        print(f"Connected {shop.slug} to {args.platform}. Point its webhooks at:")
        print(f"  {settings.BASE_URL}/webhooks/{args.platform}/{shop.slug}")
        return 0
    shops = list(Shop.objects.all())
    if args.json:
        print(json.dumps([{"slug": s.slug, "name": s.name, "currency": s.currency} for s in shops]))
    elif not shops:
        print("No shops yet: aftercart shop create SLUG --name NAME")
    else:
        for s in shops:
            print(f"{s.slug:<24} {s.name:<32} {s.currency} {s.locale} {s.timezone}")
    return 0


def cmd_import(args) -> int:
    from aftercart.integrations.csv.command import run_import

    return run_import(
        _shop(args.shop),
        args.file,
        fmt=args.format,
        errors_path=args.errors,
        workers=args.workers or None,
    )


def cmd_sync(args) -> int:
    from aftercart.integrations.sync.command import run_sync

    return run_sync(_shop(args.slug), since=args.since)


def cmd_customer(args) -> int:
    from aftercart.customers.models import Customer
    from aftercart.customers.services import erase_customer, export_customer

    shop = _shop(args.shop)
    customer = Customer.objects.filter(shop=shop, email=args.email.strip().lower()).first()
    if customer is None:
        return _fail(f"no customer {args.email!r} in shop {shop.slug}")
    if args.customer_cmd == "export":
        print(json.dumps(export_customer(customer), indent=2, default=str))
        return 0
    if not args.yes:
        return _fail("erasing cannot be undone: add --yes to confirm")
    record = erase_customer(customer, requested_by="cli")
    print(f"Erased customer {record.customer_ref}: {json.dumps(record.summary)}")
    return 0


def _only_shop(slug: str | None):
    """The shop named, else the only one; with several, the user must say which."""
    from aftercart.core.models import Shop

    if slug:
        return _shop(slug)
    shops = list(Shop.objects.order_by("slug")[:6])
    if len(shops) == 1:
        return shops[0]
    if not shops:
        raise CliError("no shops yet: aftercart shop create SLUG --name NAME")
    names = ", ".join(s.slug for s in shops[:5]) + (", ..." if len(shops) > 5 else "")
    raise CliError(f"there are several shops ({names}): say which with --shop SLUG")


def cmd_flows(args) -> int:
    from aftercart.flows.command import FlowsCommandError, run_flows

    shop = _only_shop(args.shop)
    try:
        return run_flows(shop, args)
    except FlowsCommandError as exc:
        raise CliError(str(exc)) from None


def cmd_delivery(args) -> int:
    from aftercart.orders.command import DeliveryCommandError, run_delivery

    shop = _only_shop(args.shop)
    try:
        return run_delivery(shop, args)
    except DeliveryCommandError as exc:
        raise CliError(str(exc)) from None


def cmd_mail(args) -> int:
    """An email piped in by the mail server (Postfix: "|aftercart mail SHOP"), to a ticket."""
    from aftercart.support.inbound import UnreadableEmail, read_email
    from aftercart.support.services import TicketProblem, receive_email

    shop = _shop(args.shop)
    raw = sys.stdin.buffer.read()
    try:
        ticket, opened = receive_email(shop, read_email(raw))
    except (UnreadableEmail, TicketProblem) as problem:
        return _fail(str(problem))  # the mail server bounces it: it will not read better later
    except Exception as problem:  # noqa: BLE001  the database away, say: nothing is lost
        print(f"aftercart: try again later: {problem}", file=sys.stderr)
        return TRY_AGAIN
    print(f"{'Opened' if opened else 'Added to'} ticket #{ticket.number}")
    return 0


# sysexits.h EX_TEMPFAIL: a mail server keeps the message and delivers it again later.
TRY_AGAIN = 75


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aftercart",
        description="Aftercart, the self-hosted post-purchase engine for online shops.",
    )
    p.add_argument("-v", "--verbosity", type=int, default=1, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("demo", help="Set up a demo shop with a year of orders and run it on SQLite")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument(
        "--orders", type=int, default=3000, help="How many demo orders to generate (first run)"
    )
    s.add_argument(
        "--no-serve", action="store_true", help="Only prepare the data, do not start the server"
    )
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", help="Run the web server (granian) and a background worker")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=2, help="Web server processes")
    s.add_argument("--threads", type=int, default=THREADS, help="Threads per web server process")
    s.add_argument("--no-worker", action="store_true", help="Do not start a background worker")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser(
        "worker", help="Run a background worker (as many as you like, on any machine)"
    )
    s.add_argument("--queues", default="*")
    s.add_argument("--batch", action="store_true", help="Run what is queued now, then exit")
    s.set_defaults(func=cmd_worker)

    s = sub.add_parser("migrate", help="Create or upgrade the database tables")
    s.set_defaults(func=cmd_migrate)

    s = sub.add_parser(
        "createadmin", help="Create a dashboard login (password printed once if not given)"
    )
    s.add_argument("username")
    s.add_argument("--email", default="")
    s.add_argument("--password", default=None)
    s.add_argument(
        "--shop", action="append", help="Give access to this shop (repeatable); none: superuser"
    )
    s.set_defaults(func=cmd_createadmin)

    s = sub.add_parser("shop", help="Create, connect and list shops")
    shop_sub = s.add_subparsers(dest="shop_cmd", required=True, metavar="ACTION")
    c = shop_sub.add_parser("create", help="Create a shop and print its API key once")
    c.add_argument("slug")
    c.add_argument("--name", required=True)
    c.add_argument("--currency", default="EUR")
    c.add_argument("--locale", default="en", choices=["en", "nl"])
    c.add_argument("--timezone", default="Europe/Amsterdam")
    c.add_argument("--json", action="store_true", help="Print JSON for scripts")
    c = shop_sub.add_parser(
        "connect", help="Store the webhook secret and API credentials of the shop's store"
    )
    c.add_argument("slug")
    c.add_argument("platform", choices=["shopify", "woocommerce", "aftership"])
    c.add_argument("--secret", required=True, help="The webhook signing secret")
    c.add_argument("--url", help="The store's URL (https://example.myshopify.com)")
    c.add_argument("--token", help="Shopify Admin API access token")
    c.add_argument("--consumer-key", help="WooCommerce REST API consumer key")
    c.add_argument("--consumer-secret", help="WooCommerce REST API consumer secret")
    c = shop_sub.add_parser("list", help="List shops")
    c.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_shop)

    s = sub.add_parser("import", help="Import order history from a CSV file")
    imp = s.add_subparsers(dest="kind", required=True, metavar="KIND")
    c = imp.add_parser("orders", help="Orders: Shopify's order export or the generic format")
    c.add_argument("file")
    c.add_argument("--shop", required=True)
    c.add_argument("--format", choices=["shopify", "generic"], default="generic")
    c.add_argument("--errors", help="Write the per-row error report to this CSV file")
    c.add_argument(
        "--workers",
        type=int,
        default=0,
        help="Processes sharing a large import (default: two for files over 16 MB "
        "on a machine with two cores or more; 1 to use one)",
    )
    s.set_defaults(func=cmd_import)

    s = sub.add_parser(
        "sync", help="Pull orders changed since a date from the store (reconciliation)"
    )
    s.add_argument("slug")
    s.add_argument("--since", type=_date, required=True, help="YYYY-MM-DD or ISO 8601")
    s.set_defaults(func=cmd_sync)

    s = sub.add_parser("customer", help="Export or erase one customer's personal data")
    cust = s.add_subparsers(dest="customer_cmd", required=True, metavar="ACTION")
    for name, text in (
        ("export", "Print everything held about the customer as JSON"),
        ("erase", "Erase personal data; order totals stay"),
    ):
        c = cust.add_parser(name, help=text)
        c.add_argument("email")
        c.add_argument("--shop", required=True)
        if name == "erase":
            c.add_argument("--yes", action="store_true", help="Confirm: this cannot be undone")
    s.set_defaults(func=cmd_customer)

    s = sub.add_parser("flows", help="List, export, import and backtest flows")
    fl = s.add_subparsers(dest="flows_cmd", required=True, metavar="ACTION")
    shop_help = "The shop's slug (needed when there are several)"
    c = fl.add_parser("list", help="The shop's flows, their version and status")
    c.add_argument("--shop", help=shop_help)
    c = fl.add_parser("export", help="Print a flow's live definition as JSON or YAML")
    c.add_argument("key")
    c.add_argument("--format", choices=["json", "yaml"], default="json")
    c.add_argument("--shop", help=shop_help)
    c = fl.add_parser(
        "import", help="Import a flow from a JSON or YAML file (a new version if the key exists)"
    )
    c.add_argument("file")
    c.add_argument("--key", help="The flow's key (default: the file's, else from its name)")
    c.add_argument("--shop", help=shop_help)
    c = fl.add_parser(
        "backtest", help="Replay the shop's orders since a date through a flow, sending nothing"
    )
    c.add_argument("key")
    c.add_argument(
        "--since", required=True, help="YYYY-MM-DD (midnight in the shop's time zone) or ISO 8601"
    )
    c.add_argument("--definition", help="Replay this JSON or YAML file instead of the live version")
    c.add_argument("--json", action="store_true", help="Print the report as JSON")
    c.add_argument("--shop", help=shop_help)
    s.set_defaults(func=cmd_flows)

    s = sub.add_parser(
        "mail",
        help="Take one email from standard input into customer care (a mail server's pipe)",
    )
    s.add_argument("shop", help="The shop's slug")
    s.set_defaults(func=cmd_mail)

    s = sub.add_parser("delivery", help="Learn and backtest the shop's delivery windows")
    dl = s.add_subparsers(dest="delivery_cmd", required=True, metavar="ACTION")
    c = dl.add_parser(
        "learn", help="Relearn transit times from the delivered parcels (daily anyway)"
    )
    c.add_argument("--shop", help=shop_help)
    c = dl.add_parser(
        "backtest",
        help="Learn from parcels shipped before a date, score the windows of those after",
    )
    c.add_argument(
        "--since", required=True, help="YYYY-MM-DD (midnight in the shop's time zone) or ISO 8601"
    )
    c.add_argument("--json", action="store_true", help="Print the scores as JSON")
    c.add_argument("--shop", help=shop_help)
    s.set_defaults(func=cmd_delivery)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        # The demo's customers are made up: its email stays in the outbox, readable in the
        # dashboard, unless EMAIL_URL says where to send it.
        os.environ.setdefault("EMAIL_URL", "outbox://")
    if args.command in ("demo", "serve"):
        # Links in emails and the dashboard (status pages, unsubscribe) point at the server
        # being started, unless AFTERCART_BASE_URL names the public address.
        os.environ.setdefault("AFTERCART_BASE_URL", f"http://{args.host}:{args.port}")
    _setup()
    if args.command not in ("migrate", "demo"):
        from aftercart.core.services import ensure_migrated

        ensure_migrated()
    try:
        return args.func(args) or 0
    except CliError as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
