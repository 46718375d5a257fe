"""Jinja2 templates in bot/templates/ → Block Kit JSON. The bot's words live in the templates."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.blockkit import check_message, check_view, clip

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# user and channel mentions people typed stay mentions; every other `<`, `>`, `&` is shown as typed
_MENTION = re.compile(r"(<[@#][A-Z0-9]+(?:\|[^<>]*)?>)")


def mrkdwn(text: object) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters, keeping mentions."""
    parts = _MENTION.split(str(text))
    return "".join(
        part if _MENTION.fullmatch(part) else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for part in parts
    )


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot", "templates"),
        undefined=StrictUndefined,  # a missing variable is a bug, not an empty string
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["mrkdwn"] = mrkdwn
    env.filters["clip"] = clip
    env.filters["weekday"] = lambda index: WEEKDAY_NAMES[index]
    env.filters["hour"] = lambda hour: f"{hour:02d}:00"
    env.filters["user"] = lambda user_id: f"<@{user_id}>"
    env.filters["channel"] = lambda channel_id: f"<#{channel_id}>"
    env.globals["WEEKDAY_NAMES"] = WEEKDAY_NAMES
    return env


def _render_json(name: str, context: dict[str, Any]) -> dict[str, Any]:
    source = environment().get_template(name).render(**context)
    try:
        return json.loads(source)
    except json.JSONDecodeError as error:
        raise ValueError(f"template {name} rendered invalid JSON: {error}\n{source}") from None


def render_message(name: str, **context: Any) -> dict[str, Any]:
    """A message payload (`text` + `blocks`) for chat.postMessage, respond() or an ack."""
    return check_message(_render_json(name, context))


def render_view(name: str, **context: Any) -> dict[str, Any]:
    """A modal or App Home view for views.open / views.publish."""
    return check_view(_render_json(name, context))
