"""What a person enters in a sandbox form, shaped as Slack's `view.state.values` (bot/sandbox/forms.py), and the
terminal's `submit FIELD=VALUE …` line split into fields."""

from __future__ import annotations

import re

import pytest

from bot.sandbox.forms import Refused, split_typed, state_values

PEOPLE = {"ada": "U0ADA", "ben": "U0BEN", "cleo": "U0CLEO"}
CHANNELS = {"general": "C0GENERAL", "team-growth": "C0GROWTH"}


def _option(text: str, value: str) -> dict:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


DIRECTIONS = [_option("Increase to the target", "increase"), _option("Decrease to the target", "decrease")]
TICKS = [
    _option("The whole objective (2 key results)", "all"),
    _option("KR 1.1 Teams active", "kr:7"),
    _option("KR 1.2 Median minutes", "kr:8"),
]


def _input(block_id: str, element: dict) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id.title()},
        "element": {"action_id": "value", **element},
    }


GROUPS = [
    {"label": {"type": "plain_text", "text": "Kinds"}, "options": [_option("Bug", "bug"), _option("Idea", "idea")]}
]
KINDS = [_option("affects", "affects"), _option("depends on", "depends_on")]
CONFIDENCE = {"type": "static_select", "action_id": "confidence", "options": [_option("7 · Likely", "7")]}
VIEW = {
    "type": "modal",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Not a field"}},
        _input("title", {"type": "plain_text_input", "initial_value": "Teams get value"}),
        _input("baseline", {"type": "number_input", "is_decimal_allowed": True}),
        _input("direction", {"type": "static_select", "options": DIRECTIONS, "initial_option": DIRECTIONS[0]}),
        _input("labels", {"type": "multi_static_select", "option_groups": GROUPS}),
        _input("objective:3", {"type": "checkboxes", "options": TICKS}),
        _input("kind", {"type": "radio_buttons", "options": KINDS}),
        _input("starts", {"type": "datepicker", "initial_date": "2027-03-10"}),
        _input("at", {"type": "timepicker"}),
        _input("owner", {"type": "users_select", "initial_user": "U0BEN"}),
        _input("facilitators", {"type": "multi_users_select", "initial_users": ["U0ADA"]}),
        _input("channel", {"type": "conversations_select"}),
        _input("digest", {"type": "channels_select", "initial_channel": "C0GENERAL"}),
        {
            "type": "input",
            "block_id": "confidence",
            "label": {"type": "plain_text", "text": "Confidence"},
            "element": CONFIDENCE,
        },
    ],
}


def _state(typed: dict[str, list[str]], view: dict = VIEW) -> dict:
    return state_values(view, typed, people=PEOPLE, channels=CHANNELS)


def test_fields_not_entered_keep_the_forms_initial_values_as_in_slack():
    values = _state({})
    assert values["title"] == {"value": {"type": "plain_text_input", "value": "Teams get value"}}
    assert values["baseline"]["value"] == {"type": "number_input", "value": None}
    assert values["direction"]["value"]["selected_option"] == DIRECTIONS[0]
    assert values["labels"]["value"] == {"type": "multi_static_select", "selected_options": []}
    assert values["objective:3"]["value"] == {"type": "checkboxes", "selected_options": []}
    assert values["kind"]["value"] == {"type": "radio_buttons", "selected_option": None}
    assert values["starts"]["value"] == {"type": "datepicker", "selected_date": "2027-03-10"}
    assert values["at"]["value"] == {"type": "timepicker", "selected_time": None}
    assert values["owner"]["value"] == {"type": "users_select", "selected_user": "U0BEN"}
    assert values["facilitators"]["value"] == {"type": "multi_users_select", "selected_users": ["U0ADA"]}
    assert values["channel"]["value"] == {"type": "conversations_select", "selected_conversation": None}
    assert values["digest"]["value"] == {"type": "channels_select", "selected_channel": "C0GENERAL"}
    assert values["confidence"] == {"confidence": {"type": "static_select", "selected_option": None}}  # its action_id
    assert set(values) == {b["block_id"] for b in VIEW["blocks"] if b["type"] == "input"}


def test_what_was_entered_before_is_kept_over_the_initial_value():
    held = {"title": {"value": {"type": "plain_text_input", "value": "Typed before"}}}
    values = _state({"baseline": ["ten"]}, {**VIEW, "state": {"values": held}})
    assert values["title"]["value"]["value"] == "Typed before"
    assert values["baseline"]["value"]["value"] == "ten"  # the bot decides what a number is


def test_text_and_numbers_are_passed_as_entered_and_emptied_to_none():
    values = _state({"title": ["Make onboarding feel effortless"], "baseline": [" 40 "]})
    assert values["title"]["value"]["value"] == "Make onboarding feel effortless"
    assert values["baseline"]["value"]["value"] == "40"
    assert _state({"title": [""]})["title"]["value"]["value"] is None


@pytest.mark.parametrize("typed", ["decrease", "DECREASE", "Decrease to the target", "decrease TO the target", "Decr"])
def test_an_option_by_its_value_its_label_or_the_start_of_its_label(typed):
    assert _state({"direction": [typed]})["direction"]["value"]["selected_option"] == DIRECTIONS[1]


def test_an_option_is_matched_by_value_before_label():
    options = [_option("b", "a"), _option("a", "b")]
    view = {"blocks": [_input("pick", {"type": "static_select", "options": options})]}
    assert _state({"pick": ["a"]}, view)["pick"]["value"]["selected_option"] == options[0]


