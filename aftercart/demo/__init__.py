"""The demo: a Dutch coffee & tea webshop with a year of customers and orders, on SQLite."""

from aftercart.demo.command import run_demo

__all__ = ["run_demo"]
