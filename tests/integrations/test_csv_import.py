"""Importing order history from CSV: Shopify's export and the generic format (docs/csv.md)."""

import csv
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from aftercart.cli import main
from aftercart.core.events import subscribe, unsubscribe
from aftercart.customers.models import Customer
from aftercart.customers.services import erase_customer
from aftercart.integrations.csv.command import run_import
from aftercart.integrations.csv.importer import LAYOUTS, import_orders
from aftercart.orders import services as orders
from aftercart.orders.models import LineItem, Order, OrderEvent, Refund
from aftercart.orders.records import LineData, OrderData

FIXTURES = Path(__file__).parent.parent / "fixtures" / "csv"
SHOPIFY_EXPORT = FIXTURES / "shopify_orders_export.csv"
GENERIC = [
    "order_id",
    "order_number",
    "placed_at",
    "email",
    "first_name",
    "last_name",
    "currency",
    "total",
    "financial_status",
    "shipping_country",
    "line_sku",
    "line_title",
    "quantity",
    "unit_price",
]


def summary_number(out: str, label: str) -> int:
    """The number the summary prints next to a label ("orders created   1,000")."""
    match = re.search(rf"^\s*{label}\s+([\d,]+)", out, re.MULTILINE)
    assert match, f"no {label!r} in:\n{out}"
    return int(match[1].replace(",", ""))


def generic_row(order: int, line: int = 1, **changes) -> dict:
    row = {
        "order_id": f"W-{order}",
        "order_number": str(1000 + order),
        "placed_at": f"2024-0{1 + order % 9}-1{order % 10} 10:00:00",
        "email": f"customer{order % 40}@example.com",
        "first_name": "Sam",
        "last_name": f"Customer {order % 40}",
        "currency": "EUR",
        "total": "25.00",
        "financial_status": "paid",
        "shipping_country": "NL",
        "line_sku": f"SKU-{line}",
        "line_title": f"Coffee {line}",
        "quantity": "1",
        "unit_price": "12.50",
    }
    row.update(changes)
    return row


def write_generic(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, GENERIC)
        writer.writeheader()
        writer.writerows(rows)
    return path


def state(shop) -> dict:
    """What a re-import must leave exactly as it was."""
    return {
        "orders": sorted(Order.objects.filter(shop=shop).values_list("id", "updated_at")),
        "lines": sorted(LineItem.objects.filter(order__shop=shop).values_list("id", "total")),
        "customers": sorted(
            Customer.objects.filter(shop=shop).values_list("id", "updated_at", "accepts_marketing")
        ),
        "events": OrderEvent.objects.filter(shop=shop).count(),
        "refunds": Refund.objects.filter(shop=shop).count(),
    }


def test_shopify_export_becomes_orders_with_lines_customers_and_history(shop):
    problems = []
    summary = import_orders(shop, SHOPIFY_EXPORT, LAYOUTS["shopify"], report=problems.append)

    assert problems == []
    assert summary.outcomes["created"] == 4
    assert summary.order_lines == 6
    first = Order.objects.get(shop=shop, number="#1001")
    assert first.external_id == "5614231879861"  # Shopify's order id, as its webhooks carry it
    assert (first.subtotal, first.discounts, first.shipping, first.tax, first.total) == (
        Decimal("59.40"),
        Decimal("6.60"),
        Decimal("4.95"),
        Decimal("11.17"),
        Decimal("64.35"),
    )
    assert first.currency == "EUR"
    assert first.discount_codes == ["WELCOME10"]
    assert first.placed_at == datetime(2024, 3, 2, 9, 14, 55, tzinfo=UTC)
    assert first.financial_status == "paid"
    assert first.fulfilment_status == "fulfilled"
    assert (first.shipping_country, first.shipping_postcode, first.shipping_city) == (
        "NL",
        "1016 GV",  # without the apostrophe Shopify adds for spreadsheets
        "Amsterdam",
    )
    assert first.tags == ["first order", "newsletter"]
    # The order's two rows are its two lines.
    assert [
        (ln.title, ln.quantity, ln.unit_price, ln.discount, ln.total, ln.sku)
        for ln in first.lines.all()
    ] == [
        (
            "Ethiopia Yirgacheffe 250g",
            2,
            Decimal("14.50"),
            Decimal("2.90"),
            Decimal("26.10"),
            "ETH-250",
        ),
        ("Colombia Huila 1kg", 1, Decimal("37.00"), Decimal("3.70"), Decimal("33.30"), "COL-1000"),
    ]

    # One customer per email, however it was written; consent as the checkout recorded it.
    anna = first.customer
    assert anna.email == "anna.devries@example.com"
    assert (anna.first_name, anna.last_name, anna.country) == ("Anna", "de Vries", "NL")
    assert anna.accepts_marketing is True
    assert anna.marketing_consent_at == first.placed_at
    assert list(anna.orders.order_by("placed_at").values_list("number", flat=True)) == [
        "#1001",
        "#1004",
    ]
    assert Customer.objects.filter(shop=shop).count() == 3
    assert Customer.objects.get(shop=shop, email="pieter@example.be").accepts_marketing is False

    # The timeline shows what happened, when it happened.
    assert {e.external_id: e.occurred_at for e in first.events.all()} == {
        "placed": datetime(2024, 3, 2, 9, 14, 55, tzinfo=UTC),
        "paid": datetime(2024, 3, 2, 9, 15, 2, tzinfo=UTC),
    }
    refunded = Order.objects.get(shop=shop, number="#1002")
    assert refunded.refunded == Decimal("5.00")
    assert refunded.financial_status == "partially_refunded"
    assert set(refunded.events.values_list("external_id", flat=True)) == {
        "placed",
        "paid",
        "refund:import:5.00",
    }
    cancelled = Order.objects.get(shop=shop, number="#1003")
    assert cancelled.cancelled_at == datetime(2024, 3, 8, 8, 12, tzinfo=UTC)
    assert cancelled.note == 'Please ring twice, "back door"\nThanks!'
    assert cancelled.lines.count() == 2  # its second row comes after a note on two lines
    assert set(cancelled.events.values_list("external_id", flat=True)) == {"placed", "cancelled"}


