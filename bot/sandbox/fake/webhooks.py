"""response_url: where a bot answers a command or a click, ephemerally or in the channel.

Slack lets each URL be used 5 times within 30 minutes; the fake enforces both so retry loops and
"respond, then respond again" flows meet the same wall they meet in production.
"""

from __future__ import annotations

from .blockkit import block_problems
from .errors import ApiError
from .state import ResponseUrl, SlackState

MAX_USES = 5
LIFETIME = 30 * 60


def new_response_url(state: SlackState, *, channel_id: str, user_id: str, team_id: str, message_ts: str | None) -> str:
    url_id = state.ids.secret(16)
    state.response_urls[url_id] = ResponseUrl(url_id, channel_id, user_id, team_id, message_ts, state.clock())
    return f"{state.base_url}/response/{url_id}"


def post_response(state: SlackState, url_id: str, body: object) -> tuple[int, dict]:
    """Handle one POST to a response_url: (HTTP status, JSON answer)."""
    target = state.response_urls.get(url_id)
    if target is None:
        return 404, {"ok": False, "error": "invalid_url"}
    if state.clock() - target.created > LIFETIME:
        return 404, {"ok": False, "error": "expired_url"}
    if target.uses >= MAX_USES:
        return 404, {"ok": False, "error": "used_url"}
    if not isinstance(body, dict):
        return 400, {"ok": False, "error": "invalid_payload"}
    try:
        deliver_reply(
            state,
            team_id=target.team_id,
            channel_id=target.channel_id,
            user_id=target.user_id,
            body=body,
            message_ts=target.message_ts,
            source="response_url",
        )
    except ApiError as error:
        return 400, error.body()
    target.uses += 1
    return 200, {"ok": True}


def _content(body: dict) -> tuple[str, list]:
    text = str(body.get("text") or "")
    blocks = body.get("blocks") or []
    if not text and not blocks:
        raise ApiError("no_text")
    problems = block_problems(blocks, max_blocks=50)
    if problems:
        raise ApiError("invalid_blocks", messages=problems)
    return text, blocks


def _original(state: SlackState, channel_id: str, message_ts: str | None) -> dict | None:
    if message_ts is None:
        return None
    for message in [*state.messages.get(channel_id, []), *state.ephemerals]:
        if message["ts"] == message_ts and message["channel"] == channel_id:
            return message
    return None


def deliver_reply(
    state: SlackState,
    *,
    team_id: str,
    channel_id: str,
    user_id: str,
    body: dict,
    message_ts: str | None,
    source: str,
) -> None:
    """Apply a reply body (response_url POST or a command's ack body) to the fake's conversations."""
    original = _original(state, channel_id, message_ts)
    if body.get("delete_original") and original is not None:
        container = state.ephemerals if original in state.ephemerals else state.messages[channel_id]
        container.remove(original)
        return
    text, blocks = _content(body)
    if body.get("replace_original") and original is not None:
        original.update(text=text, blocks=blocks, edited=True, edited_ts=state.next_ts())
        return
    ws = state.workspaces[team_id]
    if body.get("response_type") == "in_channel":
        state.bot_message(ws, channel_id, text=text, blocks=blocks, thread_ts=body.get("thread_ts"))
        return
    state.ephemerals.append(
        {
            "ts": state.next_ts(),
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "blocks": blocks,
            "thread_ts": body.get("thread_ts"),
            "source": source,
        }
    )
