"""Which carrier has the parcel, and where the customer follows it."""

import pytest

from aftercart.tracking.carriers import carrier_for_number, identify, tracking_url


def s10(prefix: str, serial: str, country: str) -> str:
    """A UPU S10 number with its check digit, as a post office prints it."""
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    check = 11 - sum(int(d) * w for d, w in zip(serial, weights, strict=True)) % 11
    check = {10: 0, 11: 5}.get(check, check)
    return f"{prefix}{serial}{check}{country}"


@pytest.mark.parametrize(
    ("number", "destination", "carrier"),
    [
        ("1Z5R89390357567127", "", "ups"),
        ("1z5r 8939 0357 5671 27", "", "ups"),  # as a customer copies it off a label
        ("123456789012", "US", "fedex"),
        ("9400111899223100000000", "US", "usps"),
        ("1234567891", "", "dhl_express"),
        ("3SABCD1234567", "NL", "postnl"),
        (s10("LA", "12345678", "NL"), "DE", "postnl"),
        ("JVGL0612345678901234", "NL", "dhl_parcel"),
        ("JJD0001234567890123", "DE", "dhl_parcel"),
        ("05212345678901", "NL", "dpd"),
        ("12345678901", "NL", "gls"),
        ("323212345678901234567890", "BE", "bpost"),
        (s10("CD", "87654321", "BE"), "BE", "bpost"),
        (s10("RR", "12345678", "GB"), "GB", "royal_mail"),
        ("6A12345678901", "FR", "colissimo"),
        (s10("CP", "12345678", "FR"), "FR", "colissimo"),
    ],
)
def test_each_carrier_is_found_from_its_number(number, destination, carrier):
    assert carrier_for_number(number, destination) == carrier


@pytest.mark.parametrize(
    "number",
    [
        "1Z5R89390357567128",  # a UPS number with the wrong check digit
        "RR123456784GB",  # an S10 number with the wrong check digit
        "1234567890",  # ten digits, but not DHL Express's check digit
        "hello",
        "",
    ],
)
def test_a_number_no_carrier_issued_is_nobodys(number):
    assert carrier_for_number(number, "NL") == ""


def test_digits_that_fit_two_carriers_go_to_none_and_a_carrier_must_serve_the_destination():
    # Twelve digits passing FedEx's check digit, to the Netherlands: GLS's format too.
    assert carrier_for_number("123456789012", "NL") == ""
    assert carrier_for_number("123456789012", "US") == "fedex"  # GLS does not deliver there
    # Twelve digits failing FedEx's check: GLS's format, and GLS delivers in the Netherlands.
    assert carrier_for_number("123456789013", "NL") == "gls"
    assert carrier_for_number("123456789013", "US") == ""
    assert carrier_for_number("05212345678901", "US") == ""  # DPD's format, not DPD's country
    # 24 digits pass a USPS check digit by chance; to Belgium they are bpost's.
    assert carrier_for_number("323212345678901234567890", "BE") == "bpost"
    assert carrier_for_number("AB12CD34", "NL") == ""


def test_the_carrier_the_store_names_wins_over_the_number():
    found = identify("PostNL", "1Z5R89390357567127")
    assert (found.code, found.name, found.how) == ("postnl", "PostNL", "store")
    assert identify("DHL eCommerce", "", "NL").code == "dhl_parcel"
    assert identify("dhl-parcel", "").code == "dhl_parcel"  # a plugin's slug
    assert identify("DHL Express", "JVGL0612345678901234").code == "dhl_express"


def test_plain_dhl_is_told_apart_by_the_number_or_the_destination():
    assert identify("DHL", "1234567891").code == "dhl_express"
    assert identify("DHL", "JVGL0612345678901234").code == "dhl_parcel"
    assert identify("DHL", "", "NL").code == "dhl_parcel"
    assert identify("DHL", "", "JP").code == "dhl_express"


def test_a_carrier_we_do_not_know_keeps_the_stores_name_and_no_guess():
    found = identify("Budbee", "1Z5R89390357567127")
    assert (found.code, found.name, found.how) == ("", "Budbee", "store")
    # "Other" names no carrier: then the number says it.
    assert identify("Other", "1Z5R89390357567127").code == "ups"
    assert identify(None, "nothing-like-a-number").code == ""


def test_tracking_links_follow_the_customers_language_and_address():
    assert tracking_url(
        "postnl", "3SABCD1234567", language="nl", country="nl", postcode="1234 ab"
    ) == ("https://jouw.postnl.nl/track-and-trace/3SABCD1234567-NL-1234AB?language=nl")
    assert tracking_url("dhl_parcel", "JVGL0612345678901234", language="en").startswith(
        "https://www.dhl.com/nl-en/"
    )
    assert "loc=nl_NL" in tracking_url("ups", "1Z5R89390357567127", language="nl")
    assert "loc=en_US" in tracking_url("ups", "1Z5R89390357567127", language="de")
    assert tracking_url("dpd", "05212345678901", language="nl").endswith(
        "/nl_NL/parcel/05212345678901"
    )
    assert tracking_url("", "05212345678901") == ""
    # A hostile "number" stays a number on the carrier's page.
    assert tracking_url("gls", "x//evil.example/?&a=1") == (
        "https://gls-group.com/track/X%2F%2FEVIL.EXAMPLE%2F%3F%26A%3D1?lang=en"
    )
