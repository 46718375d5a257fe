"""Jinja2 templates in bot/templates/ → Block Kit JSON. The bot's words live in the templates."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot import examples
from bot.blockkit import check_blocks, check_message, check_view, clip
from bot.numbers import format_number
from bot.text import plural
from storage.models import ItemState

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DIRECTION_LABELS = {
    "increase": "increase",
    "decrease": "decrease",
    "keep_above": "keep above",
    "keep_below": "keep below",
}
SEVERITY_ICONS = {"error": ":no_entry:", "warning": ":warning:", "info": ":bulb:"}


# user and channel mentions people typed stay mentions; every other `<`, `>`, `&` is shown as typed
_MENTION = re.compile(r"(<[@#][A-Z0-9]+(?:\|[^<>]*)?>)")


def mrkdwn(text: object) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters, keeping mentions."""
    parts = _MENTION.split(str(text))
    return "".join(
        part if _MENTION.fullmatch(part) else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for part in parts
    )


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone, with a UTC fallback for old clients."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def finding(item: Any) -> str:
    """One coach finding as a line of mrkdwn: its severity and the advice (which names the key result)."""
    return f"{SEVERITY_ICONS[item.severity.value]} {mrkdwn(item.message)}"


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
    env.filters["number"] = lambda value: "?" if value is None else format_number(value)
    env.filters["finding"] = finding
    env.filters["slack_date"] = slack_date
    env.filters["plural"] = plural
    env.globals["WEEKDAY_NAMES"] = WEEKDAY_NAMES
    env.globals["DIRECTION_LABELS"] = DIRECTION_LABELS
    env.globals["SEVERITY_ICONS"] = SEVERITY_ICONS
    env.globals["ITEM_STATES"] = ItemState
    # example dates in hints, from the day the message is rendered: never in the past for its reader
    env.globals["example_away_until"] = lambda: examples.away_until(examples.today()).isoformat()
    env.globals["example_cycle_start"] = lambda: examples.cycle_start(examples.today()).isoformat()
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


def render_blocks(name: str, **context: Any) -> list[dict[str, Any]]:
    """Blocks for more than one message (a long digest): each block within Slack's limits, any number of them."""
    blocks = _render_json(name, context)["blocks"]
    check_blocks(blocks, len(blocks))
    return blocks
