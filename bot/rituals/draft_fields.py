"""What someone typed into the drafting modal: checked when a step is submitted, kept as typed when a form is closed.

A draft keeps what people typed as strings (`Draft.content`), so a half-filled form survives a closed modal.
Fields are checked when a step is submitted; numbers are parsed for good only when the draft is committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.coach import DIRECTIONS
from bot.errors import Conflict, InvalidFields, UsageError
from bot.numbers import parse_number
from bot.text import check_characters, normalise

TITLE_MAX = 300
WHY_MAX = 3000
METRIC_MAX = 300
UNIT_MAX = 40
NUMBER_MAX = 40
MIN_KEY_RESULTS, MAX_KEY_RESULTS = 2, 5
KR_FIELDS = ("metric", "unit", "baseline", "target", "direction", "owner")


def _text(
    fields: Mapping[str, Any],
    key: str,
    *,
    what: str,
    limit: int,
    required: bool,
    multiline: bool = False,
    errors: dict[str, str],
) -> str:
    text = normalise(str(fields.get(key) or ""), multiline=multiline)
    try:
        check_characters(text, what=what, multiline=multiline)
    except UsageError as error:
        errors[key] = error.message
        return text
    if required and not text:
        errors[key] = f"{what} cannot be empty."
    elif len(text) > limit:
        errors[key] = f"{what} is {len(text):,} characters long; keep it under {limit:,}."
    return text


def check_objective(fields: Mapping[str, Any], *, vision_ids: set[int]) -> dict[str, Any]:
    """The objective step's fields, cleaned; every problem at once, keyed by the field's block id."""
    errors: dict[str, str] = {}
    title = _text(fields, "title", what="The objective", limit=TITLE_MAX, required=True, errors=errors)
    why = _text(fields, "why", what="Why it matters", limit=WHY_MAX, required=False, multiline=True, errors=errors)
    vision = str(fields.get("vision") or "")
    if vision and (not vision.isdigit() or int(vision) not in vision_ids):
        errors["vision"] = "That vision statement has been archived; pick another or none."
    if errors:
        raise InvalidFields(errors)
    return {"title": title, "why": why, "vision_id": int(vision) if vision else None}


def check_key_result(fields: Mapping[str, Any]) -> dict[str, str]:
    """One key result's fields, cleaned and kept as typed; numbers must read as numbers."""
    errors: dict[str, str] = {}
    metric = _text(fields, "metric", what="The metric", limit=METRIC_MAX, required=True, errors=errors)
    unit = _text(fields, "unit", what="The unit", limit=UNIT_MAX, required=False, errors=errors)
    numbers = {}
    for key, what in (("baseline", "The baseline"), ("target", "The target")):
        raw = _text(fields, key, what=what, limit=NUMBER_MAX, required=False, errors=errors)
        if raw and key not in errors:
            try:
                parse_number(raw)
            except ValueError as error:
                errors[key] = str(error)
        numbers[key] = raw
    direction = str(fields.get("direction") or "increase")
    if direction not in DIRECTIONS:
        errors["direction"] = "Pick one of the directions in the list."
    owner = str(fields.get("owner") or "")
    if owner and not owner.startswith(("U", "W")):
        errors["owner"] = "Pick the owner from the list of people."
    if errors:
        raise InvalidFields(errors)
    return {"metric": metric, "unit": unit, **numbers, "direction": direction, "owner": owner}


def typed_key_result(fields: Mapping[str, Any]) -> dict[str, str]:
    """A half-filled key result form, kept as typed (only trimmed to the field sizes) so nothing is lost."""
    limits = {"metric": METRIC_MAX, "unit": UNIT_MAX, "baseline": NUMBER_MAX, "target": NUMBER_MAX}
    kept = {key: normalise(str(fields.get(key) or ""))[: limits.get(key, 32)] for key in KR_FIELDS}
    if kept["direction"] not in DIRECTIONS:
        kept["direction"] = "increase"
    return kept


def typed_objective(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The objective step as typed, for a modal closed before it was submitted.

    Only the fields present in the form's state are returned: a field Slack did not report is left as saved.
    """
    typed: dict[str, Any] = {}
    if "title" in fields:
        typed["title"] = normalise(str(fields["title"] or ""))[:TITLE_MAX]
    if "why" in fields:
        typed["why"] = normalise(str(fields["why"] or ""), multiline=True)[:WHY_MAX]
    if "vision" in fields:
        vision = str(fields["vision"] or "")
        typed["vision_id"] = int(vision) if vision.isdigit() else None
    return typed


def number_or_none(raw: str | None) -> float | None:
    try:
        return parse_number(raw) if raw else None
    except ValueError:
        return None


# what the draft says, changed ---------------------------------------------------------------------------


def with_key_result(content: dict[str, Any], index: int | None, key_result: dict[str, str]) -> dict[str, Any]:
    """A copy of `content` with the key result at `index` replaced (None: added at the end)."""
    results = [dict(kr) for kr in content.get("key_results", [])]
    if index is None or index >= len(results):
        if len(results) >= MAX_KEY_RESULTS:
            raise UsageError(f"An objective has at most {MAX_KEY_RESULTS} key results; edit or remove one first.")
        results.append(key_result)
    else:
        results[index] = key_result
    return {**content, "key_results": results, "pending": None, "pending_index": None}


def without_key_result(content: dict[str, Any], index: int) -> dict[str, Any]:
    results = [dict(kr) for kr in content.get("key_results", [])]
    if not 0 <= index < len(results):
        raise Conflict("That key result was already removed.")
    del results[index]
    return {**content, "key_results": results}
