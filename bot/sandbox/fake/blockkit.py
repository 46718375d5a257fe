"""Block Kit checks with Slack's published limits, so a template that would be refused in production is
refused here too. Each problem reads like Slack's ``response_metadata.messages``:
``[ERROR] must be at most 3000 characters [json-pointer:/blocks/0/text/text]``."""

from __future__ import annotations

from typing import Any

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "rich_text_input",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "file_input",
        "static_select",
        "multi_static_select",
        "external_select",
        "multi_external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "multi_conversations_select",
        "channels_select",
        "multi_channels_select",
    }
)
TEXT_INPUTS = frozenset(
    {
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "rich_text_input",
        "file_input",
    }
)
INTERACTIVE_ELEMENTS = (INPUT_ELEMENTS - TEXT_INPUTS) | {"button", "overflow", "workflow_button"}
ACCESSORY_ELEMENTS = INTERACTIVE_ELEMENTS | {"image"}
SELECTS_WITH_OPTIONS = frozenset({"static_select", "multi_static_select"})
OPTION_LIMITS = {"overflow": (2, 5), "checkboxes": (1, 10), "radio_buttons": (1, 10)}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def error(self, pointer: str, message: str) -> None:
        self.problems.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def max_len(self, value: Any, limit: int, pointer: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.error(pointer, f"must be at most {limit} characters")

    def text(self, obj: Any, pointer: str, *, limit: int, plain_only: bool = False, required: bool = True) -> None:
        if obj is None:
            if required:
                self.error(pointer, "missing required field")
            return
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            self.error(pointer, "must be a text object with a string 'text'")
            return
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.error(f"{pointer}/type", f"must be one of {', '.join(allowed)}")
        if not obj["text"]:
            self.error(f"{pointer}/text", "must be at least 1 character")
        self.max_len(obj["text"], limit, f"{pointer}/text")

    def options(self, options: Any, pointer: str, *, low: int = 1, high: int = 100) -> None:
        if not isinstance(options, list) or not low <= len(options) <= high:
            self.error(pointer, f"must be a list of {low} to {high} options")
            return
        for i, option in enumerate(options):
            if not isinstance(option, dict):
                self.error(f"{pointer}/{i}", "must be an option object")
                continue
            self.text(option.get("text"), f"{pointer}/{i}/text", limit=75)
            self.max_len(option.get("value"), 150, f"{pointer}/{i}/value")

    def element(self, element: Any, pointer: str, allowed: frozenset[str]) -> None:
        if not isinstance(element, dict) or element.get("type") not in allowed:
            kind = element.get("type") if isinstance(element, dict) else element
            self.error(pointer, f"element type {kind!r} is not allowed here")
            return
        kind = element["type"]
        self.max_len(element.get("action_id"), 255, f"{pointer}/action_id")
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", limit=75, plain_only=True)
            self.max_len(element.get("value"), 2000, f"{pointer}/value")
            self.max_len(element.get("url"), 3000, f"{pointer}/url")
            if element.get("style") not in (None, "primary", "danger"):
                self.error(f"{pointer}/style", "must be primary or danger")
        elif kind == "image":
            self.max_len(element.get("alt_text"), 2000, f"{pointer}/alt_text")
        elif kind in SELECTS_WITH_OPTIONS and "option_groups" not in element:
            self.options(element.get("options"), f"{pointer}/options")
        elif kind in OPTION_LIMITS:
            low, high = OPTION_LIMITS[kind]
            self.options(element.get("options"), f"{pointer}/options", low=low, high=high)
        if "placeholder" in element:
            self.text(element["placeholder"], f"{pointer}/placeholder", limit=150, plain_only=True)

    def elements(self, elements: Any, pointer: str, allowed: frozenset[str], high: int) -> None:
        if not isinstance(elements, list) or not 1 <= len(elements) <= high:
            self.error(pointer, f"must be a list of 1 to {high} elements")
            return
        action_ids = [e.get("action_id") for e in elements if isinstance(e, dict) and e.get("action_id")]
        if len(action_ids) != len(set(action_ids)):
            self.error(pointer, "action_id values must be unique within a block")
        for i, element in enumerate(elements):
            self.element(element, f"{pointer}/{i}", allowed)


def _check_block(check: _Checker, block: dict, pointer: str) -> None:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            check.error(pointer, "must have text or fields")
        check.text(block.get("text"), f"{pointer}/text", limit=3000, required=False)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                check.error(f"{pointer}/fields", "must be a list of at most 10 text objects")
            else:
                for i, field in enumerate(fields):
                    check.text(field, f"{pointer}/fields/{i}", limit=2000)
        if "accessory" in block:
            check.element(block["accessory"], f"{pointer}/accessory", ACCESSORY_ELEMENTS)
    elif kind == "header":
        check.text(block.get("text"), f"{pointer}/text", limit=150, plain_only=True)
    elif kind == "actions":
        check.elements(block.get("elements"), f"{pointer}/elements", INTERACTIVE_ELEMENTS, 25)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            check.error(f"{pointer}/elements", "must be a list of 1 to 10 elements")
        else:
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") == "image":
                    check.element(element, f"{pointer}/elements/{i}", frozenset({"image"}))
                else:
                    check.text(element, f"{pointer}/elements/{i}", limit=3000)
    elif kind == "input":
        check.text(block.get("label"), f"{pointer}/label", limit=2000, plain_only=True)
        check.element(block.get("element"), f"{pointer}/element", INPUT_ELEMENTS)
        if "hint" in block:
            check.text(block["hint"], f"{pointer}/hint", limit=2000, plain_only=True)
    elif kind == "image":
        if not block.get("image_url") and not block.get("slack_file"):
            check.error(pointer, "must have image_url or slack_file")
        check.max_len(block.get("alt_text"), 2000, f"{pointer}/alt_text")
    elif kind == "markdown":
        check.max_len(block.get("text"), 12000, f"{pointer}/text")


def block_problems(blocks: Any, *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Every Block Kit problem in ``blocks`` (empty when Slack would accept them)."""
    check = _Checker()
    if not isinstance(blocks, list):
        check.error(pointer, "must be an array of blocks")
        return check.problems
    if len(blocks) > max_blocks:
        check.error(pointer, f"must contain at most {max_blocks} blocks")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"{pointer}/{i}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            check.error(where, f"unknown block type {kind!r}")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            check.max_len(block_id, 255, f"{where}/block_id")
            if block_id in seen_ids:
                check.error(f"{where}/block_id", f"block_id {block_id!r} is used twice")
            seen_ids.add(block_id)
        _check_block(check, block, where)
    return check.problems


def view_problems(view: Any, *, expected_type: str) -> list[str]:
    """Problems with a whole modal or Home tab view, including its blocks (at most 100)."""
    check = _Checker()
    if not isinstance(view, dict):
        check.error("/view", "must be a view object")
        return check.problems
    if view.get("type") != expected_type:
        check.error("/view/type", f"must be {expected_type!r}")
    if expected_type == "modal":
        check.text(view.get("title"), "/view/title", limit=24, plain_only=True)
        for button in ("submit", "close"):
            if button in view:
                check.text(view[button], f"/view/{button}", limit=24, plain_only=True)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            check.error("/view/submit", "a view with input blocks must have a submit button")
    check.max_len(view.get("private_metadata"), 3000, "/view/private_metadata")
    check.max_len(view.get("callback_id"), 255, "/view/callback_id")
    check.max_len(view.get("external_id"), 255, "/view/external_id")
    return check.problems + block_problems(view.get("blocks", []), max_blocks=100, pointer="/view/blocks")
