"""Customers are found by their normalised address; only real addresses are taken."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercart.customers.services import normalise_email

# Characters that make the shapes interesting: dots, plus, quotes, IDN, digits in the TLD.
ALPHABET = "abz09_%+-.@!#\"'é[]:"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_an_address_is_taken_exactly_when_django_takes_it(raw):
    value = raw.strip().lower()
    try:
        validate_email(value)
        django_says = True
    except ValidationError:
        django_says = False
    try:
        assert normalise_email(raw) == value
        taken = True
    except ValueError:
        taken = False
    assert taken == django_says


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("  Jan.de.Vries+shop@Example.NL ", "jan.de.vries+shop@example.nl"),
        ("anne@xn--bcher-kva.example", "anne@xn--bcher-kva.example"),
        ("admin@localhost", "admin@localhost"),
    ],
)
def test_addresses_are_trimmed_and_lowercased(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "jan", "jan@", "@example.nl", "jan..x@example.nl", "a@b.c-"])
def test_what_is_not_an_address_is_refused_with_the_value(raw):
    with pytest.raises(ValueError, match="is not an email address"):
        normalise_email(raw)
