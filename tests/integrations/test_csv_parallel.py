"""A large import shared by two processes gives what one process gives, problems included."""

import csv
from pathlib import Path

import pytest

from aftercart.core.services import create_shop
from aftercart.customers.models import Customer
from aftercart.integrations.csv.importer import LAYOUTS, import_orders
from aftercart.integrations.csv.reading import ImportStopped
from aftercart.orders.models import LineItem, Order, OrderEvent
from tests.integrations.test_csv_import import GENERIC, generic_row

pytestmark = pytest.mark.django_db(transaction=True)  # the parts see only what is committed


def write(path: Path, rows: list[dict], *, broken_at: int | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, GENERIC)
        writer.writeheader()
        for n, row in enumerate(rows):
            if n == broken_at:  # a cell larger than any CSV reader takes
                fh.write(f'W-x,"{"x" * 200_000}"\n')
            writer.writerow(row)
    return path


def messy_rows() -> list[dict]:
    rows = [generic_row(n, line) for n in range(400) for line in (1, 2, 3)]
    rows.insert(150, generic_row(900, placed_at="yesterday"))
    rows.insert(700, generic_row(901, total="12,5x"))
    rows.insert(1100, {**generic_row(0), "order_id": ""})  # a row that names no order
    rows.append(generic_row(7))  # order W-7 again, far from its first rows
    return rows


def imported(shop) -> dict:
    orders = Order.objects.filter(shop=shop)
    return {
        "orders": sorted(orders.values_list("external_id", "total", "placed_at", "email")),
        "lines": sorted(
            LineItem.objects.filter(order__shop=shop).values_list(
                "order__external_id", "sku", "total"
            )
        ),
        "customers": sorted(Customer.objects.filter(shop=shop).values_list("email", "last_name")),
        "timeline": OrderEvent.objects.filter(order__shop=shop).count(),
    }


def test_two_processes_import_what_one_does_and_report_the_same_problems(tmp_path):
    path = write(tmp_path / "orders.csv", messy_rows())
    alone, shared = create_shop("alone", name="A")[0], create_shop("shared", name="S")[0]
    problems: dict[str, list] = {"alone": [], "shared": []}

    one = import_orders(
        alone, path, LAYOUTS["generic"], report=problems["alone"].append, workers=1, batch_size=25
    )
    two = import_orders(
        shared, path, LAYOUTS["generic"], report=problems["shared"].append, workers=2, batch_size=25
    )

    assert imported(shared) == imported(alone)
    assert len(imported(shared)["orders"]) == 400
    assert sorted(problems["shared"], key=lambda p: p.line) == problems["alone"]
    assert [p.line for p in problems["alone"]] == [152, 702, 1102, 1205]
    for field in ("rows", "lines", "outcomes", "order_lines", "orders_skipped", "error_rows"):
        assert getattr(two, field) == getattr(one, field), field


def test_a_file_broken_half_way_keeps_the_orders_above_it_in_both_ways(tmp_path):
    rows = [generic_row(n, line) for n in range(300) for line in (1, 2)]
    path = write(tmp_path / "orders.csv", rows, broken_at=400)  # line 402: orders 0-199 before
    for workers in (1, 2):
        shop = create_shop(f"broken-{workers}", name="B")[0]
        with pytest.raises(ImportStopped) as stopped:
            import_orders(
                shop, path, LAYOUTS["generic"], report=print, workers=workers, batch_size=25
            )
        assert stopped.value.line == 402
        assert "the CSV is broken here" in stopped.value.message
        # The orders above the broken line but the last (its rows may go on below), and
        # none after it.
        assert Order.objects.filter(shop=shop).count() == 199, workers
        assert Order.objects.filter(shop=shop, external_id="W-198").exists()
        assert not Order.objects.filter(shop=shop, external_id__in=["W-199", "W-200"]).exists()
