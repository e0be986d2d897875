"""The lift report in the dashboard: the verdict first, the groups side by side, the interval
as a bar, and a period the merchant picks (and is told plainly when it makes no sense)."""

import re
import shutil
from datetime import timedelta

import pytest
import time_machine
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from aftercart.dashboard.views.flow_report import interval_bar, report_context
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.models import Flow
from aftercart.flows.services import save_flow, set_status
from aftercart.flows.stats import Interval
from tests.conftest import no_horizontal_overflow
from tests.dashboard.conftest import PASSWORD, make_user
from tests.flows.test_report import NOW, one_customer, order_data, place, population


@pytest.fixture
def win_back(shop):
    return save_flow(shop, "win-back", DEFAULT_LOOP["win-back"])


@pytest.fixture
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def url(shop, flow, query=""):
    return f"/shops/{shop.slug}/flows/{flow.pk}/report/{query}"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_flow_that_works_says_so_first_and_shows_both_groups(
    shop, win_back, staff_client, at_now
):
    sent, control = population(shop, win_back, 4000, sent_rate=0.20, control_rate=0.10, every=10)
    answer = staff_client.get(url(shop, win_back))
    assert answer.status_code == 200
    html = answer.content.decode()
    verdict = re.search(r'class="message message-success lift-verdict"[^>]*><strong>([^<]+)', html)
    assert verdict and verdict.group(1).startswith("The flow adds ")
    # The verdict comes before the numbers it sums up.
    assert html.index("lift-verdict") < html.index("lift-table")
    page = text_of(html)
    assert f"Customers {sent:,} {control:,}" in page
    assert "Got the flow" in page and "Control group (not sent)" in page
    assert "Ordered again within 30 days" in page
    assert "Revenue per customer" in page and "€" in page
    # The interval drawn as a bar: right of the middle line, in the "good" colour.
    bars = re.findall(r'<rect x="([\d.]+)%" y="9" width="([\d.]+)%"', html)
    assert bars and all(float(x) > 50 for x, _ in bars)
    assert 'role="img"' in html


def test_a_small_shop_reads_too_small_to_tell(shop, win_back, staff_client, at_now):
    population(shop, win_back, 30, sent_rate=0.5, control_rate=0.0, every=10)
    html = staff_client.get(url(shop, win_back)).content.decode()
    assert "Too small to tell yet." in html
    assert "<svg" not in html  # no interval that would look certain
    assert "more than a year" in html


def test_the_period_and_window_can_be_chosen(shop, win_back, staff_client, at_now):
    order, started = one_customer(shop, win_back)  # 40 days ago
    place(shop, [order_data(shop, "late", order.email, started + timedelta(days=33))])
    default = text_of(staff_client.get(url(shop, win_back)).content.decode())
    assert "Ordered again within 30 days 0" in default
    wider = text_of(staff_client.get(url(shop, win_back, "?days=120&window=35")).content.decode())
    assert "Ordered again within 35 days 1" in wider
    # A window still open for her: she is told about, not counted.
    longer = text_of(staff_client.get(url(shop, win_back, "?days=120&window=45")).content.decode())
    assert "1 more customer started the flow since and is still inside the 45-day window" in longer


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("?days=ninety", "Period: a whole number of days, such as 90."),
        ("?window=0", "Attribution window: at least 1 day."),
        ("?window=400", "Attribution window: at most 365 days."),
        (
            "?days=30&window=30",
            "The period (30 days) must be longer than the attribution window (30 days)",
        ),
    ],
)
def test_a_bad_period_is_refused_with_what_is_wrong(
    shop, win_back, staff_client, at_now, query, problem
):
    answer = staff_client.get(url(shop, win_back, query))
    assert answer.status_code == 400
    html = answer.content.decode()
    assert problem in html
    assert "lift-verdict" not in html


def test_an_empty_field_means_the_default(shop, win_back, staff_client, at_now):
    answer = staff_client.get(url(shop, win_back, "?days=&window="))
    assert answer.status_code == 200
    assert 'name="days" value="90"' in answer.content.decode()


