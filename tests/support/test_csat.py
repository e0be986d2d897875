"""The rating after a resolved ticket: one click in the email, counted once."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from aftercart.core.services import create_shop
from aftercart.messaging.services import send_due
from aftercart.support.models import Rating, Ticket
from aftercart.support.queries import csat
from aftercart.support.services import NewTicket, open_ticket, reply


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def resolved_ticket(shop, *, category="question", agent="Sam", locale="en") -> Ticket:
    ticket = open_ticket(
        shop,
        NewTicket(
            email="anne@example.com",
            subject="Burrs",
            body="Which burrs fit?",
            category=category,
            locale=locale,
        ),
    )
    reply(ticket, "The 58 mm ones.", agent=agent, resolve=True)
    return Ticket.objects.get(pk=ticket.pk)


def rating_links(inbox) -> dict[int, str]:
    [mail] = [m for m in inbox.messages if m["Subject"].startswith("How did we do?")]
    html = inbox.html(mail)
    return {
        int(score): path(url) for url, score in re.findall(r'href="([^"]*/rate/[^"]+/(\d)/)"', html)
    }


@pytest.mark.django_db(transaction=True)
def test_a_link_opened_twice_counts_once(client, shop, inbox):
    ticket = resolved_ticket(shop)
    send_due()
    links = rating_links(inbox)
    assert sorted(links) == [1, 2, 3, 4, 5]

    # Opening the link shows the choice and sends it from the browser; a mail scanner
    # that only fetches the page rates nothing.
    page = client.get(links[4]).content.decode()
    assert "You chose 4 out of 5." in page and not Rating.objects.exists()

    client.post(links[4])
    client.post(links[4])  # the same link again
    again = client.post(links[1]).content.decode()  # or another score
    assert "You rated us already" in again and "You gave us 4 out of 5" in again
    rating = Rating.objects.get()
    assert (rating.score, rating.agent, rating.category) == (4, "Sam", "question")

    client.post(links[4], {"comment": "Quick and kind."})
    assert Rating.objects.get().comment == "Quick and kind."
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


@pytest.mark.django_db(transaction=True)
def test_csat_per_agent_and_category(shop):
    for agent, score, category in [
        ("Sam", 5, "question"),
        ("Sam", 4, "delivery"),
        ("Kim", 2, "complaint"),
    ]:
        from aftercart.support.services import rate

        rate(resolved_ticket(shop, category=category, agent=agent), score)
    figures = csat(shop)
    assert figures["all"]["n"] == 3 and round(figures["all"]["csat"], 2) == 0.67
    assert {row["name"]: row["csat"] for row in figures["agents"]} == {"Sam": 1.0, "Kim": 0.0}
    assert {row["name"]: row["n"] for row in figures["categories"]} == {
        "question": 1,
        "delivery": 1,
        "complaint": 1,
    }


@pytest.mark.django_db(transaction=True)
def test_a_link_that_is_not_ours_rates_nothing(client, shop):
    resolved_ticket(shop)
    assert client.get("/rate/not-a-token/5/").status_code == 404
    assert client.post("/rate/not-a-token/5/").status_code == 404
    token = Ticket.objects.get().token
    assert client.get(f"/rate/{token}/9/").status_code == 404
    assert not Rating.objects.exists()


@pytest.fixture
def rated_link(db):
    shop = create_shop("roastery", name="De Roasterij", locale="nl")[0]
    ticket = resolved_ticket(shop, locale="nl")
    return f"/rate/{ticket.token}/5/"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_click_in_a_real_browser_counts(live_server, rated_link, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}{rated_link}")
    page.get_by_role("heading", name="Bedankt!").wait_for()
    assert page.get_by_text("Je gaf ons 5 van de 5.").is_visible()
    with ThreadPoolExecutor(1) as pool:  # the ORM refuses to run beside Playwright's loop
        assert pool.submit(
            lambda: list(Rating.objects.values_list("score", flat=True))
        ).result() == [5]


@pytest.mark.django_db(transaction=True)
def test_an_open_ticket_cannot_be_rated(client, shop):
    ticket = open_ticket(shop, NewTicket(email="anne@example.com", subject="Hi", body="Hello"))
    assert client.post(f"/rate/{ticket.token}/5/").status_code == 404
    assert not Rating.objects.exists()
