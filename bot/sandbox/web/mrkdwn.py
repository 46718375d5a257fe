"""Slack's mrkdwn as HTML, the way Slack shows it to one person.

Everything the bot and people type is treated as hostile: only the markup built here reaches the page, every piece
of their text goes through `markupsafe.escape`. Slack's own syntax is read in three passes over each line: the
`<…>` references (links, mentions, dates) and `code` spans become placeholders first, so nothing inside them is
ever formatted; then the text is unescaped from Slack's `&lt; &gt; &amp;`, its `:emoji:` become characters and it
is HTML-escaped; last, `*bold*`, `_italic_` and `~strike~` are found in what is left, and the placeholders put back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import emoji as emoji_lib
from markupsafe import Markup, escape

from bot.sandbox.mrkdwn_dates import format_date

LINK_SCHEMES = ("http://", "https://", "mailto:")
BROADCASTS = ("here", "channel", "everyone")


@dataclass(frozen=True)
class Viewer:
    """Who is reading: Slack ids as they read them, their time zone, the sandbox's clock and their own id."""

    names: dict[str, str]
    zone: ZoneInfo
    now: datetime
    user_id: str
    bot_id: str = "U0BOT"


# one placeholder per piece of finished HTML; the private-use characters are removed from people's text first
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_PRIVATE = re.compile("[\ue000\ue001]")
_FENCE = re.compile(r"```(.*?)```", re.S)
_TOKEN = re.compile(r"`([^`\n]+)`|<([^<>\n]*)>|(https?://(?:(?!&[lg]t;)[^\s<>`|])+)")
_ANGLE = re.compile(r"<([^<>\n]*)>")
_ENTITY = re.compile(r"&(lt|gt|amp);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
_EMOJI = re.compile(r":([a-zA-Z0-9_+'\-]+):(?::skin-tone-[2-6]:)?")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?!\s)(?!\1)(.+?)(?<!\s)\1(?!\w)")
_TAGS = {"*": "strong", "_": "em", "~": "s"}
_QUOTE = re.compile(r"^(?:>|&gt;) ?")
_QUOTE_ALL = re.compile(r"^(?:>>>|&gt;&gt;&gt;) ?")
_URL_TAIL = ".,;:!?)'\""


def to_html(text: str, viewer: Viewer) -> Markup:
    """Slack mrkdwn as safe HTML: formatting, quotes, code, links, mentions, dates and emoji."""
    chunks = _FENCE.split(_PRIVATE.sub("\ufffd", str(text or "")))
    parts = []
    for index, chunk in enumerate(chunks):
        if index % 2:
            parts.append(_pre(chunk, viewer))
            continue
        if index > 0:
            chunk = chunk.removeprefix("\n")
        if index < len(chunks) - 1:
            chunk = chunk.removesuffix("\n")
        parts.append(_flow(chunk, viewer))
    return Markup("").join(parts)


def to_plain(text: str, viewer: Viewer) -> str:
    """What a person reads of some mrkdwn, as plain text on one line (a confirm dialog's words)."""
    return to_html(text, viewer).replace(Markup("<br>"), Markup(" ")).striptags()


def plain_to_html(text: str, *, emoji: bool = True) -> Markup:
    """A plain_text object as safe HTML: emoji shortcodes as characters (unless `emoji` is off), newlines kept."""
    text = str(text or "")
    if emoji:
        text = _EMOJI.sub(lambda match: _emoji(match.group(1)) or match.group(0), text)
    return Markup("<br>").join(escape(line) for line in text.split("\n"))


# blocks of a message: code, quotes, lines ----------------------------------------------------------------------


def _pre(chunk: str, viewer: Viewer) -> Markup:
    body = chunk.removeprefix("\n").removesuffix("\n")
    return Markup('<pre class="bk-pre">{}</pre>').format(_plain_pieces(body, viewer))


def _flow(chunk: str, viewer: Viewer) -> Markup:
    """Lines joined by <br>, runs of `>` lines as one blockquote, `>>>` quoting everything after it."""
    if not chunk:
        return Markup("")
    out: list[Markup] = []
    plain: list[str] = []
    quoted: list[str] = []
    lines = chunk.split("\n")
    for index, line in enumerate(lines):
        if _QUOTE_ALL.match(line):
            quoted.extend([_QUOTE_ALL.sub("", line), *lines[index + 1 :]])
            break
        if _QUOTE.match(line):
            _flush(out, plain, viewer, quote=False)
            quoted.append(_QUOTE.sub("", line))
        else:
            _flush(out, quoted, viewer, quote=True)
            plain.append(line)
    _flush(out, plain, viewer, quote=False)
    _flush(out, quoted, viewer, quote=True)
    return Markup("").join(out)


def _flush(out: list[Markup], lines: list[str], viewer: Viewer, *, quote: bool) -> None:
    if not lines:
        return
    body = Markup("<br>").join(_inline(line, viewer) for line in lines)
    out.append(Markup('<blockquote class="bk-quote">{}</blockquote>').format(body) if quote else body)
    lines.clear()


# one line -----------------------------------------------------------------------------------------------------


def _inline(line: str, viewer: Viewer) -> Markup:
    stash: list[str] = []

    def keep(html: str) -> str:
        stash.append(html)
        return f"\ue000{len(stash) - 1}\ue001"

    text = _TOKEN.sub(lambda match: keep(_token_html(match, viewer)), line)
    text = _unescape(text)
    text = _EMOJI.sub(lambda match: keep(_emoji(match.group(1))) if _emoji(match.group(1)) else match.group(0), text)
    html = _emphasis(str(escape(text)))
    return Markup(_PLACEHOLDER.sub(lambda match: stash[int(match.group(1))], html))


