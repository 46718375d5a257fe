"""The team picker survives long and non-ASCII commands within Slack's limits."""

from __future__ import annotations

from tests.e2e.support import create_team, join_team, okr


def _ben_in_two_teams(driver, slack) -> None:
    create_team(driver, slack, "Rockets", channel="C0ROCKET")
    create_team(driver, slack, "Growth", channel="C0GROWTH")
    join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
    join_team(driver, slack, user="U0BEN", channel="C0GROWTH")


def _buttons(body: dict) -> list[dict]:
    return [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_long_non_ascii_command_still_gets_buttons(driver, slack):
    _ben_in_two_teams(driver, slack)
    text = "team settings digest=<#C0GROWTH|" + "日" * 350 + ">"
    reply = okr(driver, slack, text, user="U0BEN", channel="C0GENERAL")
    buttons = _buttons(reply.body)
    assert [b["text"]["text"] for b in buttons] == ["Growth", "Rockets"]
    assert all(len(b["value"]) <= 2000 for b in buttons)


def test_a_command_too_long_for_a_button_is_shown_back_in_full(driver, slack):
    _ben_in_two_teams(driver, slack)
    text = "team settings digest=<#C0GROWTH|" + "x" * 1990 + ">"
    reply = okr(driver, slack, text, user="U0BEN", channel="C0GENERAL")
    assert _buttons(reply.body) == []
    assert "too long to carry on a button" in reply.text
    assert "x" * 1990 in reply.text  # nothing typed is lost
