"""Returns through the API: preview, ask, follow, take steps; bad input told exactly."""

import pytest

from aftercart.returns.models import ReturnRequest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("after_delivery")]


ASK = {
    "order": "ext-1001",
    "items": [{"line": "L1", "quantity": 1}, {"line": "L2", "quantity": 1}],
    "reason": "changed_mind",
    "request_key": "form-77",
}


def test_preview_then_ask_then_follow(api):
    preview = api("post", "/returns/preview", ASK).json()
    assert (preview["decision"], preview["refund"]) == ("approved", "50.00")
    assert not ReturnRequest.objects.exists()

    made = api("post", "/returns", ASK)
    assert made.status_code == 201
    body = made.json()
    assert (body["number"], body["status"], body["order"]) == ("R1001-1", "approved", "ext-1001")
    assert [(ln["line"], ln["quantity"]) for ln in body["lines"]] == [("L1", 1), ("L2", 1)]
    assert "/r/" in body["page_url"] and body["label_url"].endswith("/label.pdf")

    again = api("post", "/returns", ASK)  # a retried call: the same return
    assert again.json()["id"] == body["id"] and ReturnRequest.objects.count() == 1

    listed = api("get", "/returns?order=ext-1001").json()
    assert [r["number"] for r in listed["items"]] == ["R1001-1"]


def test_steps_to_a_refund_by_hand(api):
    ret = api("post", "/returns", ASK).json()
    step = f"/returns/{ret['id']}/steps"
    assert (
        api("post", step, {"action": "shipped", "tracking_number": "3S1"}).json()["status"]
        == "in_transit"
    )
    assert (
        api("post", step, {"action": "receive", "by": "warehouse"}).json()["status"] == "received"
    )
    settled = api("post", step, {"action": "settle"}).json()
    assert [(s["kind"], s["status"], s["amount"]) for s in settled["settlements"]] == [
        ("refund", "manual", "50.00")
    ]
    wrong = api("post", step, {"action": "approve"})
    assert wrong.status_code == 409
    assert wrong.json() == {"error": "return R1001-1 is received: it cannot be approved"}


def test_what_the_policy_rejects_is_said_with_its_reasons(api):
    api("post", "/returns", ASK)
    refused = api(
        "post",
        "/returns",
        {**ASK, "request_key": "form-78", "items": [{"line": "L2", "quantity": 1}]},
    )
    assert refused.status_code == 422
    assert refused.json()["reasons"] == [
        "Espresso cup: it has been returned already or has not reached you yet."
    ]


@pytest.mark.parametrize(
    "body,status,problem",
    [
        ({**ASK, "order": "nope"}, 404, "no order 'nope' in this shop"),
        (
            {**ASK, "items": [{"line": "L9", "quantity": 1}]},
            422,
            "items[0].line: order ext-1001 has no line 'L9'",
        ),
        (
            {**ASK, "items": [{"line": "L1", "quantity": 0}]},
            422,
            "the request is missing fields or has wrong ones",
        ),
        ({**ASK, "resolution": "cash"}, 422, "the request is missing fields or has wrong ones"),
    ],
)
def test_bad_input_says_what_and_where(api, body, status, problem):
    response = api("post", "/returns", body)
    assert response.status_code == status
    assert response.json()["error"] == problem
    assert not ReturnRequest.objects.exists()


def test_another_shops_key_sees_nothing(api, other_shop):
    ret = api("post", "/returns", ASK).json()
    assert api("get", f"/returns/{ret['id']}", key=other_shop.api_key).status_code == 404
    assert api("get", "/returns", key=other_shop.api_key).json()["items"] == []
    assert api("post", "/returns", ASK, key=other_shop.api_key).status_code == 404
