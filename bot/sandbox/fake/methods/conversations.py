"""conversations.open / info / join: how the bot finds and enters the places it talks in."""

from __future__ import annotations

from ..args import MethodCall
from ..errors import ApiError
from ..state import Workspace
from .registry import method


def channel_object(record: dict, ws: Workspace) -> dict:
    """A conversation as Slack describes it to this bot."""
    body = {
        "id": record["id"],
        "name": record["name"],
        "is_channel": not record["is_private"] and not record["is_im"] and not record["is_mpim"],
        "is_group": record["is_private"] and not record["is_im"] and not record["is_mpim"],
        "is_im": record["is_im"],
        "is_mpim": record["is_mpim"],
        "is_private": record["is_private"],
        "is_archived": record["is_archived"],
        "is_member": ws.bot_user_id in record["members"],
        "created": record["created"],
        "context_team_id": record["team_id"],
    }
    if record["is_im"]:
        body["user"] = record["user"]
    else:
        body["num_members"] = len(record["members"])
    return body


def _dm_partner_problem(call: MethodCall, user_id: str) -> None:
    user = call.state.user(user_id, call.ws)
    if user["is_bot"] or user_id == call.ws.bot_user_id:
        raise ApiError("cannot_dm_bot")
    if user["deleted"]:
        raise ApiError("user_disabled")


@method("conversations.open")
def conversations_open(call: MethodCall) -> dict:
    """A stable D… id per user (G… for several), the way a bot gets a DM to post into."""
    channel_id = call.get("channel")
    if channel_id:
        record = call.state.channel(channel_id, call.ws)
        return {"channel": {"id": record["id"]}, "no_op": True, "already_open": True}
    users = [u.strip() for u in str(call.get("users") or "").split(",") if u.strip()]
    if not users:
        raise ApiError("users_list_not_supplied")
    if len(users) > 8:
        raise ApiError("too_many_users")
    for user_id in users:
        _dm_partner_problem(call, user_id)
    channel_id, existed = call.state.dm_channel(call.ws, tuple(users))
    record = call.state.channels[channel_id]
    channel = channel_object(record, call.ws) if call.flag("return_im") else {"id": channel_id}
    body: dict = {"channel": channel}
    if existed:
        body.update(no_op=True, already_open=True)
    return body


@method("conversations.info")
def conversations_info(call: MethodCall) -> dict:
    record = call.state.channel(call.get("channel"), call.ws)
    return {"channel": channel_object(record, call.ws)}


@method("conversations.join")
def conversations_join(call: MethodCall) -> dict:
    """Bots may join public channels only; private ones need an invitation from a member."""
    record = call.state.channel(call.get("channel"), call.ws)
    if record["is_private"] or record["is_im"]:
        raise ApiError("method_not_supported_for_channel_type")
    if record["is_archived"]:
        raise ApiError("is_archived")
    body: dict = {}
    if call.ws.bot_user_id in record["members"]:
        body["warning"] = "already_in_channel"
        body["response_metadata"] = {"warnings": ["already_in_channel"]}
    else:
        record["members"].append(call.ws.bot_user_id)
    body["channel"] = channel_object(record, call.ws)
    return body
