"""Tickets through the API."""

import pytest

from aftercart.support.models import Ticket

pytestmark = pytest.mark.django_db


def test_open_answer_and_read_a_ticket(api):
    made = api(
        "post",
        "/tickets",
        {"email": "anne@example.com", "message": "Is the grinder in stock?", "order": "ext-1001"},
    )
    assert made.status_code == 201
    body = made.json()
    assert (body["number"], body["status"], body["channel"], body["order"]) == (
        1001,
        "new",
        "api",
        "ext-1001",
    )
    assert body["subject"] == "Is the grinder in stock?"

    answered = api(
        "post",
        f"/tickets/{body['id']}/messages",
        {"kind": "reply", "body": "Yes, 12 left.", "author": "Kim"},
    ).json()
    assert answered["status"] == "waiting"
    assert [(m["kind"], m["author"]) for m in answered["messages"]] == [
        ("in", "anne@example.com"),
        ("out", "Kim"),
    ]
    listed = api("get", "/tickets?view=waiting").json()
    assert [t["number"] for t in listed["items"]] == [1001]


@pytest.mark.parametrize(
    "body,status,error",
    [
        (
            {"email": "anne@example.com", "message": "x", "order": "nope"},
            422,
            "order: no order 'nope' in this shop",
        ),
        ({"email": "not an address", "message": "x"}, 422, "email: an email address to answer to"),
        (
            {"email": "anne@example.com", "message": ""},
            422,
            "the request is missing fields or has wrong ones",
        ),
        (
            {"email": "anne@example.com", "message": "x", "category": "rant"},
            422,
            "the request is missing fields or has wrong ones",
        ),
    ],
)
def test_bad_tickets_say_what_and_where(api, body, status, error):
    response = api("post", "/tickets", body)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert not Ticket.objects.exists()


def test_another_shops_key_sees_no_ticket(api, other_shop):
    made = api("post", "/tickets", {"email": "anne@example.com", "message": "Hello"}).json()
    assert api("get", f"/tickets/{made['id']}", key=other_shop.api_key).status_code == 404
    assert (
        api(
            "post",
            f"/tickets/{made['id']}/messages",
            {"kind": "note", "body": "x"},
            key=other_shop.api_key,
        ).status_code
        == 404
    )
