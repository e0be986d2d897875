"""The aftercart command, called as a user would: arguments in, text out."""

import json

import pytest

from aftercart.cli import main
from aftercart.core.models import Shop
from aftercart.core.services import shop_for_api_key
from aftercart.customers.models import Customer, ErasureRecord
from aftercart.integrations.models import StoreConnection
from tests.conftest import load


def test_help_explains_each_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "demo",
        "serve",
        "worker",
        "migrate",
        "createadmin",
        "import",
        "shop",
        "sync",
        "customer",
        "mail",
    ):
        assert command in out


@pytest.mark.django_db
def test_shop_create_prints_the_key_once_and_list_shows_it(capsys):
    assert (
        main(["shop", "create", "bakery", "--name", "Bakkerij Bol", "--locale", "nl", "--json"])
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert shop_for_api_key(created["api_key"]).slug == "bakery"
    assert main(["shop", "list"]) == 0
    listing = capsys.readouterr().out
    assert "bakery" in listing and "Bakkerij Bol" in listing
    assert created["api_key"] not in listing


@pytest.mark.django_db
def test_shop_create_refuses_bad_input_clearly(capsys):
    assert main(["shop", "create", "Bad Slug", "--name", "x"]) == 2
    assert "slug 'Bad Slug'" in capsys.readouterr().err
    assert main(["shop", "create", "ok", "--name", "x", "--timezone", "Mars/Olympus"]) == 2
    assert "time zone 'Mars/Olympus' is unknown" in capsys.readouterr().err
    assert not Shop.objects.exists()


@pytest.mark.django_db
def test_shop_connect_keeps_secrets_encrypted(capsys):
    main(["shop", "create", "bakery", "--name", "Bakkerij"])
    code = main(
        [
            "shop",
            "connect",
            "bakery",
            "shopify",
            "--secret",
            "whsec_plain",
            "--url",
            "https://bakery.myshopify.com",
            "--token",
            "shpat_token",
        ]
    )
    assert code == 0
    assert "/webhooks/shopify/bakery" in capsys.readouterr().out
    connection = StoreConnection.objects.get()
    assert "whsec_plain" not in connection.webhook_secret
    assert "shpat_token" not in connection.access_token
    assert main(["shop", "connect", "nope", "shopify", "--secret", "x"]) == 2


@pytest.mark.django_db
def test_createadmin_for_one_shop(capsys):
    main(["shop", "create", "bakery", "--name", "Bakkerij"])
    assert main(["createadmin", "anna", "--shop", "bakery"]) == 0
    out = capsys.readouterr().out
    assert "password:" in out
    from django.contrib.auth import get_user_model

    anna = get_user_model().objects.get(username="anna")
    assert not anna.is_superuser and [s.slug for s in anna.shops.all()] == ["bakery"]


def test_customer_export_and_erase(shop, shopify, drain, capsys):
    shopify(shop, "orders/create", load("shopify/orders_create.json"))
    drain()
    assert main(["customer", "export", "jon@example.com", "--shop", shop.slug]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["data"]["customer"]["email"] == "jon@example.com"
    assert main(["customer", "erase", "jon@example.com", "--shop", shop.slug]) == 2
    assert "--yes" in capsys.readouterr().err
    assert main(["customer", "erase", "JON@example.com", "--shop", shop.slug, "--yes"]) == 0
    assert not Customer.objects.filter(email="jon@example.com").exists()
    assert ErasureRecord.objects.get().requested_by == "cli"


@pytest.mark.django_db
def test_mail_piped_in_becomes_a_ticket(shop, monkeypatch, capsys):
    import io

    from aftercart.support.models import Ticket

    raw = (
        b"From: Anne <anne@example.com>\r\nTo: help@roastery.example\r\n"
        b"Subject: Grinder question\r\nMessage-ID: <q1@mail.example>\r\n\r\n"
        b"Which burrs fit?\r\n"
    )
    for expected in ("Opened ticket #1001", "Added to ticket #1001"):  # twice: kept once
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
        assert main(["mail", shop.slug]) == 0
        assert expected in capsys.readouterr().out
    assert Ticket.objects.get().messages.count() == 1
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Subject: no sender\r\n\r\nx")))
    assert main(["mail", shop.slug]) == 2  # a mail server bounces it
    assert "the email has no From address" in capsys.readouterr().err
