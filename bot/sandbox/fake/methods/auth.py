"""Who am I (auth.test, team.info) and how an installation is born (oauth.v2.access)."""

from __future__ import annotations

from ..args import MethodCall
from ..errors import ApiError
from .registry import method


@method("auth.test")
def auth_test(call: MethodCall) -> dict:
    ws = call.ws
    bot = call.state.users.get(ws.bot_user_id, {})
    body = {
        "url": f"https://{ws.domain}.slack.com/",
        "team": ws.name,
        "user": bot.get("name", "bot"),
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }
    if ws.enterprise_id:
        body["enterprise_id"] = ws.enterprise_id
    return body


@method("team.info")
def team_info(call: MethodCall) -> dict:
    ws = call.ws
    team = {
        "id": ws.team_id,
        "name": ws.name,
        "domain": ws.domain,
        "email_domain": "",
        "icon": {"image_default": True},
    }
    if ws.enterprise_id:
        team["enterprise_id"] = ws.enterprise_id
    return {"team": team}


def client_credentials(call: MethodCall) -> tuple[str | None, str | None]:
    if call.basic_auth is not None:
        return call.basic_auth
    return call.get("client_id"), call.get("client_secret")


def checked_client(call: MethodCall) -> tuple[str, str]:
    """The app's client id and secret (form fields or HTTP basic), checked against the fake's when it has them."""
    state = call.state
    client_id, client_secret = client_credentials(call)
    if not client_id:
        raise ApiError("invalid_client_id")
    if state.client_id is not None and client_id != state.client_id:
        raise ApiError("invalid_client_id")
    if state.client_secret is not None and client_secret != state.client_secret:
        raise ApiError("bad_client_secret")
    return client_id, client_secret or ""


@method("oauth.v2.access", needs_token=False)
def oauth_v2_access(call: MethodCall) -> dict:
    """Exchange a code from ``FakeSlack.new_oauth_code`` for that workspace's bot token (once)."""
    state = call.state
    checked_client(call)
    code = state.oauth_codes.get(call.get("code") or "")
    if code is None or code.used:
        raise ApiError("invalid_code")
    code.used = True
    ws = state.workspaces[code.team_id]
    enterprise = {"id": ws.enterprise_id, "name": ws.enterprise_id} if ws.enterprise_id else None
    authed_user: dict = {"id": code.user_id}
    if code.user_scope:
        authed_user.update(scope=code.user_scope, token_type="user", access_token=f"xoxp-sandbox-{code.user_id}")
    return {
        "app_id": ws.app_id,
        "authed_user": authed_user,
        "scope": code.scope,
        "token_type": "bot",
        "access_token": ws.bot_token,
        "bot_user_id": ws.bot_user_id,
        "team": {"id": ws.team_id, "name": ws.name},
        "enterprise": enterprise,
        "is_enterprise_install": False,
    }
