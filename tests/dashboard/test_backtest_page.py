"""The backtest page: choose a date, run it, read the table and the chart; try an edit."""

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftercart.flows.models import Enrolment, Flow
from aftercart.flows.services import save_flow
from aftercart.messaging.models import Message
from tests.conftest import no_horizontal_overflow
from tests.flows.test_backtest import AFTER_DELIVERY, delivered, place

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def flow(shop):
    return save_flow(shop, "after", AFTER_DELIVERY)


@pytest.fixture
def history(shop):
    """Two deliveries a month ago: one customer with consent, one without."""
    day = datetime.now(AMS).replace(hour=14, minute=0, second=0, microsecond=0) - timedelta(days=30)
    place(shop, 1, day - timedelta(days=2), shipments=delivered(1, day))
    place(
        shop,
        2,
        day - timedelta(days=2),
        email="bo@example.com",
        consent=False,
        shipments=delivered(2, day),
    )
    return day


def test_the_page_opens_with_a_date_and_runs_on_request(shop, flow, history, staff_client):
    url = f"/shops/{shop.slug}/flows/{flow.pk}/backtest/"
    page = staff_client.get(url).content.decode()
    default = (datetime.now(AMS).date() - timedelta(days=90)).isoformat()
    assert f'value="{default}"' in page
    assert "Step by step" not in page  # nothing run yet

    since = (history - timedelta(days=10)).date().isoformat()
    answer = staff_client.get(url, {"since": since})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Step by step" in html and "send review_request" in html
    stats = re.findall(r'class="stat-value">(\d+)<', html)
    assert stats == ["2", "2", "3", "0"]  # orders, enrolled, emails, still in the flow
    assert html.count("<rect") >= 5 and "highest: 2 in a week" in html
    assert "Consent and the suppression list are today" in html
    assert Enrolment.objects.count() == 0 and Message.objects.count() == 0


def test_backtesting_an_edit_from_the_flow_page_saves_nothing(shop, flow, history, staff_client):
    edit = {**AFTER_DELIVERY, "steps": AFTER_DELIVERY["steps"][:3]}
    url = f"/shops/{shop.slug}/flows/{flow.pk}/backtest/"
    answer = staff_client.post(url, {"definition": json.dumps(edit)})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Replaying your edit" in html
    assert re.findall(r'class="stat-value">(\d+)<', html)[2] == "1"  # only the check-in
    assert "send review_request" not in html.split("Step by step")[1]
    flow.refresh_from_db()
    assert flow.version.number == 1 and len(flow.version.definition["steps"]) == 6

    broken = staff_client.post(url, {"definition": '{"name": "x", "trigger": "order.placed"}'})
    assert broken.status_code == 400 and "steps: a flow needs at least one step" in (
        broken.content.decode()
    )


def test_a_bad_date_is_refused_next_to_the_field(shop, flow, staff_client):
    url = f"/shops/{shop.slug}/flows/{flow.pk}/backtest/"
    future = (datetime.now(AMS).date() + timedelta(days=3)).isoformat()
    answer = staff_client.get(url, {"since": future})
    assert answer.status_code == 400 and "Choose a day before today." in answer.content.decode()
    assert staff_client.get(url, {"since": "soon"}).status_code == 400


def test_the_flow_page_links_to_its_backtest(shop, flow, staff_client):
    html = staff_client.get(f"/shops/{shop.slug}/flows/{flow.pk}/").content.decode()
    assert f"/shops/{shop.slug}/flows/{flow.pk}/backtest/" in html


def test_another_shops_flow_cannot_be_backtested(shop, other_shop, flow, client):
    from tests.dashboard.conftest import make_user

    client.force_login(make_user("other", shops=[other_shop]))
    url = f"/shops/{other_shop.slug}/flows/{flow.pk}/backtest/"
    assert client.get(url, {"since": "2026-01-01"}).status_code == 404
    assert Flow.objects.filter(shop=other_shop).count() == 0


@pytest.fixture
def many_deliveries(shop):
    """Written before the browser starts: Playwright's event loop would refuse the ORM."""
    from tests.dashboard.conftest import make_user

    make_user("anna", shops=[shop])
    flow = save_flow(shop, "after", AFTER_DELIVERY)
    day = datetime.now(AMS).replace(hour=14, minute=0, second=0, microsecond=0)
    for n in range(1, 30):
        at = day - timedelta(days=3 * n)
        place(
            shop, n, at - timedelta(days=2), email=f"k{n}@example.com", shipments=delivered(n, at)
        )
    return flow


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_backtest_and_import_pages_fit_a_phone(
    live_server,
    shop,
    many_deliveries,
    browser,  # noqa: F811
    tmp_path,
):
    from tests.dashboard.conftest import PASSWORD

    flow = many_deliveries
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**/shops/{shop.slug}/orders/")

    page.goto(f"{live_server.url}/shops/{shop.slug}/flows/{flow.pk}/")
    page.get_by_role("link", name="Backtest", exact=True).click()
    page.get_by_role("button", name="Run the backtest").click()
    page.get_by_role("heading", name="Step by step").wait_for()
    assert page.locator("svg rect").count() >= 13
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "backtest.png"), full_page=True)

    page.goto(f"{live_server.url}/shops/{shop.slug}/flows/new/?import=1")
    page.get_by_label("Definition (JSON or YAML)").fill(
        "name: x\ntrigger: order.placed\nsteps: [\n"
    )
    page.get_by_role("button", name="Import").click()
    assert page.get_by_role("alert").get_by_text("line 4, column 1").is_visible()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "import.png"), full_page=True)
