"""Hand-written Block Kit in the browser sandbox: each block and element Slack draws, its initial values, the
attributes the page's script reads, forms with their errors, legacy attachments, and payloads meant to break it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.sandbox.web.blocks import render_message_body
from tests.unit.html_tree import Node, parse
from tests.unit.test_sandbox_web_render_blocks import (
    VIEWER,
    assert_contract,
    md,
    option,
    rendered,
    text,
    wiring,
    words,
)


def element_in_actions(element: dict[str, Any]) -> Node:
    return rendered([{"type": "actions", "block_id": "acts", "elements": [element]}])


def field(element: dict[str, Any], **block: Any) -> Node:
    block = {"type": "input", "block_id": "f", "label": text("Field"), "element": element, **block}
    return rendered([block]).one("div", cls="bk-input")


# blocks ------------------------------------------------------------------------------------------------------------


def test_header_section_with_fields_and_an_accessory():
    root = rendered(
        [
            {"type": "header", "text": text("Week 12 :tada: <b>")},
            {
                "type": "section",
                "block_id": "kr",
                "text": md("*Revenue* up"),
                "fields": [md("*Owner*\n<@U2>"), text("Due <soon>")],
                "accessory": {"type": "button", "action_id": "edit", "text": text("Edit"), "value": "7"},
            },
        ]
    )
    assert root.one("h3", cls="bk-header").text() == "Week 12 🎉 <b>"
    section = root.one("div", cls="bk-section")
    assert section.one(cls="bk-text").one("strong").text() == "Revenue"
    fields = section.one(cls="bk-fields").select(cls="bk-field")
    assert [field.text() for field in fields] == ["Owner\n@eli", "Due <soon>"]
    button = section.one(cls="bk-accessory").one("button")
    assert (*wiring(button), button.attrs["data-value"]) == ("button", "edit", "kr", "7")


def test_context_divider_and_images():
    root = rendered(
        [
            {
                "type": "context",
                "elements": [
                    {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "chart"},
                    {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "bad"},
                    md("_small_ words"),
                    text("plain"),
                ],
            },
            {"type": "divider"},
            {"type": "image", "image_url": "/files/F1/chart.png", "alt_text": "Weekly chart", "title": text("Week 3")},
            {"type": "image", "image_url": "//evil.example/x.png", "alt_text": "protocol-relative"},
            {"type": "image", "slack_file": {"url": "data:image/png;base64,AAAA"}, "alt_text": "data"},
        ]
    )
    context = root.one(cls="bk-context")
    assert [img.attrs["src"] for img in context.select("img")] == ["https://example.com/a.png"]
    assert context.select(cls="bk-context-image")[0].attrs["alt"] == "chart"
    assert words(context) == "[image: bad] small words plain"
    assert root.one("hr", cls="bk-divider")
    figures = root.select("figure", cls="bk-image")
    assert figures[0].one("figcaption").text() == "Week 3"
    assert figures[0].one("img").attrs == {
        "class": "bk-image-img",
        "src": "/files/F1/chart.png",
        "alt": "Weekly chart",
        "loading": "lazy",
    }
    assert [figure.select("img") for figure in figures[1:]] == [[], []]


def test_rich_text():
    epoch = int(datetime(2024, 3, 15, 13, 0, tzinfo=UTC).timestamp())
    styled = {
        "type": "text",
        "text": "all\nstyles",
        "style": {"bold": True, "italic": True, "strike": True, "code": True},
    }
    section = {
        "type": "rich_text_section",
        "elements": [
            styled,
            {"type": "link", "url": "https://example.com", "text": "site", "style": {"bold": True}},
            {"type": "link", "url": "javascript:alert(1)", "text": "not a link"},
            {"type": "user", "user_id": "U2"},
            {"type": "channel", "channel_id": "C1"},
            {"type": "usergroup", "usergroup_id": "S9"},
            {"type": "emoji", "name": "thumbsup", "unicode": "1f44d-1f3fd"},
            {"type": "emoji", "name": "white_check_mark"},
            {"type": "emoji", "name": "custom_party"},
            {"type": "date", "timestamp": epoch, "format": "{date_num} {time}", "fallback": "then"},
            {"type": "broadcast", "range": "here"},
            {"type": "text", "text": "<script>x</script>"},
        ],
    }
    bullets = {"type": "rich_text_list", "style": "bullet", "indent": 1, "elements": [section]}
    numbered = {"type": "rich_text_list", "style": "ordered", "offset": 2, "elements": [section, section]}
    quote = {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted"}]}
    pre = {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "a  *b*\nc"}]}
    root = rendered([{"type": "rich_text", "elements": [section, bullets, numbered, quote, pre]}])
    paragraph = root.one("p", cls="bk-rt-section")
    assert paragraph.select("strong")[0].one("em").one("s").one("code").text() == "all\nstyles"
    assert paragraph.one("a").attrs["href"] == "https://example.com" and paragraph.one("a").text() == "site"
    assert paragraph.text().split("styles", 1)[1] == (
        "sitenot a link@eli#general@S9👍🏽✅:custom_party:2024-03-15 13:00@here<script>x</script>"
    )
    assert root.one("ul").attrs["class"] == "bk-rt-list bk-rt-indent-1" and len(root.one("ul").select("li")) == 1
    assert root.one("ol").attrs["start"] == "3" and len(root.one("ol").select("li")) == 2
    assert root.one("blockquote", cls="bk-rt-quote").text() == "quoted"
    assert root.one("pre", cls="bk-rt-pre").text() == "a  *b*\nc"


def test_notes_for_files_videos_and_blocks_the_sandbox_does_not_draw():
    root = rendered(
        [
            {"type": "file", "external_id": "ABC", "source": "remote"},
            {"type": "video", "title": text("Demo"), "video_url": "https://example.com/v", "alt_text": "demo"},
            {"type": "video", "title": text("Bad"), "video_url": "javascript:alert(1)", "alt_text": "x"},
            {"type": "markdown", "text": "**md** <b>"},
            {"type": "table", "rows": [[{"type": "raw_text", "text": "a"}, {"type": "raw_text", "text": "<b>"}]]},
            {"type": "call", "call_id": "R1"},
        ]
    )
    assert words(root.one(cls="bk-file")) == "📎 A file shared from Slack (ABC)"
    videos = root.select(cls="bk-video")
    assert videos[0].one("a").attrs["href"] == "https://example.com/v" and not videos[1].select("a")
    assert root.one(cls="bk-markdown").text() == "**md** <b>"
    assert [cell.text() for cell in root.one("table").select("td")] == ["a", "<b>"]
    assert words(root.one(cls="bk-unknown")) == "A call block the sandbox does not show"


@pytest.mark.parametrize(
    "block",
    [
        "not a block",
        None,
        {"no": "type"},
        {"type": "section", "text": None, "fields": "oops", "accessory": "button"},
        {"type": "section", "text": {"type": "mrkdwn"}, "accessory": {"type": "button", "text": None}},
        {"type": "actions", "elements": [None, 3, {"type": "static_select", "options": "x"}]},
        {"type": "context", "elements": [{"type": "image"}, None]},
        {"type": "input", "element": None, "label": None},
        {"type": "input", "block_id": 5, "element": {"type": "checkboxes", "options": [None]}},
        {"type": "rich_text", "elements": [{"type": "rich_text_list", "indent": "deep", "elements": [None, {}]}]},
        {"type": "image", "image_url": 42},
        {"type": "header", "text": ["list"]},
    ],
)
def test_a_malformed_block_never_breaks_the_page(block: Any):
    root = parse(render_message_body({"blocks": [block, {"type": "divider"}]}, VIEWER))
    assert_contract(root)
    assert root.select("hr")


# buttons and menus -------------------------------------------------------------------------------------------------


def test_buttons_with_styles_values_and_a_confirm_dialog():
    confirm = {
        "title": text("Drop it?"),
        "text": md("*Really* drop <@U2>'s KR?"),
        "confirm": text("Drop"),
        "deny": text("Keep"),
        "style": "danger",
    }
    root = rendered(
        [
            {
                "type": "actions",
                "block_id": "b1",
                "elements": [
                    {"type": "button", "action_id": "go", "text": text("Go"), "style": "primary", "value": 'a"b'},
                    {
                        "type": "button",
                        "action_id": "drop",
                        "text": text("Drop"),
                        "style": "danger",
                        "confirm": confirm,
                    },
                    {"type": "button", "action_id": "plain", "text": text("Plain"), "style": "evil"},
                    {"type": "button", "action_id": "open", "text": text("Docs"), "url": "https://example.com/d"},
                    {"type": "button", "action_id": "js", "text": text("JS"), "url": "javascript:alert(1)"},
                    {"type": "button", "action_id": "a11y", "text": text("?"), "accessibility_label": "Help"},
                ],
            }
        ]
    )
    buttons = {node.attrs["data-action-id"]: node for node in root.select(data_kind="button")}
    assert buttons["go"].attrs["class"] == "bk-button bk-primary" and buttons["go"].attrs["data-value"] == 'a"b'
    assert buttons["drop"].attrs["class"] == "bk-button bk-danger"
    assert json.loads(buttons["drop"].attrs["data-confirm"]) == {
        "title": "Drop it?",
        "text": "Really drop @eli's KR?",
        "confirm": "Drop",
        "deny": "Keep",
        "style": "danger",
    }
    assert buttons["plain"].attrs["class"] == "bk-button"
    assert (buttons["open"].tag, buttons["open"].attrs["href"]) == ("a", "https://example.com/d")
    assert buttons["js"].tag == "button" and "href" not in buttons["js"].attrs
    assert buttons["a11y"].attrs["aria-label"] == "Help"
    assert all(node.attrs["data-block-id"] == "b1" for node in buttons.values())


def test_an_overflow_menu():
    menu = element_in_actions(
        {
            "type": "overflow",
            "action_id": "more",
            "options": [option("Edit", "edit"), option("Docs", "docs", url="https://example.com"), option("<x>", '"q')],
            "confirm": {"title": text("Sure?"), "text": text("Sure"), "confirm": text("Yes"), "deny": text("No")},
        }
    ).one("details", cls="bk-overflow")
    assert wiring(menu) == ("overflow", "more", "acts")
    assert json.loads(menu.attrs["data-confirm"])["title"] == "Sure?"
    assert menu.one("summary").attrs["aria-label"] == "More actions"
    items = menu.one(cls="bk-menu").select("button", cls="bk-menu-item")
    assert [(item.attrs["data-option-value"], item.text()) for item in items] == [
        ("edit", "Edit"),
        ("docs", "Docs"),
        ('"q', "<x>"),
    ]
    assert items[1].attrs["data-url"] == "https://example.com"


# selects -----------------------------------------------------------------------------------------------------------


def options_of(select: Node) -> list[tuple[str, str, bool]]:
    return [(o.attrs["value"], o.text(), "selected" in o.attrs) for o in select.select("option")]


def test_a_static_select_in_a_message():
    select = element_in_actions(
        {
            "type": "static_select",
            "action_id": "pick",
            "placeholder": text("Choose"),
            "option_groups": [
                {"label": text("Soon"), "options": [option("Today", "0"), option("Tomorrow", "1")]},
                {"label": text("Later"), "options": [option("Next week", "7")]},
            ],
            "initial_option": option("Tomorrow", "1"),
        }
    ).one("select", cls="bk-select")
    assert wiring(select) == ("static_select", "pick", "acts")
    assert "name" not in select.attrs and "multiple" not in select.attrs
    assert options_of(select)[0] == ("", "Choose", False)
    assert [group.attrs["label"] for group in select.select("optgroup")] == ["Soon", "Later"]
    assert options_of(select)[1:] == [("0", "Today", False), ("1", "Tomorrow", True), ("7", "Next week", False)]


def test_a_multi_select_and_an_external_select():
    multi = element_in_actions(
        {
            "type": "multi_static_select",
            "action_id": "m",
            "options": [option("A", "a"), option("B", "b")],
            "initial_options": [option("A", "a"), option("B", "b")],
        }
    ).one("select")
    assert "multiple" in multi.attrs and "disabled" in multi.select("option")[0].attrs
    assert [value for value, _label, chosen in options_of(multi) if chosen] == ["a", "b"]
    root = element_in_actions({"type": "external_select", "action_id": "ext", "initial_option": option("Kept", "k")})
    external = root.one("select")
    assert "disabled" in external.attrs
    assert options_of(external) == [("", "Select an option", False), ("k", "Kept", True)]
    assert root.one(cls="bk-note").text()


def test_people_and_channel_selects_list_the_workspace():
    root = rendered(
        [
            {
                "type": "actions",
                "elements": [
                    {"type": "users_select", "action_id": "u", "initial_user": "U2"},
                    {"type": "conversations_select", "action_id": "c", "initial_conversation": "D1"},
                    {"type": "channels_select", "action_id": "ch", "initial_channel": "C2"},
                    {"type": "multi_conversations_select", "action_id": "mc", "initial_conversations": ["C1", "C2"]},
                    {"type": "multi_users_select", "action_id": "mu", "initial_users": ["U9"]},
                ],
            }
        ]
    )
    selects = {select.attrs["data-action-id"]: select for select in root.select("select")}
    assert {select.attrs["data-block-id"] for select in selects.values()} == {""}
    assert options_of(selects["u"])[1:] == [("U1", "dana", False), ("U2", "eli", True)]  # not the bot
    assert options_of(selects["c"])[1:] == [("C1", "#general", False), ("C2", "#okrs", False), ("D1", "#dm-dana", True)]
    assert options_of(selects["ch"])[1:] == [("C1", "#general", False), ("C2", "#okrs", True)]
    assert [value for value, _label, chosen in options_of(selects["mc"]) if chosen] == ["C1", "C2"]
    assert options_of(selects["mu"])[-1] == ("U9", "U9", True)


def test_date_and_time_pickers_start_at_their_initial_values():
    moment = int(datetime(2024, 7, 1, 8, 30, tzinfo=UTC).timestamp())
    root = rendered(
        [
            {
                "type": "actions",
                "elements": [
                    {"type": "datepicker", "action_id": "d", "initial_date": "2024-03-01"},
                    {"type": "timepicker", "action_id": "t", "initial_time": "09:15"},
                    {"type": "datetimepicker", "action_id": "dt", "initial_date_time": moment},
                    {"type": "datepicker", "action_id": "bad", "initial_date": '2024-03-01" autofocus onfocus="x'},
                ],
            }
        ]
    )
    found = [(n.attrs["data-kind"], n.attrs["type"], n.attrs["value"]) for n in root.select("input")]
    assert found == [
        ("datepicker", "date", "2024-03-01"),
        ("timepicker", "time", "09:15"),
        ("datetimepicker", "datetime-local", "2024-07-01T09:30"),  # London, summer time
        ("datepicker", "date", ""),
    ]


def test_checkboxes_and_radio_buttons_outside_a_form():
    root = rendered(
        [
            {
                "type": "section",
                "block_id": "s",
                "text": md("Pick"),
                "accessory": {
                    "type": "checkboxes",
                    "action_id": "cb",
                    "options": [
                        {"text": md("*Bold* one"), "value": "1", "description": md("_why_")},
                        option("Two", "2"),
                    ],
                    "initial_options": [option("Two", "2")],
                },
            },
            {
                "type": "actions",
                "block_id": "a",
                "elements": [
                    {"type": "radio_buttons", "action_id": "rb", "options": [option("X", "x"), option("Y", "y")]}
                ],
            },
        ]
    )
    boxes, radios = root.select("div", cls="bk-choices")
    assert wiring(boxes) == ("checkboxes", "cb", "s")
    inputs = boxes.select("input")
    assert [(i.attrs["type"], i.attrs["value"], "checked" in i.attrs) for i in inputs] == [
        ("checkbox", "1", False),
        ("checkbox", "2", True),
    ]
    first = boxes.one("label", **{"for": inputs[0].attrs["id"]})
    assert first.one("strong").text() == "Bold" and first.one(cls="bk-choice-description").one("em").text() == "why"
    assert radios.attrs["data-kind"] == "radio_buttons"
    names = {i.attrs["name"] for i in radios.select("input")}
    assert len(names) == 1 and names != {""}


# forms -------------------------------------------------------------------------------------------------------------


def control(root: Node) -> Node:
    (found,) = [node for node in root.elements() if node.tag in ("input", "select", "textarea")]
    return found


def test_a_text_field_with_its_label_hint_and_limits():
    box = field(
        {
            "type": "plain_text_input",
            "action_id": "why",
            "placeholder": text("Say why"),
            "min_length": 3,
            "max_length": 300,
            "initial_value": '"><script>',
        },
        hint=text("Be brief"),
    )
    assert box.attrs["data-block-id"] == "f"
    typed = control(box)
    assert typed.attrs | {"id": "?"} == {
        "type": "text",
        "class": "bk-text-input",
        "data-kind": "plain_text_input",
        "data-action-id": "why",
        "data-block-id": "f",
        "id": "?",
        "name": "f",
        "aria-describedby": typed.attrs["id"] + "-hint",
        "required": None,
        "aria-required": "true",
        "placeholder": "Say why",
        "minlength": "3",
        "maxlength": "300",
        "value": '"><script>',
    }
    assert box.one("label", cls="bk-label").attrs["for"] == typed.attrs["id"]
    assert box.one(cls="bk-hint").attrs["id"] == typed.attrs["aria-describedby"]


def test_a_multiline_field_is_a_textarea():
    area = control(
        field({"type": "plain_text_input", "action_id": "n", "multiline": True, "initial_value": "</textarea>x"})
    )
    assert (area.tag, area.text()) == ("textarea", "</textarea>x")


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        (
            {"type": "number_input", "is_decimal_allowed": True, "min_value": "0.5", "max_value": "9"},
            {"type": "number", "step": "any", "min": "0.5", "max": "9"},
        ),
        (
            {"type": "number_input", "is_decimal_allowed": False, "initial_value": "4"},
            {"type": "number", "step": "1", "value": "4"},
        ),
        ({"type": "email_text_input", "initial_value": "a@b.c"}, {"type": "email", "value": "a@b.c"}),
        ({"type": "url_text_input"}, {"type": "url"}),
        ({"type": "datepicker", "initial_date": "2024-01-02"}, {"type": "date", "value": "2024-01-02"}),
        ({"type": "timepicker", "initial_time": "23:59"}, {"type": "time", "value": "23:59"}),
    ],
)
def test_typed_fields(element: dict[str, Any], expected: dict[str, str]):
    found = control(field({**element, "action_id": "x"}))
    assert {name: found.attrs.get(name) for name in expected} == expected
    assert (found.attrs["name"], found.attrs["data-kind"]) == ("f", element["type"])


def test_choices_and_multi_selects_send_several_values_under_the_block_id():
    boxes = field(
        {
            "type": "checkboxes",
            "action_id": "c",
            "options": [option("A", "a"), option("B", "b")],
            "initial_options": [option("B", "b")],
        }
    )
    inputs = boxes.select("input")
    assert [(i.attrs["name"], i.attrs["value"], "checked" in i.attrs) for i in inputs] == [
        ("f", "a", False),
        ("f", "b", True),
    ]
    label = boxes.one(cls="bk-label")
    assert boxes.one("div", cls="bk-choices").attrs["aria-labelledby"] == label.attrs["id"]
    multi = control(field({"type": "multi_static_select", "action_id": "m", "options": [option("A", "a")]}))
    assert (multi.attrs["name"], "multiple" in multi.attrs) == ("f", True)


def test_an_optional_field_a_dispatching_one_and_an_error():
    root = rendered(
        [
            {
                "type": "input",
                "block_id": "o",
                "optional": True,
                "label": text("Note"),
                "element": {"type": "plain_text_input", "action_id": "o"},
            },
            {
                "type": "input",
                "block_id": "d",
                "dispatch_action": True,
                "label": text("Live"),
                "element": {"type": "plain_text_input", "action_id": "d"},
                "hint": text("Tip"),
            },
        ],
        errors={"d": "Type a number, like <42>", "missing": "nowhere"},
    )
    optional, live = root.select("div", cls="bk-input")
    assert words(optional.one("label")) == "Note (optional)" and "required" not in control(optional).attrs
    assert not optional.select(cls="bk-field-error")
    typed = control(live)
    assert typed.attrs["data-dispatch"] == "1" and typed.attrs["aria-invalid"] == "true"
    error = live.one("div", cls="bk-field-error")
    assert (error.attrs["role"], error.text()) == ("alert", "Type a number, like <42>")
    assert typed.attrs["aria-describedby"].split() == [error.attrs["id"], live.one(cls="bk-hint").attrs["id"]]
    assert "bk-has-error" in live.classes


def test_what_was_typed_replaces_the_initial_values():
    blocks = [
        {
            "type": "input",
            "block_id": "t",
            "label": text("T"),
            "element": {"type": "plain_text_input", "action_id": "v", "initial_value": "old"},
        },
        {
            "type": "input",
            "block_id": "s",
            "label": text("S"),
            "element": {
                "type": "static_select",
                "action_id": "v",
                "options": [option("A", "a"), option("B", "b")],
                "initial_option": option("A", "a"),
            },
        },
        {
            "type": "input",
            "block_id": "u",
            "label": text("U"),
            "element": {"type": "multi_users_select", "action_id": "v"},
        },
        {
            "type": "input",
            "block_id": "d",
            "label": text("D"),
            "element": {"type": "datepicker", "action_id": "v", "initial_date": "2024-01-01"},
        },
        {
            "type": "input",
            "block_id": "e",
            "label": text("E"),
            "element": {"type": "plain_text_input", "action_id": "v", "initial_value": "cleared"},
        },
    ]
    state = {
        "values": {
            "t": {"v": {"type": "plain_text_input", "value": "new"}},
            "s": {"v": {"type": "static_select", "selected_option": option("B", "b")}},
            "u": {"v": {"type": "multi_users_select", "selected_users": ["U1", "U2"]}},
            "d": {"v": {"type": "datepicker", "selected_date": "2024-02-02"}},
            "e": {"v": {"type": "plain_text_input", "value": None}},
        }
    }
    root = rendered(blocks, state=state)
    assert root.one("input", name="t").attrs["value"] == "new"
    assert [o.attrs["value"] for o in root.one("select", name="s").select("option") if "selected" in o.attrs] == ["b"]
    assert [o.attrs["value"] for o in root.one("select", name="u").select("option") if "selected" in o.attrs] == [
        "U1",
        "U2",
    ]
    assert root.one("input", name="d").attrs["value"] == "2024-02-02"
    assert root.one("input", name="e").attrs["value"] == ""


# messages ----------------------------------------------------------------------------------------------------------


def test_a_message_without_blocks_shows_its_text():
    root = parse(render_message_body({"text": "*Saved* for <@U1> <script>"}, VIEWER))
    body = root.one(cls="bk-message-text")
    assert body.one("strong").text() == "Saved" and body.text() == "Saved for @dana <script>"


def test_blocks_win_over_the_text():
    root = parse(
        render_message_body({"text": "fallback", "blocks": [{"type": "section", "text": md("shown")}]}, VIEWER)
    )
    assert words(root) == "shown"


def test_legacy_attachments_are_boxes_with_their_colour():
    message = {
        "text": "Report",
        "attachments": [
            {
                "color": "good",
                "pretext": "*Before*",
                "title": "Title",
                "title_link": "https://example.com",
                "text": "_body_",
                "fields": [{"title": "F", "value": "<@U2>", "short": True}],
                "footer": "foot",
            },
            {"color": "#ABCDEF", "blocks": [{"type": "divider"}]},
            {"color": "red; background: url(javascript:x)", "text": "no colour"},
        ],
    }
    root = parse(render_message_body(message, VIEWER))
    assert_contract(root)
    first, second, third = root.select("div", cls="bk-attachment")
    assert first.attrs["style"] == "border-left-color: #2eb67d"
    assert first.one(cls="bk-attachment-pretext").one("strong").text() == "Before"
    assert first.one(cls="bk-attachment-title").one("a").attrs["href"] == "https://example.com"
    assert first.one(cls="bk-attachment-text").one("em").text() == "body"
    assert words(first.one(cls="bk-field")) == "F @eli"
    assert second.attrs["style"] == "border-left-color: #ABCDEF" and second.one("hr")
    assert "style" not in third.attrs and third.text().strip() == "no colour"