def test_radio_buttons_and_a_select_with_its_own_action_id():
    values = _state({"kind": ["depends on"], "confidence": ["7"]})
    assert values["kind"]["value"]["selected_option"]["value"] == "depends_on"
    assert values["confidence"]["confidence"]["selected_option"] == _option("7 · Likely", "7")


def test_tick_boxes_and_multi_selects_take_several_comma_separated_or_one_by_one():
    values = _state({"objective:3": ["kr:7, KR 1.2"], "labels": ["idea", "Bug"]})
    assert [o["value"] for o in values["objective:3"]["value"]["selected_options"]] == ["kr:7", "kr:8"]
    assert [o["value"] for o in values["labels"]["value"]["selected_options"]] == ["idea", "bug"]  # from a group
    assert _state({"objective:3": ["all"]})["objective:3"]["value"]["selected_options"] == [TICKS[0]]
    assert _state({"objective:3": [""]})["objective:3"]["value"]["selected_options"] == []


def test_an_option_the_form_does_not_have_is_refused_with_the_choices():
    with pytest.raises(Refused) as refused:
        _state({"direction": ["sideways"]})
    assert str(refused.value) == (
        "Direction (`direction`): 'sideways' is not one of the choices: Increase to the target (increase) | "
        "Decrease to the target (decrease)."
    )
    with pytest.raises(Refused, match="'kr:9' is not one of the choices"):
        _state({"objective:3": ["all, kr:9"]})
    with pytest.raises(Refused, match="is not one of the choices"):  # "KR 1" begins two labels
        _state({"objective:3": ["KR 1"]})


@pytest.mark.parametrize("typed", ["U0CLEO", "cleo", "@cleo", "@Cleo"])
def test_a_person_by_id_name_or_mention(typed):
    values = _state({"owner": [typed], "facilitators": [f"ada,{typed}"]})
    assert values["owner"]["value"]["selected_user"] == "U0CLEO"
    assert values["facilitators"]["value"]["selected_users"] == ["U0ADA", "U0CLEO"]


@pytest.mark.parametrize("typed", ["C0GROWTH", "team-growth", "#team-growth"])
def test_a_channel_by_id_name_or_mention(typed):
    values = _state({"channel": [typed], "digest": [typed]})
    assert values["channel"]["value"]["selected_conversation"] == "C0GROWTH"
    assert values["digest"]["value"]["selected_channel"] == "C0GROWTH"


def test_people_and_channels_that_are_not_there_are_refused():
    with pytest.raises(Refused, match=re.escape("There is no one called '@zed' here: ada, ben, cleo.")):
        _state({"owner": ["@zed"]})
    with pytest.raises(Refused, match=re.escape("There is no channel '#nowhere' here: #general, #team-growth.")):
        _state({"channel": ["#nowhere"]})
    assert _state({"owner": [""]})["owner"]["value"]["selected_user"] is None


def test_dates_and_times_as_a_picker_gives_them():
    values = _state({"starts": ["2027-04-01"], "at": ["09:30"]})
    assert values["starts"]["value"]["selected_date"] == "2027-04-01"
    assert values["at"]["value"]["selected_time"] == "09:30"
    with pytest.raises(Refused, match="'next week' is not a date"):
        _state({"starts": ["next week"]})
    with pytest.raises(Refused, match="'25:00' is not a time"):
        _state({"at": ["25:00"]})


def test_a_field_the_form_does_not_have_is_refused():
    with pytest.raises(Refused, match=re.escape("The form has no field 'tilte'. Its fields: title, baseline")):
        _state({"tilte": ["x"]})


def test_a_view_record_of_the_fake_is_read_like_the_view():
    record = {"id": "V1", "view": VIEW, "state": {"values": {}}}
    assert state_values(record, {"title": ["x"]}, people=PEOPLE, channels=CHANNELS)["title"]["value"]["value"] == "x"


FIELDS = ["title", "why", "owner", "value", "value:1", "objective:3"]


@pytest.mark.parametrize(
    ("line", "typed"),
    [
        ("", {}),
        ("title=Make onboarding feel effortless", {"title": ["Make onboarding feel effortless"]}),
        (
            "title=Make it so why=Because a=b means less owner=@ben",
            {"title": ["Make it so"], "why": ["Because a=b means less"], "owner": ["@ben"]},
        ),
        (
            "why='Half of them owner=x leave' title=\"Quoted\"",
            {"why": ["Half of them owner=x leave"], "title": ["Quoted"]},
        ),
        ("value:1=40 value=3", {"value:1": ["40"], "value": ["3"]}),
        ("objective:3=KR 1.1, all", {"objective:3": ["KR 1.1, all"]}),
        ("title=", {"title": [""]}),
        ("title=it's fine", {"title": ["it's fine"]}),
        ("owner=ben owner=cleo", {"owner": ["ben", "cleo"]}),
    ],
)
def test_a_typed_line_is_split_at_the_forms_own_fields(line, typed):
    assert split_typed(line, FIELDS) == typed


def test_a_line_that_does_not_start_with_a_field_is_refused():
    with pytest.raises(Refused, match="'nope=1' is not a field of this form"):
        split_typed("nope=1 title=x", FIELDS)
    with pytest.raises(Refused, match="This form has no fields to fill in"):
        split_typed("title=x", [])
    assert split_typed("  ", []) == {}