def test_a_transactional_flow_has_no_control_column(shop, staff_client, at_now):
    flow = save_flow(shop, "order-confirmation", DEFAULT_LOOP["order-confirmation"])
    html = staff_client.get(url(shop, flow)).content.decode()
    assert "No control group: this flow sends to everyone" in html
    assert "Control group (not sent)" not in html


def test_another_shops_flow_is_not_found(shop, other_shop, staff_client):
    theirs = save_flow(other_shop, "win-back", DEFAULT_LOOP["win-back"])
    assert staff_client.get(url(shop, theirs)).status_code == 404
    assert (
        staff_client.get(f"/shops/{other_shop.slug}/flows/{theirs.pk}/report/").status_code == 404
    )


def test_the_partial_renders_inside_another_page(shop, win_back, staff):
    """What the flow page includes: report_context + dashboard/_flow_report.html."""
    population(shop, win_back, 30, sent_rate=0.5, control_rate=0.0, every=10)
    request = RequestFactory().get("/")
    request.user = staff
    context = {"shop": shop, "flow": win_back, **report_context(win_back, now=NOW)}
    html = render_to_string("dashboard/_flow_report.html", context, request=request)
    assert "Too small to tell yet." in html
    assert f"/shops/{shop.slug}/flows/{win_back.pk}/report/" in html  # to choose the period


def test_the_report_speaks_dutch_numbers_without_breaking_the_bar(
    shop, win_back, staff_client, at_now
):
    population(shop, win_back, 4000, sent_rate=0.20, control_rate=0.10, every=10)
    staff_client.post("/i18n/setlang/", {"language": "nl", "next": "/"})
    html = staff_client.get(url(shop, win_back)).content.decode()
    # Dutch notation in the words (a decimal comma) ...
    assert re.search(r"\d+,\d %", html)
    # ... and never inside the SVG, which needs a point.
    assert re.search(r'<rect x="\d+\.\d\d%"', html)
    assert not re.search(r'x="\d+,\d', html)


def test_the_bar_puts_zero_in_the_middle():
    assert interval_bar(Interval(0.1, 0.05, 0.15)) == {
        "low": f"{50 + 50 * 0.05 / (0.15 * 1.15):.2f}",
        "width": f"{50 * 0.10 / (0.15 * 1.15):.2f}",
        "estimate": f"{50 + 50 * 0.1 / (0.15 * 1.15):.2f}",
        "tone": "good",
    }
    spanning = interval_bar(Interval(0.0, -0.02, 0.04))
    assert float(spanning["low"]) < 50 < float(spanning["low"]) + float(spanning["width"])
    assert spanning["tone"] == "neutral"
    assert interval_bar(Interval(-0.05, -0.08, -0.02))["tone"] == "bad"


@pytest.fixture
def working_flow(shop):
    """Written before the browser starts: Playwright's event loop would refuse the ORM."""
    flow = save_flow(shop, "win-back", DEFAULT_LOOP["win-back"])
    # Transactions commit here, so the flow engine would enrol these customers today;
    # paused flows leave the enrolling to the test, which dates them back.
    for each in Flow.objects.filter(shop=shop):
        set_status(each, Flow.Status.PAUSED)
    population(shop, flow, 2000, sent_rate=0.25, control_rate=0.10, now=timezone.now())
    make_user("anna", shops=[shop])
    return flow


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_report_on_a_phone(live_server, shop, working_flow, browser, tmp_path):  # noqa: F811
    flow = working_flow
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("anna")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/orders/")
    page.goto(live_server.url + url(shop, flow))
    verdict = page.locator(".lift-verdict")
    assert verdict.is_visible() and verdict.inner_text().startswith("The flow adds")
    bar = page.locator("svg.interval-bar").first
    box = bar.bounding_box()
    assert box["width"] > 250  # the whole width of a phone, not a thumbnail
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(tmp_path / "flow-report.png"), full_page=True)
    shutil.copy(tmp_path / "flow-report.png", "/tmp/flow-report.png")
