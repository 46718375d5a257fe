"""Interaction payload pieces shaped like Slack's, built from what the fake currently shows the user."""

from __future__ import annotations

import time
from typing import Any

from .fake.state import Workspace
from .forms import options_of

VERIFICATION_TOKEN = "sandbox-verification-token"


def team_of(ws: Workspace) -> dict:
    team = {"id": ws.team_id, "domain": ws.domain}
    if ws.enterprise_id:
        team["enterprise_id"] = ws.enterprise_id
    return team


def user_of(user: dict, user_id: str, ws: Workspace) -> dict:
    """The ``user`` object of a payload; a user unknown to the fake still gets a plausible name."""
    name = user.get("name") or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": ws.team_id}


def base_interaction(kind: str, ws: Workspace, user: dict, trigger_id: str) -> dict:
    """The fields every interaction payload carries."""
    return {
        "type": kind,
        "team": team_of(ws),
        "user": user,
        "api_app_id": ws.app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "enterprise": {"id": ws.enterprise_id, "name": ws.enterprise_id} if ws.enterprise_id else None,
        "is_enterprise_install": False,
    }


def _interactive_elements(blocks: list[dict]) -> list[tuple[str | None, dict]]:
    found: list[tuple[str | None, dict]] = []
    for block in blocks:
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        found.extend((block.get("block_id"), el) for el in candidates if isinstance(el, dict))
    return found


def find_element(blocks: list[dict], action_id: str) -> tuple[str | None, dict | None]:
    """(block_id, element) of the element with this action_id; (None, None) when no such element."""
    for block_id, element in _interactive_elements(blocks):
        if element.get("action_id") == action_id:
            return block_id, element
    return None, None


def _option(element: dict | None, selected: Any) -> Any:
    """Accept an option dict or just its value; a value is looked up in the element's options."""
    if not isinstance(selected, str):
        return selected
    for option in options_of(element or {}):
        if option.get("value") == selected:
            return option
    return {"text": {"type": "plain_text", "text": selected}, "value": selected}


def action(
    *, action_id: str, block_id: str | None, element: dict | None, value: str | None, selected_option: Any
) -> dict:
    """One entry of ``actions`` in a block_actions payload, typed after the element that was used."""
    kind = (element or {}).get("type") or ("static_select" if selected_option is not None else "button")
    entry: dict = {
        "type": kind,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        entry["value"] = value if value is not None else (element or {}).get("value")
        if element and "text" in element:
            entry["text"] = element["text"]
    elif kind in _SELECTED and value is not None:
        entry[_SELECTED[kind]] = value
    elif selected_option is not None:
        entry["selected_option"] = _option(element, selected_option)
    elif value is not None:
        entry["value"] = value
    return entry


# what a block_actions entry carries for a select of people, channels or a date
_SELECTED = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
