"""Block Kit as the browser sandbox shows it (bot/sandbox/web/blocks.py): every block and element Slack draws, the
attributes the page's script reads to report a click or a choice, forms whose labels, hints and errors are wired to
their fields, and every template the bot renders, with its largest and most awkward data, as well-formed markup."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.web.blocks import Viewer, render_blocks, render_message_body
from tests.unit.html_tree import Node, parse
from tests.unit.test_template_limits import CASES, STYLES, Case, contexts, sent

VIEWER = Viewer(
    names={"U1": "dana", "U2": "eli", "U0BOT": "OKR bot", "C1": "general", "C2": "okrs", "D1": "dm-dana"},
    zone=ZoneInfo("Europe/London"),
    now=datetime(2024, 3, 15, 12, 0, tzinfo=UTC),
    user_id="U1",
)
CONTROLS = ("input", "select", "textarea")


def text(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value}


def md(value: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": value}


def option(label: str, value: str, **more: Any) -> dict[str, Any]:
    return {"text": text(label), "value": value, **more}


def rendered(blocks: list[Any], **kwargs: Any) -> Node:
    root = parse(render_blocks(blocks, VIEWER, **kwargs))
    assert_contract(root)
    return root


def wiring(node: Node) -> tuple[str | None, ...]:
    """What the page's script reports when the element is used: its kind, action_id and block_id."""
    return tuple(node.attrs.get(name) for name in ("data-kind", "data-action-id", "data-block-id"))


def words(node: Node) -> str:
    return " ".join(node.text().split())


def assert_contract(root: Node) -> None:
    """What the page's script relies on, and what keeps the page safe, in any rendered Block Kit."""
    ids = [node.attrs["id"] for node in root.elements() if "id" in node.attrs]
    assert len(ids) == len(set(ids)), "ids repeat"
    for node in root.elements():
        assert node.tag != "script" and not [name for name in node.attrs if name.startswith("on")]
        if "data-kind" in node.attrs:
            assert "data-action-id" in node.attrs and "data-block-id" in node.attrs, node
        if "data-confirm" in node.attrs:
            assert set(json.loads(node.attrs["data-confirm"])) == {"title", "text", "confirm", "deny", "style"}
        if node.tag == "a":
            assert node.attrs["href"].startswith(("http://", "https://", "mailto:")), node.attrs
            assert (node.attrs["target"], node.attrs["rel"]) == ("_blank", "noopener")
        if node.tag == "img":
            assert node.attrs["src"].startswith(("http://", "https://", "/files/")) and node.attrs["loading"] == "lazy"
        if node.tag == "label" and "for" in node.attrs:
            assert node.attrs["for"] in ids
        if node.tag == "button":
            assert node.attrs["type"] == "button"
    for field in root.select("div", cls="bk-input"):
        for control in (node for node in field.elements() if node.tag in CONTROLS):
            assert control.attrs.get("name") == field.attrs["data-block-id"], control
            assert "data-kind" in control.attrs and "data-action-id" in control.attrs
    for select in root.select("select", cls="bk-select"):
        assert select.select("option")[0].attrs["value"] == ""


# every template the bot renders ------------------------------------------------------------------------------------


def payloads(case: Case) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for style in STYLES:
        for context in contexts(case.build(style)):
            found.append((case.kind, sent(case.kind, case.template, context)[0]))
    return found


def shown(kind: str, payload: dict[str, Any]) -> Node:
    html = render_message_body(payload, VIEWER) if kind == "message" else render_blocks(payload["blocks"], VIEWER)
    return parse(html)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.template}:{c.variant}")
def test_every_template_shows_as_well_formed_html_the_page_can_use(case: Case):
    for kind, payload in payloads(case):
        root = shown(kind, payload)
        assert_contract(root)
        assert not root.select(cls="bk-unknown"), f"{case.template} has a block the sandbox does not show"
        assert root.text().strip() or not payload.get("blocks")


def real(template: str, number: int = 0) -> tuple[str, dict[str, Any]]:
    return payloads(next(case for case in CASES if case.template == template))[number]


def test_the_check_in_form():
    root = shown(*real("checkin_modal.j2"))
    value = root.one("input", name="value")
    assert (value.attrs["type"], value.attrs["maxlength"]) == ("text", "40")
    assert wiring(value) == ("plain_text_input", "value", "value")
    assert value.attrs["required"] is None and value.attrs["value"]
    assert root.one("label", **{"for": value.attrs["id"]}).text().startswith("Value now")
    confidence = root.one("select", name="confidence")
    options = confidence.select("option")
    assert [o.attrs["value"] for o in options] == ["", *[str(n) for n in range(10, 0, -1)]]
    assert [o.attrs["value"] for o in options if "selected" in o.attrs] == ["10"]
    note = root.one("textarea", name="note")
    assert "required" not in note.attrs and int(note.attrs["maxlength"]) > 40
    assert words(root.one("label", **{"for": note.attrs["id"]})) == "Note (optional)"
    hint = root.one("div", cls="bk-hint", id=note.attrs["aria-describedby"])
    assert hint.text().startswith("What moved it")


def test_the_team_settings_form():
    kind, payload = real("team_settings_modal.j2")
    root = shown(kind, payload)
    anchor = root.one("input", name="cycle_anchor")
    assert (anchor.attrs["type"], anchor.attrs["value"]) == ("date", "2027-06-07")
    hours = root.one("input", name="reminder_hours")
    assert [hours.attrs[name] for name in ("type", "step", "min", "max")] == ["number", "1", "1", "72"]
    channel = root.one("select", name="digest_channel_id")
    assert channel.attrs["data-kind"] == "conversations_select"
    assert [o.text() for o in channel.select("option")][1:3] == ["#general", "#okrs"]
    facilitators = root.one("select", name="facilitators")
    assert "multiple" in facilitators.attrs
    chosen = next(b["element"]["initial_users"] for b in payload["blocks"] if b.get("block_id") == "facilitators")
    assert len(chosen) == 300
    assert [o.attrs["value"] for o in facilitators.select("option") if "selected" in o.attrs] == chosen
    element = next(b["element"] for b in payload["blocks"] if b.get("block_id") == "checkins_paused")
    radios = root.select("input", name="checkins_paused")
    assert [(r.attrs["type"], r.attrs["value"]) for r in radios] == [("radio", o["value"]) for o in element["options"]]
    assert [r.attrs["value"] for r in radios if "checked" in r.attrs] == [element["initial_option"]["value"]]


def test_an_okr_listing_with_its_menus():
    root = shown(*real("okr_list.j2"))
    menu = root.select("details", cls="bk-overflow")[0]
    assert menu.attrs["data-kind"] == "overflow" and menu.attrs["data-action-id"]
    assert menu.one("summary").attrs["aria-label"] == "More actions"
    items = menu.one("div", cls="bk-menu").select("button", cls="bk-menu-item")
    assert items and all(item.attrs["data-option-value"] for item in items)


def test_the_help_message():
    root = shown(*real("help.j2"))
    assert root.one("h3", cls="bk-header").text() == "OKRs, run where your team talks"
    assert root.select("hr", cls="bk-divider")
    assert any(code.text().startswith("/okr team create") for code in root.select("code"))
