"""What the browser sandbox shows a person: where they are, the messages there, their open form, the clock.

Everything is read from the fake Slack and the sandbox's clock, as a Slack client reads its workspace; it is
rendered by the templates under templates/, the Block Kit by bot/sandbox/web/blocks.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot import clock
from bot.commands import CATALOGUE
from bot.rituals.triage import HELPS, MAYBE, NOT_NOW, NUMBERS, ROCKET
from bot.sandbox.session import Sandbox
from bot.sandbox.web.blocks import Viewer
from bot.sandbox.web.mrkdwn import emoji_char

APP_PLACE = "okr-bot"  # the bot's own place in the sidebar: its Home tab and its DMs
# the reactions a triage or sprint pick counts, offered first when someone reacts
# a channel shows its latest messages only: the page redraws it every time it changes, and a long walk through a
# cycle leaves hundreds (400 messages take about 60 ms to draw; 200, about 30)
SHOWN_MESSAGES = 200
QUICK_REACTIONS = (HELPS, NOT_NOW, MAYBE, ROCKET, *NUMBERS[:5], "thumbsup", "tada", "eyes")


@dataclass(frozen=True)
class Place:
    """Where a person is looking: a channel by name, or the bot's DM (`okr-bot`) with its Home and Messages tabs."""

    key: str  # what the page's address says: a channel name or `okr-bot`
    channel_id: str
    title: str
    is_app: bool = False


@dataclass
class Shown:
    """One message (or reply only the viewer sees) as the page shows it."""

    message: dict
    author: str
    is_bot: bool
    when: str
    ephemeral: bool = False
    replies: int = 0
    reactions: list[dict] = field(default_factory=list)


def places(sandbox: Sandbox, user_id: str) -> list[Place]:
    """The sidebar: every channel of the workspace, then the bot's DM."""
    found = [Place(name, channel_id, f"#{name}") for name, channel_id in sorted(sandbox.channels.items())]
    found.append(Place(APP_PLACE, sandbox.fake.dm_channel_id(user_id), "OKR bot", is_app=True))
    return found


def place(sandbox: Sandbox, user_id: str, key: str | None) -> Place:
    """The place named `key`, or the first team channel when the name is unknown or missing."""
    known = places(sandbox, user_id)
    return next((p for p in known if p.key == key), None) or next(p for p in known if p.key == "team-rocket")


def zone_of(sandbox: Sandbox, user_id: str) -> ZoneInfo:
    """The person's Slack time zone, as their client shows times in it."""
    return ZoneInfo(sandbox.fake.user(user_id).get("tz") or "UTC")


def viewer(sandbox: Sandbox, user_id: str) -> Viewer:
    return Viewer(names=sandbox.names(), zone=zone_of(sandbox, user_id), now=clock.now(), user_id=user_id)


def _when(ts: str, zone: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(float(ts), UTC).astimezone(zone)
    return f"{moment:%a %d %b %H:%M}"


def _reactions(message: dict, user_id: str) -> list[dict]:
    return [
        {"name": r["name"], "count": r.get("count", len(r.get("users", []))), "mine": user_id in r.get("users", [])}
        for r in message.get("reactions") or []
    ]


def conversation(sandbox: Sandbox, user_id: str, channel_id: str, *, thread_ts: str | None = None) -> list[Shown]:
    """A channel's messages with the replies only `user_id` sees, oldest first; with `thread_ts`, one thread
    (its parent first). Thread replies are counted under their parent."""
    fake, names = sandbox.fake, sandbox.names()
    zone = zone_of(sandbox, user_id)
    bot_user = fake.workspace().bot_user_id
    messages = fake.messages(channel_id)
    replies: dict[str, int] = {}
    for message in messages:
        parent = message.get("thread_ts")
        if parent and parent != message["ts"]:
            replies[parent] = replies.get(parent, 0) + 1

    def wanted(message: dict) -> bool:
        parent = message.get("thread_ts")
        if thread_ts is None:
            return not parent or parent == message["ts"]
        return message["ts"] == thread_ts or parent == thread_ts

    shown = [
        Shown(
            message,
            names.get(message.get("user", ""), message.get("user", "?")),
            message.get("user") == bot_user,
            _when(message["ts"], zone),
            replies=replies.get(message["ts"], 0),
            reactions=_reactions(message, user_id),
        )
        for message in messages
        if wanted(message)
    ]
    for reply in fake.ephemerals:
        if reply["channel"] == channel_id and reply["user"] == user_id and wanted(reply):
            shown.append(Shown(reply, "OKR bot", True, _when(reply["ts"], zone), ephemeral=True))
    shown.sort(key=lambda s: float(s.message["ts"]))
    return shown


def open_form(sandbox: Sandbox, user_id: str) -> dict | None:
    """The top of the person's stack of forms (Slack shows one at a time), with how deep the stack is."""
    stack = sandbox.fake.open_views(user_id)
    if not stack:
        return None
    top = stack[-1]
    return {
        "record": top,
        "view": top["view"],
        "errors": top.get("errors") or {},
        "depth": len(stack),
        "key": f"{top['id']}:{top['hash']}:{json.dumps(top.get('errors'), sort_keys=True)}",
    }


def clock_bar(sandbox: Sandbox, user_id: str) -> dict:
    """The sandbox's now in the person's zone, and what the bot will do next by itself."""
    zone = zone_of(sandbox, user_id)
    now = clock.now()
    upcoming = [
        {"when": f"{m.when.astimezone(zone):%a %d %b %H:%M}", "what": m.what, "kind": m.kind}
        for m in sandbox.moments(limit=4)
    ]
    return {"now": f"{now.astimezone(zone):%A %d %B %Y, %H:%M}", "zone": str(zone), "upcoming": upcoming}


def commands_catalogue() -> list[dict]:
    """The bot's own sub-commands, for the message box's completion."""
    return [{"name": c.name, "usage": c.usage, "summary": c.summary} for c in CATALOGUE if c.ready]


def emoji_character(name: str) -> str:
    """A reaction's emoji from its Slack short name (`white_check_mark`, skin tone aside), or `:name:` without one."""
    return emoji_char(name.split("::", 1)[0]) or f":{name}:"


def version(*parts: str) -> str:
    """A short fingerprint of what a pane shows: the page redraws a pane only when it changes."""
    return hashlib.sha1("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()[:16]
