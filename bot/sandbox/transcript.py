"""Block Kit as a person reads it, in plain terminal text (used by `okr-bot sandbox --terminal`).

Buttons show as `[Label]`; when several on one message or form share a label they are told apart as
`[Edit #1]`, `[Edit #2]`, which `click` accepts too. Dates are shown in the reader's time zone.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox import forms
from bot.sandbox.mrkdwn_dates import replace_dates

_MENTION = re.compile(r"<([@#])([A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SHORTCODE = re.compile(r":[a-z0-9_+'-]+:")
_NUMBERED = re.compile(r"(.*?)\s*#(\d+)")


@dataclass
class Reader:
    """Who reads: Slack ids as names, and the reader's time zone and now for dates."""

    names: dict[str, str]
    zone: ZoneInfo
    now: datetime  # the sandbox's clock (bot/clock.py), never the machine's


def readable(text: str, reader: Reader) -> str:
    """Slack's markup as a person reads it: dates in their zone, `<@U123>` / `<#C123|name>` as names, links."""

    def name(match: re.Match[str]) -> str:
        sigil, ident, label = match.groups()
        return f"{sigil}{label or reader.names.get(ident, ident)}"

    text = replace_dates(text, reader.zone, reader.now)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", _MENTION.sub(name, text))
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# what can be clicked ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clickable:
    """A button, or one item of an overflow menu or a select, where a person can press it."""

    block: dict
    element: dict
    option: dict | None
    shown: str  # its label as printed, `#N` added when others share it


def _elements(block: dict) -> list[dict]:
    found = list(block.get("elements", [])) if block.get("type") == "actions" else []
    return [*found, block["accessory"]] if isinstance(block.get("accessory"), dict) else found


def clickables(blocks: list[dict]) -> list[Clickable]:
    """Everything clickable in these blocks, in order, with same-labelled ones numbered."""
    raw: list[tuple[dict, dict, dict | None, str]] = []
    for block in blocks:
        for element in _elements(block):
            if element.get("type") == "button":
                raw.append((block, element, None, _plain(element.get("text"))))
            elif element.get("type") in ("overflow", "static_select"):
                raw += [(block, element, option, forms.label_of(option)) for option in forms.options_of(element)]
    counts, seen = Counter(label_key(label) for *_rest, label in raw), Counter[str]()
    found = []
    for block, element, option, label in raw:
        key = label_key(label)
        seen[key] += 1
        found.append(Clickable(block, element, option, f"{label} #{seen[key]}" if counts[key] > 1 else label))
    return found


def label_key(label: str) -> str:
    """A label as a person may type it: any case, no emoji, no trailing `…` or punctuation around it."""
    text = _SHORTCODE.sub(" ", label).replace("…", " ").replace("...", " ")
    text = re.sub(r"^[\W_]+|[\W_]+$", "", text)
    return " ".join(text.split()).casefold()


def find_clickable(blocks: list[dict], wanted: str) -> Clickable | str:
    """The clickable `wanted` names (its label, `LABEL #N` among same-labelled ones, or the one label it begins);
    otherwise why not, in words."""
    items = clickables(blocks)
    exact = [item for item in items if label_key(item.shown) == label_key(wanted)]
    if exact:
        return exact[0]
    numbered = _NUMBERED.fullmatch(wanted.strip())
    base, number = (numbered.group(1), int(numbered.group(2))) if numbered else (wanted, None)
    same = [item for item in items if label_key(_label(item)) == label_key(base)]
    if not same and label_key(base):
        same = [item for item in items if label_key(_label(item)).startswith(label_key(base))]
        if len({label_key(_label(item)) for item in same}) > 1:
            return f"{wanted.strip()!r} could be {' or '.join(sorted({f'[{_label(i)}]' for i in same}))}."
    if not same:
        return ""
    if number is None:
        return same[0]
    if 1 <= number <= len(same):
        return same[number - 1]
    return f"There are {len(same)} buttons labelled {_label(same[0])!r}: #1 to #{len(same)}."


