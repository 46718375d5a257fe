"""Block Kit as HTML, the way Slack shows it to one person, for the browser sandbox.

The markup is in templates/blocks.html.j2 (autoescaped macros); this module is its helper `h`: text objects as
safe HTML, the option lists of selects (people and channels from the reader's names), the values a control starts
with (its `initial_*`, or what was typed, from a view's `state`), the checked URLs and image sources, and the ids
that wire a label to its control. Each block is rendered on its own, so one the sandbox cannot read is a note.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from bot.sandbox.web.mrkdwn import Viewer, plain_to_html, to_html, to_plain
from bot.sandbox.web.rich_text import rich_elements

__all__ = ["Viewer", "render_blocks", "render_message_body"]

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
WEB_SCHEMES = ("http://", "https://")
ATTACHMENT_COLORS = {"good": "#2eb67d", "warning": "#ecb22e", "danger": "#e01e5a"}
_HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}")
_ids = itertools.count(1)

# what a view's state says was chosen, as the element's own initial value
_STATE_KEYS = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
}


def render_blocks(
    blocks: list[dict], viewer: Viewer, *, errors: dict[str, str] | None = None, state: dict | None = None
) -> Markup:
    """Blocks as HTML for one reader; `errors` (block_id → words) under their fields, `state` as typed."""
    helper = _helper(viewer, errors, state)
    return Markup('<div class="bk-blocks">{}</div>').format(helper.blocks(blocks))


def render_message_body(message: dict, viewer: Viewer) -> Markup:
    """A message as Slack shows it: its blocks, or its text when it has none, then any legacy attachments."""
    helper = _helper(viewer, None, None)
    blocks = message.get("blocks")
    if blocks:
        body = Markup('<div class="bk-blocks">{}</div>').format(helper.blocks(blocks))
    else:
        body = Markup('<div class="bk-message-text">{}</div>').format(to_html(message.get("text") or "", viewer))
    attachments = [helper.attachment(item) for item in message.get("attachments") or [] if isinstance(item, dict)]
    return body + Markup("").join(attachments)


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _helper(viewer: Viewer, errors: dict[str, str] | None, state: dict | None) -> _Helper:
    helper = _Helper(viewer, dict(errors or {}), _state_values(state))
    helper.module = _environment().get_template("blocks.html.j2").make_module({"h": helper})
    return helper


def _state_values(state: Any) -> Mapping[str, Any]:
    if not isinstance(state, Mapping):
        return {}
    values = state.get("values", state)
    return values if isinstance(values, Mapping) else {}


@dataclass
class Option:
    value: str
    label: str
    html: Markup
    description: Markup | None = None
    selected: bool = False
    url: str = ""


@dataclass
class Group:
    label: str | None
    options: list[Option]


@dataclass
class Field:
    """An input block's control as a form field: its name, the ids its label and descriptions hang on."""

    name: str
    id: str
    error: str | None
    required: bool
    dispatch: bool
    hint: bool = False

    @property
    def label_id(self) -> str:
        return f"{self.id}-label"

    @property
    def hint_id(self) -> str:
        return f"{self.id}-hint"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def describedby(self) -> str:
        """The ids of the words that describe the field: its error first, then its hint."""
        return " ".join([self.error_id] * bool(self.error) + [self.hint_id] * self.hint)


