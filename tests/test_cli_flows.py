"""`aftercart flows ...`, called as a user would: arguments in, text out."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from aftercart.cli import main
from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.models import Enrolment, Flow
from aftercart.flows.services import install_default_loop
from aftercart.messaging.models import Message
from tests.flows.test_backtest import AFTER_DELIVERY, delivered, place

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def loop(shop):
    install_default_loop(shop)
    return shop


def test_list_shows_the_flows_of_the_only_shop(loop, capsys):
    assert main(["flows", "list"]) == 0
    out = capsys.readouterr().out
    assert "win-back" in out and "v1" in out and "order.delivered" in out


def test_with_several_shops_the_shop_must_be_named(loop, other_shop, capsys):
    assert main(["flows", "list"]) == 2
    err = capsys.readouterr().err
    assert "several shops (roastery, teahouse): say which with --shop" in err
    assert main(["flows", "list", "--shop", "roastery"]) == 0
    assert main(["flows", "list", "--shop", "nope"]) == 2
    assert "no shop 'nope'" in capsys.readouterr().err


def test_export_and_import_round_trip_through_files(loop, tmp_path, capsys):
    assert main(["flows", "export", "win-back", "--format", "yaml"]) == 0
    text = capsys.readouterr().out
    assert yaml.safe_load(text) == {"key": "win-back", **DEFAULT_LOOP["win-back"]}
    edited = text.replace("days: 90", "days: 60")
    path = tmp_path / "win-back.yaml"
    path.write_text(edited)

    assert main(["flows", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "version 2 of flow win-back" in out
    assert "finish on the version they started" in out
    flow = Flow.objects.get(shop=loop, key="win-back")
    assert flow.version.definition["steps"][0]["wait"]["days"] == 60

    assert main(["flows", "export", "win-back"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"][0]["wait"]["days"] == 60
    assert main(["flows", "import", str(path), "--key", "win-back-60"]) == 0
    assert "created flow win-back-60" in capsys.readouterr().out


def test_a_bad_file_is_refused_with_where_and_nothing_saved(loop, tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntrigger: order.placed\nsteps:\n  - wait: {days: -3}\n")
    assert main(["flows", "import", str(path)]) == 2
    assert "broken.yaml: steps[0].wait.days" in capsys.readouterr().err
    assert main(["flows", "import", str(tmp_path / "missing.json")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    assert main(["flows", "export", "nope"]) == 2
    assert "no flow 'nope'" in capsys.readouterr().err
    assert not Flow.objects.filter(key="x").exists()


def test_backtest_prints_the_steps_and_the_weeks_and_sends_nothing(loop, tmp_path, capsys):
    monday = datetime.now(AMS).replace(hour=14, minute=0, second=0, microsecond=0) - timedelta(
        days=30
    )
    place(loop, 1, monday - timedelta(days=2), shipments=delivered(1, monday))
    path = tmp_path / "edit.json"
    path.write_text(json.dumps(AFTER_DELIVERY))
    since = (monday - timedelta(days=10)).date().isoformat()

    code = main(
        ["flows", "backtest", "after-delivery", "--since", since, "--definition", str(path)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Backtest of your edit of After delivery" in out
    assert "1 orders, 1 enrolments (0 in the control group), 3 emails would have gone" in out
    assert "send review_request" in out
    assert "Emails per week" in out and "█" in out
    assert "Replayed in" in out
    assert Enrolment.objects.count() == 0 and Message.objects.count() == 0

    assert main(["flows", "backtest", "after-delivery", "--since", since, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["enrolments"] == 1 and report["flow"].startswith("After delivery")
    assert sum(w["emails"] for w in report["weeks"]) == report["emails_sent"]


def test_backtest_refuses_a_bad_date_clearly(loop, capsys):
    assert main(["flows", "backtest", "win-back", "--since", "last year"]) == 2
    assert "--since 'last year' is not a date" in capsys.readouterr().err
    tomorrow = (datetime.now(AMS) + timedelta(days=2)).date().isoformat()
    assert main(["flows", "backtest", "win-back", "--since", tomorrow]) == 2
    assert "is not before" in capsys.readouterr().err