def _label(item: Clickable) -> str:
    return forms.label_of(item.option) if item.option is not None else _plain(item.element.get("text"))


def _plain(node: Any) -> str:
    return str(node.get("text", "")) if isinstance(node, dict) else str(node or "")


# messages and forms ----------------------------------------------------------------------------------------


def render_blocks(payload: dict[str, Any], reader: Reader, *, errors: dict | None = None) -> list[str]:
    """One line (or several) per block of a message, a form or a Home tab. A form's fields show what they hold
    (`state`, else the initial value), their choices, and `errors` under the field they are about."""
    blocks = payload.get("blocks") or []
    if not blocks:
        return readable(str(payload.get("text", "")), reader).splitlines() or [""]
    shown = {(id(c.element), id(c.option)): c.shown for c in clickables(blocks)}
    held = (payload.get("state") or {}).get("values") or {}
    lines: list[str] = []
    for block in blocks:
        block_id = block.get("block_id")
        if block.get("type") == "input":
            lines += _input(block, held.get(block_id, {}), reader, (errors or {}).get(block_id))
        else:
            lines += _block(block, reader, shown)
    return lines


def _block(block: dict[str, Any], reader: Reader, shown: dict) -> list[str]:
    kind = block.get("type")
    text = _text(block.get("text"), reader)
    if kind == "header":
        return [text.upper()]
    if kind == "section":
        lines = text.splitlines() if text else []
        lines += [_text(f, reader) for f in block.get("fields", [])]
        accessory = _controls([block["accessory"]], shown) if isinstance(block.get("accessory"), dict) else ""
        return [*lines, accessory] if accessory else lines
    if kind == "context":
        return ["  " + " ".join(_text(e, reader) if "text" in e else "" for e in block.get("elements", []))]
    if kind == "divider":
        return ["-" * 40]
    if kind == "actions":
        return [_controls(block.get("elements", []), shown)]
    if kind == "image":
        return [f"(image: {block.get('alt_text', '')})"]
    return [f"({kind} block)"]


def _controls(elements: list[dict], shown: dict) -> str:
    parts = []
    for element in elements:
        if element.get("type") == "button":
            parts.append(f"[{shown.get((id(element), id(None)), _plain(element.get('text')))}]")
        elif element.get("type") in ("overflow", "static_select"):
            items = [f"[{shown.get((id(element), id(o)), forms.label_of(o))}]" for o in forms.options_of(element)]
            parts.append("⋯ " + " ".join(items))
    return "  ".join(parts)


def _input(block: dict, held: dict, reader: Reader, error: str | None) -> list[str]:
    element = block.get("element") or {}
    state = held.get(element.get("action_id", "value")) or forms.initial_state(element)
    label = _text(block.get("label"), reader)
    lines = [f"{label}: {_value(state, reader) or '(empty)'}  (field `{block.get('block_id')}`)"]
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons"):
        lines.append(f"    one of: {forms.describe_options(element)}")
    elif kind in ("checkboxes", "multi_static_select"):
        lines.append(f"    any of (several: comma-separated): {forms.describe_options(element)}")
    if error:
        lines.append(f"    ! {readable(str(error), reader)}")
    return lines


def _value(state: dict, reader: Reader) -> str:
    names = reader.names
    for key, value in state.items():
        if key == "type" or value in (None, [], ""):
            continue
        if key == "selected_option":
            return forms.label_of(value)
        if key == "selected_options":
            return ", ".join(forms.label_of(o) for o in value)
        if key in ("selected_user", "selected_users"):
            return ", ".join("@" + names.get(u, u) for u in ([value] if isinstance(value, str) else value))
        if key.startswith(("selected_conversation", "selected_channel")):
            return ", ".join("#" + names.get(c, c) for c in ([value] if isinstance(value, str) else value))
        return readable(str(value), reader)
    return ""


def _text(node: Any, reader: Reader) -> str:
    return readable(_plain(node), reader)