@dataclass
class _Helper:
    viewer: Viewer
    errors: dict[str, str]
    state: Mapping
    module: Any = field(default=None, repr=False)

    # blocks ------------------------------------------------------------------------------------------------

    def blocks(self, blocks: Any) -> Markup:
        if not isinstance(blocks, list):
            return self.unreadable("blocks")
        return Markup("").join(self.block(block) for block in blocks)

    def block(self, block: Any) -> Markup:
        try:
            return Markup(self.module.block(block))
        except Exception:  # a block the sandbox cannot read is a note, never a broken page
            log.warning("could not render a %s block", self.kind(block), exc_info=True)
            return self.unreadable(self.kind(block) or "malformed")

    def attachment(self, attachment: dict) -> Markup:
        try:
            return Markup(self.module.attachment(attachment))
        except Exception:
            log.warning("could not render an attachment", exc_info=True)
            return self.unreadable("attachment")

    @staticmethod
    def unreadable(kind: str) -> Markup:
        return Markup('<div class="bk-note bk-unknown">A {} the sandbox could not show</div>').format(kind)

    @staticmethod
    def kind(node: Any) -> str:
        return str(node.get("type") or "") if isinstance(node, Mapping) else ""

    @staticmethod
    def items(value: Any) -> list:
        """A list from the payload, or nothing when it is not one (a string is not a list of fields)."""
        return value if isinstance(value, list) else []

    @staticmethod
    def block_id(block: Mapping) -> str:
        return str(block.get("block_id") or "")

    @staticmethod
    def indent(part: Mapping) -> int:
        try:
            return max(0, min(8, int(part.get("indent") or 0)))
        except (TypeError, ValueError):
            return 0

    # text --------------------------------------------------------------------------------------------------

    def text(self, node: Any) -> Markup:
        """A text object (mrkdwn or plain_text), or a bare string as mrkdwn."""
        if isinstance(node, Mapping):
            if node.get("type") == "plain_text":
                return plain_to_html(str(node.get("text") or ""), emoji=node.get("emoji", True) is not False)
            return to_html(str(node.get("text") or ""), self.viewer)
        return to_html(str(node or ""), self.viewer) if node else Markup("")

    def plain(self, node: Any) -> str:
        """A text object as the plain words a person reads (for attributes and <option>s)."""
        if isinstance(node, Mapping):
            if node.get("type") == "plain_text":
                return plain_to_html(str(node.get("text") or "")).replace(Markup("<br>"), Markup(" ")).unescape()
            return to_plain(str(node.get("text") or ""), self.viewer)
        return str(node or "")

    def mrkdwn(self, text: Any) -> Markup:
        return to_html(str(text or ""), self.viewer)

    @staticmethod
    def plain_html(text: Any) -> Markup:
        return plain_to_html(str(text or ""), emoji=False)

    def rich(self, elements: Any) -> Markup:
        return rich_elements(elements, self.viewer)

    def confirm(self, dialog: Any) -> str:
        """A confirm object as the JSON the page's script opens its dialog with."""
        dialog = dialog if isinstance(dialog, Mapping) else {}
        spec = {
            "title": self.plain(dialog.get("title")) or "Are you sure?",
            "text": self.plain(dialog.get("text")),
            "confirm": self.plain(dialog.get("confirm")) or "Yes",
            "deny": self.plain(dialog.get("deny")) or "Cancel",
            "style": str(dialog.get("style") or ""),
        }
        return json.dumps(spec, ensure_ascii=False)

    # URLs --------------------------------------------------------------------------------------------------

    @staticmethod
    def url(url: Any) -> str:
        """An http(s) URL, or "" for anything else (javascript:, data:, relative)."""
        return url if isinstance(url, str) and url.lower().startswith(WEB_SCHEMES) else ""

    def src(self, image: Mapping) -> str:
        """An image's source: http(s) or the sandbox's own /files/, nothing else."""
        url = image.get("image_url")
        slack_file = image.get("slack_file")
        if not url and isinstance(slack_file, Mapping):
            url = slack_file.get("url")
        if isinstance(url, str) and url.startswith("/files/") and not url.startswith("/files//"):
            return url
        return self.url(url)

    @staticmethod
    def color(color: Any) -> str:
        if not isinstance(color, str):
            return ""
        if color in ATTACHMENT_COLORS:
            return ATTACHMENT_COLORS[color]
        match = _HEX_COLOR.fullmatch(color)
        return f"#{match.group(1)}" if match else ""

    @staticmethod
    def uid() -> str:
        return f"bk-{next(_ids)}"

    # inputs ------------------------------------------------------------------------------------------------

    def field(self, block: Mapping) -> Field:
        block_id = self.block_id(block)
        error = self.errors.get(block_id) if block_id else None
        return Field(
            name=block_id,
            id=self.uid(),
            error=str(error) if error else None,
            required=not block.get("optional") and self.kind(block.get("element")) != "checkboxes",
            dispatch=bool(block.get("dispatch_action")),
            hint=bool(block.get("hint")),
        )

    def current(self, element: Any, block_id: str) -> Any:
        """The element with what the reader typed or chose (the view's state) as its initial value."""
        if not isinstance(element, Mapping):
            return element
        typed = self.state.get(block_id, {}) if block_id else {}
        typed = typed.get(element.get("action_id"), {}) if isinstance(typed, Mapping) else {}
        if not isinstance(typed, Mapping):
            return element
        current = dict(element)
        for key, initial in _STATE_KEYS.items():
            if key in typed:
                current[initial] = typed[key]
        return current

    @staticmethod
    def typed(element: Mapping) -> str:
        value = element.get("initial_value")
        if value is None or isinstance(value, Mapping):  # a rich_text_input's initial value is rich text
            return ""
        return str(value)

    def picked(self, element: Mapping) -> str:
        """A date, time or date-time picker's value as the browser's control wants it."""
        kind = element.get("type")
        if kind == "datepicker":
            value = str(element.get("initial_date") or "")
            return value if _DATE.fullmatch(value) else ""
        if kind == "timepicker":
            value = str(element.get("initial_time") or "")
            return value if _TIME.fullmatch(value) else ""
        stamp = element.get("initial_date_time")
        if stamp is None:
            return ""
        try:
            moment = datetime.fromtimestamp(int(stamp), self.viewer.zone)
        except (TypeError, ValueError, OverflowError, OSError):
            return ""
        return moment.strftime("%Y-%m-%dT%H:%M")

    def options(self, element: Mapping) -> list[Group]:
        """The element's options in groups (one group without a label when it has none), its choices selected."""
        kind = str(element.get("type") or "")
        if kind.endswith("users_select"):
            return [Group(None, self._ids(element, self._people(), ("initial_user", "initial_users"), ""))]
        if kind.endswith(("conversations_select", "channels_select")):
            keys = ("initial_conversation", "initial_conversations", "initial_channel", "initial_channels")
            return [Group(None, self._ids(element, self._channels(), keys, "#"))]
        return self._static(element)

    def _static(self, element: Mapping) -> list[Group]:
        chosen = _chosen(element.get("initial_option"), element.get("initial_options"))
        groups = [
            Group(self.plain(group.get("label")), self._listed(group.get("options"), chosen))
            for group in element.get("option_groups") or []
            if isinstance(group, Mapping)
        ] or [Group(None, self._listed(element.get("options"), chosen))]
        listed = {option.value for group in groups for option in group.options}
        missing = [option for option in chosen.values() if str(option.get("value")) not in listed]
        if missing:  # an external select's choice, or one no longer offered: shown, as Slack does
            groups[-1].options.extend(self._option(option, {str(option.get("value"))}) for option in missing)
        return groups

    def _listed(self, options: Any, chosen: Mapping[str, Mapping]) -> list[Option]:
        options = options if isinstance(options, list) else []
        return [self._option(option, chosen) for option in options if isinstance(option, Mapping)]

    def _option(self, option: Mapping, chosen: Any) -> Option:
        value = str(option.get("value") or "")
        description = option.get("description")
        return Option(
            value=value,
            label=self.plain(option.get("text")),
            html=self.text(option.get("text")),
            description=self.text(description) if description else None,
            selected=value in chosen,
            url=self.url(option.get("url")),
        )

    def _people(self) -> list[str]:
        names = self.viewer.names
        ids = [ident for ident in names if ident[:1] in ("U", "W") and ident != self.viewer.bot_id]
        return sorted(ids, key=lambda ident: (names[ident].lower(), ident))

    def _channels(self) -> list[str]:
        names = self.viewer.names
        return sorted((ident for ident in names if ident.startswith("C")), key=lambda i: (names[i].lower(), i))

    def _ids(self, element: Mapping, ids: list[str], keys: tuple[str, ...], sigil: str) -> list[Option]:
        """People or channels as options, the element's initial ones selected (and listed if unknown)."""
        chosen: list[str] = []
        for key in keys:
            value = element.get(key)
            items = value if isinstance(value, list) else [value]
            chosen.extend(item for item in items if isinstance(item, str) and item)
        ids = ids + [ident for ident in dict.fromkeys(chosen) if ident not in ids]
        names = self.viewer.names
        return [
            Option(value=i, label=sigil + names.get(i, i), html=escape(sigil + names.get(i, i)), selected=i in chosen)
            for i in ids
        ]


def _chosen(initial_option: Any, initial_options: Any) -> dict[str, Mapping]:
    """The chosen options by value."""
    options = [initial_option, *(initial_options if isinstance(initial_options, list) else [])]
    return {str(option.get("value")): option for option in options if isinstance(option, Mapping)}
