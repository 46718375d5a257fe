"""The dashboard's HTML templates (autoescaped) and the addresses its pages link to."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from bot.numbers import format_number
from bot.text import plural

HERE = Path(__file__).parent
BASE = "/dashboard"  # where every page lives, under okr-bot serve and under the sandbox alike


def _query(values: dict[str, Any]) -> str:
    """`?a=1&b=2` from the values that are set (None, "" and False are left out); "" when none is."""
    kept = [(key, value) for key, value in values.items() if value not in (None, "", False)]
    return ("?" + urlencode(kept, doseq=True)) if kept else ""


def overview_url(**query: Any) -> str:
    return f"{BASE}/{_query(query)}"


def team_url(team_id: int, **query: Any) -> str:
    return f"{BASE}/teams/{int(team_id)}{_query(query)}"


def key_result_url(team_id: int, key_result_id: int) -> str:
    return f"{BASE}/teams/{int(team_id)}/key-results/{int(key_result_id)}"


def export_url(team_id: int, cycle_number: int, fmt: str) -> str:
    assert fmt in ("csv", "json"), fmt
    return f"{BASE}/teams/{int(team_id)}/cycles/{int(cycle_number)}.{fmt}"


def network_url(*, team: int | None = None, ripple: int | None = None) -> str:
    return f"{BASE}/network{_query({'team': team, 'ripple': ripple})}"


def static_url(name: str) -> str:
    return f"{BASE}/static/{quote(name)}"


@pass_context
def who(context: Context, user_id: str | None) -> Markup:
    """A person as the page names them: the name Slack shows (from the page's `people`), else their Slack id."""
    if not user_id:
        return Markup("")
    name = (context.get("people") or {}).get(user_id)
    if name:
        return Markup('<span class="user" title="{}">{}</span>').format(user_id, name)
    return Markup('<span class="user">{}</span>').format(user_id)


def day(value: date | datetime | None) -> str:
    """A date as people read it on the dashboard: 2026-12-07."""
    if value is None:
        return ""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a missing variable is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        overview_url=overview_url,
        team_url=team_url,
        key_result_url=key_result_url,
        export_url=export_url,
        network_url=network_url,
        static_url=static_url,
        who=who,
        sign_out_url=f"{BASE}/sign-out",
    )
    env.filters.update(number=format_number, plural=plural, day=day)
    return env


def render(name: str, **context: Any) -> str:
    """A page: `context` adds to what every page gets (viewer, workspace_name, now, section, and `people`: the names
    of people by Slack id)."""
    page: dict[str, Any] = {"viewer": None, "workspace_name": "", "now": None, "section": None, "people": {}}
    page.update(context)
    return environment().get_template(name).render(**page)
