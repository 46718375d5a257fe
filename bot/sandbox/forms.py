"""What a person entered in a form, as Slack reports it in a view's `state.values`.

Shared by the terminal sandbox (values typed as `submit FIELD=VALUE`) and the browser sandbox (a form's
submitted values). An option is given by its value or its label; a person by Slack id, sandbox name or `@name`;
a channel by id, name or `#name`. Slack's client cannot submit an option, a person or a channel that is not
there, so neither can this: `Refused` says what there is to choose from, and nothing is changed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import date, time
from typing import Any

Chosen = dict[str, Any] | str | None  # an option, an id, a date, a time or text; None when nothing was entered

# where each kind of element keeps its value in state, and the property that fills it when the form opens
_SINGLE = {
    "plain_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "static_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
}
_MULTI = {
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "multi_static_select": ("selected_options", "initial_options"),
    "checkboxes": ("selected_options", "initial_options"),
}
CHOICES = {"static_select", "radio_buttons", "multi_static_select", "checkboxes"}
PEOPLE = {"users_select", "multi_users_select"}
PLACES = {"conversations_select", "channels_select", "multi_conversations_select", "multi_channels_select"}


class Refused(ValueError):
    """A value the form cannot take (as Slack's client would not let it be entered), in words a person acts on."""


def inputs(view: dict) -> dict[str, dict]:
    """{block_id: input block} of a view (a view record's `view`, or the view itself)."""
    view = view.get("view", view) if "blocks" not in view else view
    return {b["block_id"]: b for b in view.get("blocks", []) if b.get("type") == "input" and b.get("block_id")}


def options_of(element: dict) -> list[dict]:
    """A choice element's options, option groups flattened."""
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found += group.get("options") or []
    return found


def label_of(option: dict) -> str:
    return str((option.get("text") or {}).get("text", option.get("value", "")))


def describe_options(element: dict) -> str:
    """The options as a person picks them: each label, and its value where it is another word."""
    shown = []
    for option in options_of(element):
        label, value = label_of(option), str(option.get("value", ""))
        shown.append(label if _key(label) == _key(value) else f"{label} ({value})")
    return " | ".join(shown)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def find_option(element: dict, typed: str) -> dict:
    """The option whose value, else label, is `typed` (case does not matter), else the one label it begins."""
    options, wanted = options_of(element), _key(typed)
    for key in (lambda o: str(o.get("value", "")), label_of):
        found = [o for o in options if _key(key(o)) == wanted]
        if found:
            return copy.deepcopy(found[0])
    begun = [o for o in options if wanted and _key(label_of(o)).startswith(wanted)]
    if len(begun) == 1:
        return copy.deepcopy(begun[0])
    raise Refused(f"{typed!r} is not one of the choices: {describe_options(element)}.")


def _split(typed: list[str], match: Callable[[str], Chosen]) -> list[Chosen]:
    """Several choices, each typed whole, or comma-separated in one string."""
    chosen: list[Chosen] = []
    for text in typed:
        if not text.strip():
            continue
        try:
            chosen.append(match(text.strip()))
        except Refused:
            if "," not in text:
                raise
            chosen += [match(part.strip()) for part in text.split(",") if part.strip()]
    return chosen


def _person(typed: str, people: dict[str, str]) -> str:
    name = typed.strip().lstrip("@").lower()
    ids = set(people.values())
    if typed.strip() in ids:
        return typed.strip()
    if name in people:
        return people[name]
    raise Refused(f"There is no one called {typed!r} here: {', '.join(people)}.")


def _place(typed: str, channels: dict[str, str]) -> str:
    name = typed.strip().lstrip("#").lower()
    if typed.strip() in channels.values():
        return typed.strip()
    if name in channels:
        return channels[name]
    raise Refused(f"There is no channel {typed!r} here: {', '.join('#' + c for c in channels)}.")


def _checked_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Refused(f"{text!r} is not a date: type it as 2027-03-31.") from None


def _checked_time(text: str) -> str:
    try:
        return time.fromisoformat(text).strftime("%H:%M")
    except ValueError:
        raise Refused(f"{text!r} is not a time: type it as 09:30.") from None


def _single(kind: str, element: dict, text: str, people: dict[str, str], channels: dict[str, str]) -> Chosen:
    if not text.strip() and kind not in ("plain_text_input", "email_text_input", "url_text_input"):
        return None
    if kind in CHOICES:
        return find_option(element, text)
    if kind in PEOPLE:
        return _person(text, people)
    if kind in PLACES:
        return _place(text, channels)
    if kind == "datepicker":
        return _checked_date(text.strip())
    if kind == "timepicker":
        return _checked_time(text.strip())
    if kind == "number_input":
        return text.strip()
    return text if text else None


def typed_state(element: dict, typed: list[str], *, people: dict[str, str], channels: dict[str, str]) -> dict:
    """One element's state from what was entered for it."""
    kind = element.get("type", "plain_text_input")
    state: dict = {"type": kind}
    if kind in _MULTI:
        key = _MULTI[kind][0]
        state[key] = _split(typed, lambda text: _single(kind, element, text, people, channels))
        return state
    key = _SINGLE.get(kind, ("value", ""))[0]
    state[key] = _single(kind, element, typed[-1] if typed else "", people, channels)
    return state


def initial_state(element: dict) -> dict:
    """One element's state as the form opened it, before anyone changed it."""
    kind = element.get("type", "plain_text_input")
    key, initial = _MULTI.get(kind) or _SINGLE.get(kind, ("value", "initial_value"))
    empty: object = [] if kind in _MULTI else None
    state = {"type": kind, key: copy.deepcopy(element.get(initial, empty))}
    if kind in _MULTI and state[key] is None:
        state[key] = []
    return state


def state_values(view: dict, typed: dict[str, list[str]], *, people: dict[str, str], channels: dict[str, str]) -> dict:
    """`state.values` ({block_id: {action_id: element state}}) for submitting `view` with `typed` entered
    ({block_id: [values]}): a field not entered keeps what it holds (what was entered before, or the form's
    initial value), as in Slack. `people` and `channels`: sandbox name -> Slack id. Raises `Refused`, naming the
    field, for a field the form does not have or a value it cannot take."""
    blocks = inputs(view)
    unknown = [field for field in typed if field not in blocks]
    if unknown:
        raise Refused(f"The form has no field {unknown[0]!r}. Its fields: {', '.join(blocks)}.")
    held = ((view.get("state") or {}).get("values")) or {}
    values = {}
    for block_id, block in blocks.items():
        element = block.get("element") or {}
        action_id = element.get("action_id", "value")
        if block_id in typed:
            try:
                state = typed_state(element, typed[block_id], people=people, channels=channels)
            except Refused as error:
                raise Refused(f"{_label(block)} (`{block_id}`): {error}") from None
        elif action_id in held.get(block_id, {}):
            state = copy.deepcopy(held[block_id][action_id])
        else:
            state = initial_state(element)
        values[block_id] = {action_id: state}
    return values


def _label(block: dict) -> str:
    return str((block.get("label") or {}).get("text", block.get("block_id")))


def split_typed(text: str, fields: list[str]) -> dict[str, list[str]]:
    """`FIELD=VALUE FIELD=VALUE…` as typed on one line: a value runs until the next ` FIELD=` whose FIELD is one
    of `fields` (so it may hold spaces and `=`), or is quoted ('…' or "…", and may then hold anything). Raises
    `Refused` for text that does not start with a field of the form."""
    if not text.strip():
        return {}
    if not fields:
        raise Refused("This form has no fields to fill in: type `submit` alone.")
    names = "|".join(re.escape(n) for n in sorted(fields, key=len, reverse=True))
    start = re.compile(r"\s*(" + names + r")=")
    typed: dict[str, list[str]] = {}
    at = 0
    while text[at:].strip():
        match = start.match(text, at)
        if match is None:
            head = text[at:].split()[0]
            raise Refused(f"{head!r} is not a field of this form. Type FIELD=VALUE; its fields: {', '.join(fields)}.")
        value, at = _value(text, match.end(), start)
        typed.setdefault(match.group(1), []).append(value)
    return typed


def _value(text: str, at: int, start: re.Pattern[str]) -> tuple[str, int]:
    """The value that begins at `at`, and where the text after it begins."""
    quote = text[at : at + 1]
    if quote in ("'", '"'):
        closing = re.compile(re.escape(quote) + r"(?=\s|$)").search(text, at + 1)
        if closing is not None:
            return text[at + 1 : closing.start()], closing.end()
    following = re.compile(r"\s" + start.pattern.removeprefix(r"\s*")).search(text, at)
    end = following.start() if following else len(text)
    return text[at:end].strip(), end
