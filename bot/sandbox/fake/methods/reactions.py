"""reactions.*: the emoji votes triage and sprint picks are made of."""

from __future__ import annotations

import re

from ..args import MethodCall
from ..errors import ApiError
from ..state import message_payload
from .registry import method

_NAME = re.compile(r"^[a-z0-9_+\-']+(::skin-tone-[2-6])?$")


def add_reaction(message: dict, user_id: str, name: str) -> None:
    """Add one user's reaction, keeping Slack's ``{"name", "users", "count"}`` shape."""
    name = name.strip(":")
    if not _NAME.match(name):
        raise ApiError("invalid_name")
    reaction = next((r for r in message["reactions"] if r["name"] == name), None)
    if reaction is None:
        reaction = {"name": name, "users": [], "count": 0}
        message["reactions"].append(reaction)
    if user_id in reaction["users"]:
        raise ApiError("already_reacted")
    reaction["users"].append(user_id)
    reaction["count"] += 1


def remove_reaction(message: dict, user_id: str, name: str) -> None:
    name = name.strip(":")
    reaction = next((r for r in message["reactions"] if r["name"] == name), None)
    if reaction is None or user_id not in reaction["users"]:
        raise ApiError("no_reaction")
    reaction["users"].remove(user_id)
    reaction["count"] -= 1
    if not reaction["count"]:
        message["reactions"].remove(reaction)


def _target(call: MethodCall) -> dict:
    if not call.get("channel") or not call.get("timestamp"):
        raise ApiError("no_item_specified")
    channel = call.state.channel(call.get("channel"), call.ws)
    return call.state.message(channel["id"], call.get("timestamp"))


@method("reactions.get")
def reactions_get(call: MethodCall) -> dict:
    message = _target(call)
    return {"type": "message", "channel": message["channel"], "message": message_payload(message)}


@method("reactions.add")
def reactions_add(call: MethodCall) -> dict:
    add_reaction(_target(call), call.ws.bot_user_id, str(call.get("name") or ""))
    return {}


@method("reactions.remove")
def reactions_remove(call: MethodCall) -> dict:
    remove_reaction(_target(call), call.ws.bot_user_id, str(call.get("name") or ""))
    return {}
