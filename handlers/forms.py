"""Reading what people typed into a modal: Slack's view state, one string per input block."""

from __future__ import annotations

from typing import Any

# where each kind of element keeps its value in `view.state.values`
_VALUE_KEYS = ("value", "selected_user", "selected_conversation", "selected_channel", "selected_date")


def element_value(element: dict[str, Any]) -> str | None:
    """The value of one input element, whatever kind it is (text, select, user, channel, date)."""
    if "selected_option" in element:
        return (element["selected_option"] or {}).get("value")
    for key in _VALUE_KEYS:
        if key in element:
            return element[key]
    return None


def form_fields(view: dict[str, Any]) -> dict[str, str | None]:
    """{block_id: typed string} for every input block Slack reported in the view's state."""
    fields: dict[str, str | None] = {}
    for block_id, elements in (view.get("state") or {}).get("values", {}).items():
        for element in (elements or {}).values():
            fields[block_id] = element_value(element or {})
    return fields
