"""Block Kit as a person reads it, in plain terminal text (used by `okr-bot sandbox`)."""

from __future__ import annotations

import re
from typing import Any

_MENTION = re.compile(r"<([@#])([A-Z0-9]+)(?:\|([^>]*))?>")


def readable(text: str, names: dict[str, str]) -> str:
    """Turn Slack's `<@U123>` / `<#C123|name>` markup and entities back into names."""

    def name(match: re.Match[str]) -> str:
        sigil, ident, label = match.groups()
        return f"{sigil}{label or names.get(ident, ident)}"

    text = _MENTION.sub(name, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_blocks(payload: dict[str, Any], names: dict[str, str]) -> list[str]:
    """One line (or several) per block; buttons become [Label], inputs show their label and value."""
    blocks = payload.get("blocks") or []
    if not blocks:
        return [readable(payload.get("text", ""), names)]
    lines: list[str] = []
    for block in blocks:
        lines.extend(_block(block, names))
    return lines


def _block(block: dict[str, Any], names: dict[str, str]) -> list[str]:
    kind = block.get("type")
    text = _text(block.get("text"), names)
    if kind == "header":
        return [text.upper()]
    if kind == "section":
        lines = text.splitlines() if text else []
        lines += [_text(f, names) for f in block.get("fields", [])]
        if block.get("accessory", {}).get("type") == "button":
            lines.append(f"[{_text(block['accessory']['text'], names)}]")
        return lines
    if kind == "context":
        return ["  " + " ".join(_text(e, names) if "text" in e else "" for e in block.get("elements", []))]
    if kind == "divider":
        return ["-" * 40]
    if kind == "actions":
        return ["  ".join(f"[{_text(e.get('text'), names)}]" for e in block.get("elements", []) if "text" in e)]
    if kind == "input":
        label, value = _text(block.get("label"), names), _initial(block.get("element", {}), names)
        return [f"{label}: {value}  (field `{block.get('block_id')}`)"]
    return [f"({kind} block)"]


def _text(node: Any, names: dict[str, str]) -> str:
    if isinstance(node, dict):
        return readable(str(node.get("text", "")), names)
    return readable(str(node or ""), names)


def _initial(element: dict[str, Any], names: dict[str, str]) -> str:
    if "initial_users" in element:
        return ", ".join("@" + names.get(u, u) for u in element["initial_users"]) or "(empty)"
    if "initial_conversation" in element:
        return "#" + names.get(element["initial_conversation"], element["initial_conversation"])
    for key in ("initial_value", "initial_date"):
        if key in element:
            return str(element[key])
    if "initial_option" in element:
        return str(element["initial_option"]["text"]["text"])
    return "(empty)"
