"""conversations.open / info / join / history / replies: how the bot finds, enters and reads the places it talks in."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..args import MethodCall
from ..cursors import cursor_start, next_cursor
from ..errors import ApiError
from ..state import Workspace, message_payload
from .registry import method

HISTORY_LIMIT = 100
MAX_HISTORY_LIMIT = 999


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


def _history_ts(call: MethodCall, name: str) -> Decimal | None:
    """A ``oldest``/``latest`` bound: Slack ts strings compare as exact decimals, never as floats."""
    value = call.get(name)
    if value is None:
        return None
    try:
        ts = Decimal(str(value))
    except InvalidOperation:
        raise ApiError(f"invalid_ts_{name}") from None
    if not ts.is_finite() or ts < 0:
        raise ApiError(f"invalid_ts_{name}")
    return ts


def _history_limit(call: MethodCall) -> int:
    value = call.get("limit", HISTORY_LIMIT)
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise ApiError("invalid_limit") from None
    if not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise ApiError("invalid_limit")
    return limit


def _cursor_ts(call: MethodCall) -> Decimal | None:
    """Where the previous page stopped: the ts of the next message, in a ``next_ts`` cursor."""
    ts = cursor_start(call, "next_ts")
    if ts is None:
        return None
    try:
        return Decimal(ts)
    except InvalidOperation:
        raise ApiError("invalid_cursor") from None


def _in_window(ts: Decimal, oldest: Decimal | None, latest: Decimal | None, inclusive: bool) -> bool:
    if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
        return False
    return latest is None or ts < latest or (ts == latest and inclusive)


def _history_entry(message: dict, with_metadata: bool) -> dict:
    payload = message_payload(message)
    if not with_metadata:
        payload.pop("metadata", None)
    return payload


def _readable_channel(call: MethodCall) -> dict:
    """A conversation whose messages the bot may read: it sees it and is a member."""
    record = call.state.channel(call.get("channel"), call.ws)
    if call.ws.bot_user_id not in record["members"]:
        raise ApiError("not_in_channel")
    return record


@method("conversations.history")
def conversations_history(call: MethodCall) -> dict:
    """The channel's own messages, newest first: thread parents yes, thread replies no (conversations.replies).

    Without ``latest`` there is no upper bound. Slack's default is "now", and every message the fake holds was
    posted by now; but with a frozen ``wall_clock`` the fake's timestamps step past "now" by a microsecond per
    message, and a literal "now" would hide them.
    """
    record = _readable_channel(call)
    oldest, latest = _history_ts(call, "oldest"), _history_ts(call, "latest")
    inclusive, limit, resume = call.flag("inclusive"), _history_limit(call), _cursor_ts(call)
    window = []
    for message in reversed(call.state.messages.get(record["id"], [])):
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            continue
        ts = Decimal(message["ts"])
        if _in_window(ts, oldest, latest, inclusive) and (resume is None or ts <= resume):
            window.append(message)
    page, rest = window[:limit], window[limit:]
    body: dict = {
        "messages": [_history_entry(message, call.flag("include_all_metadata")) for message in page],
        "has_more": bool(rest),
        "pin_count": 0,
    }
    if rest:
        body["response_metadata"] = {"next_cursor": next_cursor("next_ts", rest[0]["ts"])}
    return body


def _thread_parent(call: MethodCall, channel_id: str) -> dict:
    """The message that starts the thread ``ts`` names: ``ts`` may be the parent or any reply in it."""
    ts = call.get("ts")
    if ts is None:
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: ts"])
    messages = call.state.messages.get(channel_id, [])
    message = next((m for m in messages if m["ts"] == str(ts)), None)
    if message is None:
        raise ApiError("thread_not_found")
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != message["ts"]:
        message = next((m for m in messages if m["ts"] == thread_ts), message)
    return message


@method("conversations.replies")
def conversations_replies(call: MethodCall) -> dict:
    """A thread, oldest first: the parent always comes first (on every page), then the replies in the window.

    ``limit`` counts replies, so paging always moves on even though each page repeats the parent. A message
    without replies is a thread of one: just itself.
    """
    record = _readable_channel(call)
    parent = _thread_parent(call, record["id"])
    oldest, latest = _history_ts(call, "oldest"), _history_ts(call, "latest")
    inclusive, limit, resume = call.flag("inclusive"), _history_limit(call), _cursor_ts(call)
    window = []
    for message in call.state.messages.get(record["id"], []):
        if message is parent or message.get("thread_ts") != parent["ts"]:
            continue
        ts = Decimal(message["ts"])
        if _in_window(ts, oldest, latest, inclusive) and (resume is None or ts >= resume):
            window.append(message)
    page, rest = window[:limit], window[limit:]
    with_metadata = call.flag("include_all_metadata")
    body: dict = {
        "messages": [_history_entry(message, with_metadata) for message in [parent, *page]],
        "has_more": bool(rest),
    }
    if rest:
        body["response_metadata"] = {"next_cursor": next_cursor("next_ts", rest[0]["ts"])}
    return body
