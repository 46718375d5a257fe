"""apps.connections.open: the URL of a Socket Mode link, for an app-level token (the link itself:
``fake/socket_mode.py``)."""

from __future__ import annotations

from urllib.parse import urlencode

from ..args import MethodCall
from ..errors import ApiError
from ..state import SocketTicket
from .registry import method

LINK_PATH = "/link/"


@method("apps.connections.open", needs_token=False)
def apps_connections_open(call: MethodCall) -> dict:
    """Only an app-level token (``xapp-``) opens a link: a bot or user token is the wrong type of token."""
    token = call.token
    if not token:
        raise ApiError("not_authed")
    if not token.startswith("xapp-"):
        raise ApiError("not_allowed_token_type")
    app_id = call.state.app_for_token(token)
    if app_id is None:
        raise ApiError("invalid_auth")
    ticket = call.state.ids.secret(16)
    call.state.socket_tickets[ticket] = SocketTicket(app_id, call.state.clock())
    base = call.state.base_url.replace("http://", "ws://", 1)
    return {"url": f"{base}{LINK_PATH}?{urlencode({'ticket': ticket, 'app_id': app_id})}"}