def test_history_import_publishes_no_events(shop, django_capture_on_commit_callbacks):
    """Old orders must not start thank-you mails, review requests or loyalty points."""
    seen = []

    def handler(event):
        seen.append(event.name)

    subscribe("*", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_orders(shop, SHOPIFY_EXPORT, LAYOUTS["shopify"], report=print)
    finally:
        unsubscribe("*", handler)
    assert Order.objects.filter(shop=shop).count() == 4
    assert seen == []


def test_generic_csv_keeps_the_good_orders_and_reports_each_bad_row(shop, tmp_path, capsys):
    rows = [generic_row(n, line) for n in range(500) for line in (1, 2)]  # 1,000 good rows
    # Three orders of one row each, with one mistake each, between the others.
    rows.insert(100, generic_row(900, placed_at="yesterday"))
    rows.insert(501, generic_row(901, total="12,5x"))
    rows.insert(902, generic_row(902, quantity="two"))
    path = write_generic(tmp_path / "orders.csv", rows)
    report = tmp_path / "problems.csv"

    code = run_import(shop, str(path), fmt="generic", errors_path=str(report))

    assert code == 1
    with report.open(newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == [
            ["line", "order", "column", "problem"],
            ["102", "W-900", "placed_at", "'yesterday' is not a date"],
            ["503", "W-901", "total", "'12,5x' is not an amount"],
            ["904", "W-902", "quantity", "'two' is not a whole number"],
        ]
    assert Order.objects.filter(shop=shop).count() == 500
    assert LineItem.objects.filter(order__shop=shop).count() == 1000
    assert not Order.objects.filter(shop=shop, external_id__in=["W-900", "W-901", "W-902"]).exists()
    out = capsys.readouterr().out
    assert summary_number(out, "orders created") == 500
    assert summary_number(out, "order lines") == 1000
    assert summary_number(out, "rows with errors") == 3
    assert "line 102 (order W-900): placed_at: 'yesterday' is not a date" in out
    assert "line 503 (order W-901): total: '12,5x' is not an amount" in out


def test_an_order_with_one_bad_row_is_skipped_whole(shop, tmp_path, capsys):
    lines = SHOPIFY_EXPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    # Line 3 is the second row of order #1001: its Lineitem price becomes unreadable.
    assert lines[2].startswith("#1001,")
    lines[2] = lines[2].replace(",37.00,", ",37 EUR,", 1)
    path = tmp_path / "orders_export.csv"
    path.write_text("".join(lines), encoding="utf-8")

    code = run_import(shop, str(path), fmt="shopify")

    out = capsys.readouterr().out
    assert code == 1
    assert "line 3 (order #1001): Lineitem price: '37 EUR' is not an amount" in out
    assert "1 order skipped whole" in out
    assert not Order.objects.filter(shop=shop, number="#1001").exists()
    assert not LineItem.objects.filter(title="Colombia Huila 1kg").exists()
    assert set(Order.objects.filter(shop=shop).values_list("number", flat=True)) == {
        "#1002",
        "#1003",
        "#1004",
    }


def test_importing_the_same_file_again_changes_nothing(shop, capsys):
    assert run_import(shop, str(SHOPIFY_EXPORT), fmt="shopify") == 0
    before = state(shop)
    capsys.readouterr()

    assert run_import(shop, str(SHOPIFY_EXPORT), fmt="shopify") == 0

    out = capsys.readouterr().out
    assert summary_number(out, "orders unchanged") == 4
    assert summary_number(out, "orders created") == 0
    assert summary_number(out, "orders updated") == 0
    assert state(shop) == before


def test_a_changed_order_is_updated_without_duplicates(shop, tmp_path):
    rows = [generic_row(n, line) for n in range(30) for line in (1, 2)]
    path = write_generic(tmp_path / "orders.csv", rows)
    import_orders(shop, path, LAYOUTS["generic"], report=print, batch_size=7)
    # The store corrected order 12: another total, a third line; and order 13 was refunded.
    rows.insert(26, generic_row(12, 3, line_title="Grinder"))
    for row in rows:
        if row["order_id"] == "W-12":
            row["total"] = "40.00"
        if row["order_id"] == "W-13":
            row["financial_status"] = "refunded"
    write_generic(path, rows)

    summary = import_orders(shop, path, LAYOUTS["generic"], report=print, batch_size=7)

    assert (summary.outcomes["updated"], summary.outcomes["unchanged"]) == (2, 28)
    corrected = Order.objects.get(shop=shop, external_id="W-12")
    assert corrected.total == Decimal("40.00")
    assert list(corrected.lines.values_list("title", flat=True)) == [
        "Coffee 1",
        "Coffee 2",
        "Grinder",
    ]
    assert LineItem.objects.filter(order__shop=shop).count() == 61
    assert Order.objects.get(shop=shop, external_id="W-13").financial_status == "refunded"
    assert corrected.events.filter(external_id="placed").count() == 1
    assert Customer.objects.filter(shop=shop).count() == 30


def test_an_order_the_store_sent_live_is_left_as_it_is(shop, capsys):
    live = orders.record_order(
        shop,
        OrderData(
            external_id="5614231879861",  # #1001 of the export, delivered by a webhook
            source="shopify",
            number="#1001",
            email="anna.devries@example.com",
            currency="EUR",
            total=Decimal("64.35"),
            placed_at=datetime(2024, 3, 2, 9, 14, 55, tzinfo=UTC),
            updated_at=datetime(2024, 3, 9, tzinfo=UTC),
            financial_status="refunded",
            lines=[
                LineData(title="Ethiopia Yirgacheffe 250g", quantity=2, unit_price=Decimal("14.50"))
            ],
        ),
    ).order

    assert run_import(shop, str(SHOPIFY_EXPORT), fmt="shopify") == 0

    live.refresh_from_db()
    assert live.financial_status == "refunded"  # the webhook knew better than the export
    assert live.lines.count() == 1
    out = capsys.readouterr().out
    assert summary_number(out, "orders kept as they are") == 1
    assert summary_number(out, "orders created") == 3


def test_an_old_order_does_not_resubscribe_a_customer_who_unsubscribed(shop):
    Customer.objects.create(
        shop=shop,
        email="anna.devries@example.com",
        accepts_marketing=False,
        marketing_consent_at=datetime(2025, 1, 5, tzinfo=UTC),  # after the exported orders
        marketing_consent_source="unsubscribe link",
    )

    import_orders(shop, SHOPIFY_EXPORT, LAYOUTS["shopify"], report=print)

    anna = Customer.objects.get(shop=shop, email="anna.devries@example.com")
    assert anna.accepts_marketing is False
    assert anna.marketing_consent_source == "unsubscribe link"
    assert anna.orders.count() == 2


def test_rows_of_one_order_that_are_apart_are_reported(shop, tmp_path):
    rows = [generic_row(1, 1), generic_row(2, 1), generic_row(1, 2)]
    path = write_generic(tmp_path / "orders.csv", rows)
    problems = []

    import_orders(shop, path, LAYOUTS["generic"], report=problems.append)

    assert [(p.line, p.order) for p in problems] == [(4, "W-1")]
    assert "appeared at line 2 already" in problems[0].message
    assert Order.objects.get(shop=shop, external_id="W-1").lines.count() == 1


def test_generic_sample_file(shop):
    problems = []
    summary = import_orders(
        shop, FIXTURES / "generic_orders.csv", LAYOUTS["generic"], report=problems.append
    )

    assert problems == []
    assert summary.outcomes["created"] == 3
    first = Order.objects.get(shop=shop, external_id="W-2001")
    # A date-time without an offset is the shop's local time (Europe/Amsterdam).
    assert first.placed_at == datetime(2024, 5, 1, 7, 30, tzinfo=UTC)
    assert [ln.product.category for ln in first.lines.all()] == ["coffee", "coffee"]
    refunded = Order.objects.get(shop=shop, external_id="W-2002")
    assert (refunded.refunded, refunded.discount_codes) == (Decimal("10.00"), ["SPRING10"])
    cancelled = Order.objects.get(shop=shop, external_id="W-2003")
    assert cancelled.financial_status == "voided"  # no status given, cancelled, nothing refunded
    assert Customer.objects.get(shop=shop, email="sanne@example.nl").orders.count() == 2


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(shop, capsys):
    code = run_import(shop, str(FIXTURES / "generic_windows1252.csv"), fmt="generic")

    err = capsys.readouterr().err
    assert code == 2
    assert "line 3" in err
    assert "not UTF-8" in err
    assert "Nothing was imported" in err
    assert not Order.objects.filter(shop=shop).exists()


def test_a_utf8_file_with_a_byte_order_mark_is_read(shop, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "generic_orders.csv").read_bytes())

    summary = import_orders(shop, path, LAYOUTS["generic"], report=print)

    assert summary.outcomes["created"] == 3


def test_a_missing_column_stops_the_import_with_one_clear_message(shop, capsys, tmp_path):
    report = tmp_path / "problems.csv"
    code = run_import(
        shop, str(FIXTURES / "generic_without_total.csv"), fmt="generic", errors_path=str(report)
    )

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("'total'") == 1
    assert "line 1: the header lacks the column 'total'" in captured.err
    assert "Nothing was imported" in captured.err
    assert len(report.read_text().splitlines()) == 2  # the header and this one problem
    assert not Order.objects.filter(shop=shop).exists()


def test_a_shopify_export_imported_as_generic_suggests_the_format(shop, capsys):
    assert run_import(shop, str(SHOPIFY_EXPORT), fmt="generic") == 2
    assert "add --format shopify" in capsys.readouterr().err


def test_cli_imports_a_shopify_export_end_to_end(shop, capsys, tmp_path):
    report = tmp_path / "problems.csv"
    argv = ["import", "orders", str(SHOPIFY_EXPORT), "--shop", shop.slug, "--format", "shopify"]

    assert main([*argv, "--errors", str(report)]) == 0
    out = capsys.readouterr().out
    assert "(shopify format) into shop roastery" in out
    assert summary_number(out, "orders created") == 4
    assert summary_number(out, "order lines") == 6
    assert summary_number(out, "rows with errors") == 0
    assert "lines/s" in out
    assert report.read_text().splitlines() == ["line,order,column,problem"]

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert summary_number(out, "orders unchanged") == 4
    assert summary_number(out, "orders created") == 0


def test_cli_names_a_file_that_is_not_there(shop, capsys, tmp_path):
    assert main(["import", "orders", str(tmp_path / "nope.csv"), "--shop", shop.slug]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("email", "anna@", "'anna@' is not an email address"),
        ("currency", "euro", "'EURO' is not a currency code like EUR"),
        (
            "shipping_country",
            "Netherlands",
            "'NETHERLANDS' is not a two-letter country code like NL",
        ),
        ("financial_status", "settled", "'settled' is not one of: pending, authorized, paid"),
        ("unit_price", "-3.00", "'-3.00' is negative"),
        ("line_title", "", "is required"),
        ("order_id", "W" * 101, "is longer than 100 characters"),
    ],
)
def test_each_kind_of_bad_cell_is_named(shop, tmp_path, column, value, problem):
    path = write_generic(tmp_path / "orders.csv", [generic_row(1, **{column: value})])
    problems = []

    import_orders(shop, path, LAYOUTS["generic"], report=problems.append)

    assert [(p.line, p.column) for p in problems] == [(2, column)]
    assert problems[0].message.startswith(problem)


