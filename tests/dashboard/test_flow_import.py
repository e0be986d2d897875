"""New flows and imports in the dashboard: paste or upload, errors next to the text, nothing
saved on error; export as YAML too."""

import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.models import Flow, FlowVersion
from aftercart.flows.services import install_default_loop
from aftercart.flows.transfer import MAX_BYTES


@pytest.fixture
def loop(shop):
    install_default_loop(shop)
    return {f.key: f for f in Flow.objects.filter(shop=shop)}


def url(shop):
    return f"/shops/{shop.slug}/flows/new/"


def test_the_flows_page_offers_new_and_import(shop, loop, staff_client):
    html = staff_client.get(f"/shops/{shop.slug}/flows/").content.decode()
    assert f'href="{url(shop)}"' in html and f'href="{url(shop)}?import=1"' in html
    new = staff_client.get(url(shop)).content.decode()
    assert "trigger: order.delivered" in new  # a starting point to edit
    assert (
        "trigger: order.delivered" not in staff_client.get(f"{url(shop)}?import=1").content.decode()
    )


def test_a_new_flow_written_in_yaml_is_created(shop, staff_client):
    text = "name: Thank you\ntrigger: order.paid\nsteps:\n  - send: order_confirmation\n"
    answer = staff_client.post(url(shop), {"key": "", "definition": text})
    flow = Flow.objects.get(shop=shop, key="thank-you")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/flows/{flow.pk}/")
    assert flow.trigger == "order.paid" and flow.version.number == 1
    assert "Created the flow." in staff_client.get(answer["Location"]).content.decode()


def test_an_upload_of_another_shops_export_makes_a_new_version(shop, loop, staff_client):
    exported = staff_client.get(
        f"/shops/{shop.slug}/flows/{loop['win-back'].pk}/export/?format=yaml"
    )
    assert exported["Content-Type"].startswith("application/yaml")
    assert exported["Content-Disposition"] == 'attachment; filename="flow-win-back.yaml"'
    text = exported.content.decode().replace("days: 90", "days: 120")
    upload = SimpleUploadedFile("flow-win-back.yaml", text.encode())

    answer = staff_client.post(url(shop), {"key": "", "definition": "", "upload": upload})
    assert answer.status_code == 302
    flow = Flow.objects.get(shop=shop, key="win-back")
    assert flow.version.number == 2
    assert flow.version.definition["steps"][0]["wait"]["days"] == 120
    page = staff_client.get(answer["Location"]).content.decode()
    assert "Saved as version 2" in page


def test_a_bad_line_is_shown_next_to_the_text_and_nothing_saved(shop, loop, staff_client):
    versions = FlowVersion.objects.count()
    text = "name: Broken\ntrigger: order.placed\nsteps:\n  - send: x\n   - oops: [\n"
    answer = staff_client.post(url(shop), {"key": "broken", "definition": text})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert "line 5, column 4" in html
    assert "oops: [" in html  # the text stays, to be fixed
    bad_step = {**DEFAULT_LOOP["win-back"], "steps": [{"send": "win_back"}, {"wait": {}}]}
    answer = staff_client.post(url(shop), {"key": "", "definition": json.dumps(bad_step)})
    assert answer.status_code == 400 and "steps[1].wait: wait how long?" in answer.content.decode()
    upload = SimpleUploadedFile("mine.yaml", b"name: Uploaded\ntrigger: order.placed\nsteps: []\n")
    answer = staff_client.post(url(shop), {"key": "", "definition": "", "upload": upload})
    html = answer.content.decode()
    assert answer.status_code == 400 and "steps: a flow needs at least one step" in html
    assert "name: Uploaded" in html  # the file's text, to fix it here
    assert FlowVersion.objects.count() == versions
    assert not Flow.objects.filter(shop=shop, key="broken").exists()


def test_nothing_or_a_huge_file_is_refused_clearly(shop, staff_client):
    answer = staff_client.post(url(shop), {"key": "", "definition": "  "})
    assert answer.status_code == 400
    assert "Paste a flow&#x27;s definition or choose a file." in answer.content.decode()
    huge = SimpleUploadedFile("big.yaml", b"#" * (MAX_BYTES + 1))
    answer = staff_client.post(url(shop), {"key": "", "definition": "", "upload": huge})
    assert answer.status_code == 400 and "a flow is at most 256 KB" in answer.content.decode()
    bad_key = staff_client.post(url(shop), {"key": "Not a key", "definition": "x"})
    assert bad_key.status_code == 400
    assert not Flow.objects.filter(shop=shop).exclude(key__in=DEFAULT_LOOP).exists()


def test_the_flow_page_takes_yaml_and_exports_both(shop, loop, staff_client):
    flow = loop["win-back"]
    page = f"/shops/{shop.slug}/flows/{flow.pk}/"
    html = staff_client.get(page).content.decode()
    assert "export/?format=yaml" in html and "Backtest this edit" in html
    edited = yaml.safe_dump({**DEFAULT_LOOP["win-back"], "holdout": 0.2})
    assert staff_client.post(page, {"definition": edited}).status_code == 302
    flow.refresh_from_db()
    assert flow.version.number == 2 and flow.version.definition["holdout"] == 0.2
    assert json.loads(staff_client.get(f"{page}export/").content)["holdout"] == 0.2
    broken = staff_client.post(page, {"definition": "steps: [\n"})
    assert broken.status_code == 400 and "Not valid YAML: line 2" in broken.content.decode()


def test_another_shop_cannot_import_into_or_export_this_one(shop, other_shop, loop, client):
    from tests.dashboard.conftest import make_user

    client.force_login(make_user("other", shops=[other_shop]))
    assert client.post(url(shop), {"definition": "name: x"}).status_code == 404
    assert client.get(f"/shops/{shop.slug}/flows/{loop['win-back'].pk}/export/").status_code == 404
    assert (
        client.get(
            f"/shops/{other_shop.slug}/flows/{loop['win-back'].pk}/export/?format=yaml"
        ).status_code
        == 404
    )
