"""Modal stacks and Home tabs: the rules Slack enforces on views (trigger ids, stack depth, hashes)."""

from __future__ import annotations

import copy

from .blockkit import view_problems
from .errors import ApiError
from .state import SlackState, Trigger, Workspace

TRIGGER_LIFETIME = 3.0
MAX_STACK = 3


def check_view(view: object, expected_type: str) -> dict:
    problems = view_problems(view, expected_type=expected_type)
    if problems:
        raise ApiError("invalid_arguments", messages=problems)
    assert isinstance(view, dict)
    return view


def use_trigger(state: SlackState, ws: Workspace, trigger_id: str | None) -> Trigger:
    """A trigger id works once and for 3 seconds, the reason a bot must open modals before slow work."""
    trigger = state.triggers.get(trigger_id or "")
    if trigger is None or trigger.team_id != ws.team_id:
        raise ApiError("invalid_trigger_id")
    if trigger.used or state.clock() - trigger.created > TRIGGER_LIFETIME:
        raise ApiError("expired_trigger_id")
    trigger.used = True
    return trigger


def _new_hash(state: SlackState) -> str:
    return f"{int(state.wall_clock())}.{state.ids.secret(4)}"


def new_record(
    state: SlackState,
    ws: Workspace,
    user_id: str,
    view: dict,
    *,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
    view_id: str | None = None,
) -> dict:
    view_id = view_id or state.ids.new("V")
    return {
        "id": view_id,
        "type": view["type"],
        "user": user_id,
        "team_id": ws.team_id,
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
        "view": copy.deepcopy(view),
        "hash": _new_hash(state),
        "root_view_id": root_view_id or view_id,
        "previous_view_id": previous_view_id,
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "errors": None,
    }


def view_payload(record: dict) -> dict:
    """The view object Slack returns from views.* and puts in interaction payloads."""
    view = copy.deepcopy(record["view"])
    view.setdefault("blocks", [])
    for flag in ("clear_on_close", "notify_on_close"):
        view.setdefault(flag, False)
    view.update(
        id=record["id"],
        team_id=record["team_id"],
        app_id=record["app_id"],
        app_installed_team_id=record["team_id"],
        bot_id=record["bot_id"],
        hash=record["hash"],
        root_view_id=record["root_view_id"],
        previous_view_id=record["previous_view_id"],
        private_metadata=record["private_metadata"],
        callback_id=record["callback_id"],
        external_id=record["external_id"],
        state=copy.deepcopy(record["state"]),
    )
    return view


def find_view(state: SlackState, ws: Workspace, *, view_id: str | None, external_id: str | None) -> dict:
    candidates = [*state.views.values(), *state.homes.values()]
    for record in candidates:
        if record["team_id"] != ws.team_id:
            continue
        if (view_id and record["id"] == view_id) or (external_id and record["external_id"] == external_id):
            return record
    raise ApiError("not_found")


def open_modal(state: SlackState, ws: Workspace, trigger: Trigger, view: dict) -> dict:
    """A new modal replaces whatever stack the user had open: Slack shows one stack at a time."""
    close_stack(state, trigger.user_id)
    record = new_record(state, ws, trigger.user_id, view)
    state.views[record["id"]] = record
    state.stacks[trigger.user_id] = [record["id"]]
    return record


def push_modal(state: SlackState, ws: Workspace, user_id: str, view: dict) -> dict:
    stack = state.stacks.get(user_id)
    if not stack:
        raise ApiError("not_found")
    if len(stack) >= MAX_STACK:
        raise ApiError("push_limit_reached")
    top = state.views[stack[-1]]
    record = new_record(state, ws, user_id, view, root_view_id=top["root_view_id"], previous_view_id=top["id"])
    state.views[record["id"]] = record
    stack.append(record["id"])
    return record


def replace_view(state: SlackState, record: dict, view: dict, *, expected_hash: str | None = None) -> dict:
    """Swap a view's content in place; input values survive for blocks that are still there."""
    if expected_hash and expected_hash != record["hash"]:
        raise ApiError("hash_conflict")
    check_view(view, record["type"])
    kept = {b.get("block_id") for b in view.get("blocks", []) if isinstance(b, dict)}
    values = record["state"]["values"]
    record["state"]["values"] = {block: v for block, v in values.items() if block in kept}
    record.update(
        view=copy.deepcopy(view),
        hash=_new_hash(state),
        private_metadata=view.get("private_metadata", ""),
        callback_id=view.get("callback_id", ""),
        external_id=view.get("external_id", ""),
        errors=None,
    )
    return record


def publish_home(state: SlackState, ws: Workspace, user_id: str, view: dict, expected_hash: str | None) -> dict:
    check_view(view, "home")
    current = state.homes.get(user_id)
    if current is not None:
        return replace_view(state, current, view, expected_hash=expected_hash)
    record = new_record(state, ws, user_id, view)
    state.homes[user_id] = record
    return record


def close_stack(state: SlackState, user_id: str) -> None:
    for view_id in state.stacks.pop(user_id, []):
        state.views.pop(view_id, None)


def pop_view(state: SlackState, view_id: str) -> None:
    """Close one view; the one under it shows again (its id and state unchanged)."""
    record = state.views.pop(view_id)
    stack = state.stacks.get(record["user"], [])
    if view_id in stack:
        stack.remove(view_id)
    if not stack:
        state.stacks.pop(record["user"], None)


def _checked_errors(record: dict, errors: object) -> dict:
    """Slack refuses ``errors`` that do not name input blocks of the submitted view."""
    inputs = {b.get("block_id") for b in record["view"].get("blocks", []) if b.get("type") == "input"}
    if not isinstance(errors, dict) or not errors or not set(errors) <= inputs:
        raise ApiError(
            "invalid_arguments",
            messages=[f"[ERROR] errors must name input blocks of the view: {sorted(inputs)}"],
        )
    return copy.deepcopy(errors)


def apply_submission_response(state: SlackState, view_id: str, body: dict | None) -> None:
    """Do what Slack does with the bot's answer to a view_submission."""
    record = state.views[view_id]
    ws = state.workspaces[record["team_id"]]
    action = (body or {}).get("response_action")
    if action is None:
        pop_view(state, view_id)
    elif action == "errors":
        record["errors"] = _checked_errors(record, body["errors"])  # type: ignore[index]
    elif action == "update":
        replace_view(state, record, body["view"])  # type: ignore[index]
    elif action == "push":
        push_modal(state, ws, record["user"], check_view(body["view"], "modal"))  # type: ignore[index]
    elif action == "clear":
        close_stack(state, record["user"])
    else:
        raise ApiError("invalid_arguments", messages=[f"[ERROR] unknown response_action {action!r}"])