def test_two_shopify_orders_with_the_same_name_stay_two_orders(shop, tmp_path):
    lines = SHOPIFY_EXPORT.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[3].startswith("#1002,")
    lines[3] = "#1001," + lines[3].removeprefix("#1002,")  # Shopify allows a Name twice
    path = tmp_path / "orders_export.csv"
    path.write_text("".join(lines), encoding="utf-8")

    summary = import_orders(shop, path, LAYOUTS["shopify"], report=print)

    assert summary.outcomes["created"] == 4
    named = Order.objects.filter(shop=shop, number="#1001").order_by("external_id")
    assert [o.lines.count() for o in named] == [2, 1]


def test_a_reimport_does_not_bring_back_an_erased_customer(shop):
    import_orders(shop, SHOPIFY_EXPORT, LAYOUTS["shopify"], report=print)
    anna = Customer.objects.get(shop=shop, email="anna.devries@example.com")
    erase_customer(anna, requested_by="privacy request")

    summary = import_orders(shop, SHOPIFY_EXPORT, LAYOUTS["shopify"], report=print)

    assert (summary.outcomes["kept"], summary.outcomes["unchanged"]) == (2, 2)
    assert not Customer.objects.filter(shop=shop, email="anna.devries@example.com").exists()
    assert not Order.objects.filter(shop=shop, email="anna.devries@example.com").exists()
