"""views.*: modals (open, push, update) and the Home tab (publish)."""

from __future__ import annotations

from ..args import MethodCall
from ..errors import ApiError
from ..modals import (
    check_view,
    find_view,
    open_modal,
    publish_home,
    push_modal,
    replace_view,
    use_trigger,
    view_payload,
)
from .registry import method


def _view_arg(call: MethodCall, expected_type: str) -> dict:
    if not call.get("view"):
        raise ApiError("invalid_arguments", messages=["[ERROR] missing required field: view"])
    return check_view(call.json("view", "invalid_arguments"), expected_type)


@method("views.open")
def views_open(call: MethodCall) -> dict:
    view = _view_arg(call, "modal")
    trigger = use_trigger(call.state, call.ws, call.get("trigger_id"))
    return {"view": view_payload(open_modal(call.state, call.ws, trigger, view))}


@method("views.push")
def views_push(call: MethodCall) -> dict:
    view = _view_arg(call, "modal")
    trigger = use_trigger(call.state, call.ws, call.get("trigger_id"))
    return {"view": view_payload(push_modal(call.state, call.ws, trigger.user_id, view))}


@method("views.update")
def views_update(call: MethodCall) -> dict:
    record = find_view(call.state, call.ws, view_id=call.get("view_id"), external_id=call.get("external_id"))
    view = call.json("view", "invalid_arguments")
    replace_view(call.state, record, view, expected_hash=call.get("hash"))
    return {"view": view_payload(record)}


@method("views.publish")
def views_publish(call: MethodCall) -> dict:
    user = call.state.user(call.get("user_id"), call.ws)
    view = _view_arg(call, "home")
    record = publish_home(call.state, call.ws, user["id"], view, call.get("hash"))
    return {"view": view_payload(record)}