def _emphasis(html: str) -> str:
    """*bold*, _italic_ and ~strike~ between word boundaries, nested but never crossing."""
    return _EMPHASIS.sub(lambda match: f"<{_TAGS[match[1]]}>{_emphasis(match[2])}</{_TAGS[match[1]]}>", html)


def _token_html(match: re.Match[str], viewer: Viewer) -> str:
    code, angle, bare_url = match.groups()
    if code is not None:
        return str(Markup('<code class="bk-code">{}</code>').format(_plain_pieces(code, viewer)))
    if angle is not None:
        return str(_angle_html(angle, viewer))
    url = bare_url.rstrip(_URL_TAIL)
    return str(link_html(_unescape(url), _unescape(url))) + str(escape(_unescape(bare_url[len(url) :])))


def _plain_pieces(text: str, viewer: Viewer) -> str:
    """Text with its `<…>` references as the words a person reads, entities unescaped (not HTML-escaped)."""
    pieces = _ANGLE.split(text)
    return "".join(_angle_text(piece, viewer) if index % 2 else _unescape(piece) for index, piece in enumerate(pieces))


def _unescape(text: str) -> str:
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)


@lru_cache(maxsize=2048)
def _emoji(name: str) -> str:
    """The emoji character for a shortcode, or "" when there is none."""
    code = f":{name}:"
    found = emoji_lib.emojize(code, language="alias")
    return "" if found == code else found


# <…> references: links, mentions, broadcasts, dates -------------------------------------------------------------


def _angle_html(inner: str, viewer: Viewer) -> Markup:
    target, _bar, label = inner.partition("|")
    if target.startswith("@") and _is_id(target[1:]):
        return _mention(target[1:], label, viewer)
    if target.startswith("#") and _is_id(target[1:]):
        return channel_html(target[1:], viewer, label=_unescape(label).lstrip("#"))
    if target.startswith("!"):
        return _special_html(target[1:], label, viewer)
    if target.lower().startswith(LINK_SCHEMES):
        return link_html(_unescape(target), _unescape(label) or _unescape(target))
    return escape(f"<{_unescape(inner)}>")


def _angle_text(inner: str, viewer: Viewer) -> str:
    """What a reference reads as, in plain text."""
    return Markup(_angle_html(inner, viewer)).striptags() or _unescape(inner)


def _is_id(ident: str) -> bool:
    return bool(re.fullmatch(r"[A-Z0-9]+", ident))


def _mention(user_id: str, label: str, viewer: Viewer) -> Markup:
    return mention_html(user_id, viewer, label=_unescape(label).lstrip("@"))


def mention_html(user_id: str, viewer: Viewer, *, label: str = "") -> Markup:
    """`@name` for a user id, marked when it is the reader."""
    name = viewer.names.get(user_id) or label or user_id
    self_mark = Markup(' data-self="1"') if user_id == viewer.user_id else Markup("")
    return Markup('<span class="mention" data-user-id="{}"{}>@{}</span>').format(user_id, self_mark, name)


def channel_html(channel_id: str, viewer: Viewer, *, label: str = "") -> Markup:
    name = viewer.names.get(channel_id) or label or channel_id
    return Markup('<span class="mention" data-channel-id="{}">#{}</span>').format(channel_id, name)


def broadcast_html(name: str) -> Markup:
    return Markup('<span class="mention" data-broadcast="{0}">@{0}</span>').format(name)


def subteam_html(group_id: str, name: str) -> Markup:
    return Markup('<span class="mention" data-subteam-id="{}">@{}</span>').format(group_id, name)


def _special_html(command: str, label: str, viewer: Viewer) -> Markup:
    if command in BROADCASTS:
        return broadcast_html(command)
    if command.startswith("subteam^"):
        name = _unescape(label).lstrip("@") or viewer.names.get(command[8:]) or command[8:]
        return subteam_html(command[8:], name)
    if command.startswith("date^"):
        _name, epoch, *rest = command.split("^")
        template, link = [*rest, "", ""][:2]
        return date_html(epoch, _unescape(template), viewer, link=_unescape(link), fallback=_unescape(label))
    return escape(_unescape(label) or f"<!{_unescape(command)}>")


def link_html(url: str, label: str) -> Markup:
    """A link that opens in a new tab, for http, https and mailto only; anything else is just its label."""
    if not url.lower().startswith(LINK_SCHEMES):
        return escape(label)
    return Markup('<a class="bk-link" href="{}" target="_blank" rel="noopener">{}</a>').format(url, label)


def date_html(epoch: object, template: str, viewer: Viewer, *, link: str = "", fallback: str = "") -> Markup:
    """A Slack date (`{date_short_pretty} at {time}`) in the reader's zone; the fallback when it cannot be read."""
    try:
        seconds = int(str(epoch))
        words = format_date(seconds, template, viewer.zone, viewer.now)
        iso = datetime.fromtimestamp(seconds, viewer.zone).isoformat()
    except (ValueError, OverflowError, OSError):
        return escape(fallback or str(epoch))
    html = Markup('<time class="bk-date" datetime="{}">{}</time>').format(iso, words)
    if link.lower().startswith(("http://", "https://")):
        return Markup('<a class="bk-link" href="{}" target="_blank" rel="noopener">{}</a>').format(link, html)
    return html


def emoji_char(name: str) -> str:
    """The emoji character for a shortcode name (`white_check_mark`), or "" when there is none."""
    return _emoji(name)
