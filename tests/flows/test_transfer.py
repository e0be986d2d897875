"""Flows travel as JSON or YAML: out and back in unchanged, and bad input says where."""

import json

import pytest
import yaml

from aftercart.flows.defaults import DEFAULT_LOOP
from aftercart.flows.definitions import DefinitionError
from aftercart.flows.models import Enrolment, Flow, FlowVersion
from aftercart.flows.services import _enrolment, definition_of, save_flow
from aftercart.flows.transfer import MAX_BYTES, TransferError, export_flow, import_flow, read_flow
from tests.dashboard.conftest import place_order

WIN_BACK = DEFAULT_LOOP["win-back"]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_flow_goes_out_and_comes_back_the_same(shop, other_shop, fmt):
    flow = save_flow(shop, "win-back-2", {**WIN_BACK, "name": "Terugwinnen ☕"})
    text = export_flow(flow, fmt)
    if fmt == "yaml":
        assert text.startswith("key: win-back-2\nname: Terugwinnen ☕\n")
    else:
        assert json.loads(text)["key"] == "win-back-2"

    copied = import_flow(other_shop, text)
    assert (copied.shop, copied.key, copied.version.number) == (other_shop, "win-back-2", 1)
    assert copied.version.definition == flow.version.definition
    assert export_flow(copied, fmt) == text


def test_a_key_given_wins_and_without_one_the_name_makes_it(shop):
    text = export_flow(save_flow(shop, "old", WIN_BACK), "yaml")
    assert import_flow(shop, text, key="new-one").key == "new-one"
    nameless = yaml.safe_dump({**WIN_BACK, "name": "Win back, 90 days!"})
    assert import_flow(shop, nameless).key == "win-back-90-days"
    with pytest.raises(TransferError, match="key 'Bad Key'"):
        import_flow(shop, nameless, key="Bad Key")


def test_a_bad_yaml_line_is_named(shop):
    text = "name: Broken\ntrigger: order.placed\nsteps:\n  - send: order_confirmation\n   - x: [\n"
    with pytest.raises(TransferError, match=r"^line 5, column 4: "):
        import_flow(shop, text)
    with pytest.raises(TransferError, match=r"^line 3, column 13: "):
        import_flow(shop, '{\n  "name": "x",\n  "trigger" "order.placed"\n}')
    assert not Flow.objects.filter(shop=shop, name="Broken").exists()


def test_a_bad_step_is_named_and_nothing_is_saved(shop):
    versions = FlowVersion.objects.count()
    bad = {**WIN_BACK, "steps": [{"wait": {"days": 90}}, {"if": "no_newer_ordr"}]}
    with pytest.raises(DefinitionError, match=r"steps\[1\]\.if: 'no_newer_ordr'"):
        import_flow(shop, yaml.safe_dump(bad), key="win-back")
    assert FlowVersion.objects.count() == versions


def test_yaml_that_is_not_plain_data_is_refused(shop):
    with pytest.raises(TransferError, match="could not determine a constructor"):
        read_flow("!!python/object/apply:os.system ['true']\n")
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nname: x\ntrigger: order.placed\nsteps: [*b]\n"
    with pytest.raises(TransferError, match="line 2, column 8: anchors and aliases"):
        read_flow(bomb)
    with pytest.raises(TransferError, match="put dates"):
        read_flow("name: x\ntrigger: order.placed\nsince: 2026-01-01\nsteps: []\n")
    with pytest.raises(TransferError, match="an object with key"):
        read_flow("- just\n- a list\n")


def test_a_huge_file_is_refused(shop):
    huge = "name: x\n" + "# padding\n" * (MAX_BYTES // 10 + 1)
    with pytest.raises(TransferError, match="at most 256 KB"):
        import_flow(shop, huge)
    with pytest.raises(TransferError, match="not UTF-8"):
        read_flow(b"name: \xff\xfe\n")


def test_importing_makes_a_new_version_and_running_enrolments_keep_theirs(shop):
    flow = save_flow(shop, "win-back", WIN_BACK)
    first = flow.version
    order = place_order(shop, "1001")
    running = _enrolment(
        flow, definition_of(first), "order.placed", order.customer_id, order.pk, None
    )
    running.save()

    edited = yaml.safe_dump({"key": "win-back", **WIN_BACK, "steps": WIN_BACK["steps"][:1]})
    flow = import_flow(shop, edited)
    assert flow.version.number == first.number + 1
    assert len(flow.version.definition["steps"]) == 1
    running.refresh_from_db()
    assert running.version_id == first.pk
    assert len(definition_of(running.version).steps) == len(WIN_BACK["steps"])
    assert Enrolment.objects.filter(flow=flow).count() == 1
