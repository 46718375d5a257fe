"""Slack's date entities (`<!date^EPOCH^TEMPLATE^LINK|fallback>`) as a person reads them in their own time zone.

Shared by the terminal sandbox (bot/sandbox/transcript.py) and the browser sandbox's renderer. Slack shows
times on the 24-hour clock or 12-hour, after the reader's setting; the sandbox's people read the 24-hour one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_ENTITY = re.compile(r"<!date\^(-?\d+)\^([^^|>]*)(?:\^([^|>]*))?(?:\|([^>]*))?>")
_TOKEN = re.compile(r"\{([a-z_]+)\}")
_PRETTY = {-1: "Yesterday", 0: "Today", 1: "Tomorrow"}
_AGO_UNITS = (
    ("year", 365 * 86400),
    ("month", 30 * 86400),
    ("week", 7 * 86400),
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _ago(moment: datetime, now: datetime) -> str:
    seconds = int((now - moment).total_seconds())
    span = abs(seconds)
    for unit, size in _AGO_UNITS:
        if span >= size:
            count = span // size
            words = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"{words} ago" if seconds > 0 else f"in {words}"
    return "just now"


def _dates(local: datetime) -> dict[str, str]:
    day = _ordinal(local.day)
    return {
        "date_num": local.strftime("%Y-%m-%d"),
        "date": f"{local:%B} {day}, {local.year}",
        "date_short": f"{local:%b} {local.day}, {local.year}",
        "date_long": f"{local:%A}, {local:%B} {day}, {local.year}",
        "time": local.strftime("%H:%M"),
        "time_secs": local.strftime("%H:%M:%S"),
    }


def format_date(epoch: int, template: str, zone: ZoneInfo, now: datetime) -> str:
    """Fill Slack's date tokens in `template` for the instant `epoch` as read in `zone`; `now` (aware) decides
    the words of the *_pretty tokens (Today, Yesterday, Tomorrow: the reader's calendar days) and {ago}.
    Raises ValueError for a token Slack does not know, or an instant out of range."""
    try:
        moment = datetime.fromtimestamp(int(epoch), UTC)
    except (OverflowError, OSError) as error:
        raise ValueError(f"no such instant: {epoch}") from error
    local = moment.astimezone(zone)
    words = _dates(local)
    relative = _PRETTY.get((local.date() - now.astimezone(zone).date()).days)
    for kind in ("date", "date_short", "date_long"):
        words[f"{kind}_pretty"] = relative or words[kind]
    words["ago"] = _ago(moment, now)

    def token(match: re.Match[str]) -> str:
        if match.group(1) not in words:
            raise ValueError(f"unknown date token {{{match.group(1)}}}")
        return words[match.group(1)]

    return _TOKEN.sub(token, template)


def replace_dates(text: str, zone: ZoneInfo, now: datetime) -> str:
    """Every `<!date^…>` entity of mrkdwn `text` as its reader sees it; one with a link becomes Slack's link markup
    `<LINK|words>`, and one Slack could not show (an unknown token, an impossible instant) its fallback."""

    def entity(match: re.Match[str]) -> str:
        epoch, template, link, fallback = match.groups()
        try:
            shown = format_date(int(epoch), template, zone, now)
        except ValueError:
            return fallback or ""
        return f"<{link}|{shown}>" if link else shown

    return _ENTITY.sub(entity, text)
