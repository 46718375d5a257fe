"""chat.*: posting, editing, deleting, whispering (ephemeral) and linking messages."""

from __future__ import annotations

from ..args import MethodCall, message_content
from ..errors import ApiError
from ..state import message_payload
from .registry import method

_KEPT_FIELDS = ("attachments", "metadata")


@method("chat.postMessage")
def chat_post_message(call: MethodCall) -> dict:
    state, ws = call.state, call.ws
    text, blocks = message_content(call)
    channel = state.postable_channel(call.get("channel"), ws)
    thread_ts = call.get("thread_ts")
    if thread_ts:
        try:
            state.message(channel["id"], thread_ts)
        except ApiError:
            raise ApiError("thread_not_found") from None
    extra = {name: call.json(name, "invalid_arguments") for name in _KEPT_FIELDS if name in call.args}
    message = state.bot_message(ws, channel["id"], text=text, blocks=blocks, thread_ts=thread_ts, **extra)
    return {"channel": channel["id"], "ts": message["ts"], "message": message_payload(message)}


def _own_message(call: MethodCall, ts_arg: str, not_owned: str) -> dict:
    channel = call.state.channel(call.get("channel"), call.ws)
    message = call.state.message(channel["id"], call.get(ts_arg))
    if message["user"] != call.ws.bot_user_id:
        raise ApiError(not_owned)
    return message


@method("chat.update")
def chat_update(call: MethodCall) -> dict:
    text, blocks = message_content(call)
    message = _own_message(call, "ts", "cant_update_message")
    if "text" in call.args:
        message["text"] = text
    if "blocks" in call.args:
        message["blocks"] = blocks or []
    message["edited"] = True
    message["edited_ts"] = call.state.next_ts()
    return {
        "channel": message["channel"],
        "ts": message["ts"],
        "text": message["text"],
        "message": message_payload(message),
    }


@method("chat.delete")
def chat_delete(call: MethodCall) -> dict:
    message = _own_message(call, "ts", "cant_delete_message")
    messages = call.state.messages[message["channel"]]
    messages.remove(message)
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != message["ts"]:
        parent = next((m for m in messages if m["ts"] == thread_ts), None)
        if parent is not None:
            parent["reply_count"] = max(0, parent.get("reply_count", 1) - 1)
    return {"channel": message["channel"], "ts": message["ts"]}


@method("chat.postEphemeral")
def chat_post_ephemeral(call: MethodCall) -> dict:
    """Visible to one member of the conversation only; Slack refuses if they are not in it."""
    state, ws = call.state, call.ws
    text, blocks = message_content(call)
    channel = state.postable_channel(call.get("channel"), ws)
    user = state.user(call.get("user"), ws)
    if user["id"] not in channel["members"]:
        raise ApiError("user_not_in_channel")
    ts = state.next_ts()
    state.ephemerals.append(
        {
            "ts": ts,
            "channel": channel["id"],
            "user": user["id"],
            "text": text,
            "blocks": blocks or [],
            "thread_ts": call.get("thread_ts"),
            "source": "chat.postEphemeral",
        }
    )
    return {"message_ts": ts}


@method("chat.getPermalink")
def chat_get_permalink(call: MethodCall) -> dict:
    channel = call.state.channel(call.get("channel"), call.ws)
    message = call.state.message(channel["id"], call.get("message_ts"))
    link = f"https://{call.ws.domain}.slack.com/archives/{channel['id']}/p{message['ts'].replace('.', '')}"
    thread_ts = message.get("thread_ts")
    if thread_ts and thread_ts != message["ts"]:
        link += f"?thread_ts={thread_ts}&cid={channel['id']}"
    return {"channel": channel["id"], "permalink": link}
