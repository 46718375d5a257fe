"""Sign in with Slack's methods: openid.connect.token exchanges the authorize page's code for a user token and an
id_token; openid.connect.userInfo reads the person with that token (pages and claims: fake/openid.py)."""

from __future__ import annotations

from ..args import MethodCall
from ..errors import ApiError
from ..openid import CODE_TTL, ISSUER, TOKEN_TTL, at_hash, claims, jwt
from ..state import OpenIDToken
from .auth import checked_client
from .registry import method


@method("openid.connect.token", needs_token=False)
def openid_connect_token(call: MethodCall) -> dict:
    """A code from the authorize page, once, within 10 minutes, by the client it was for and with the same
    redirect_uri: a new ``xoxp-`` token (for userInfo) and the id_token saying who signed in."""
    state = call.state
    client_id, client_secret = checked_client(call)
    if call.get("grant_type") not in (None, "authorization_code"):
        raise ApiError("invalid_grant_type")
    code = state.openid_codes.get(call.get("code") or "")
    if code is None or code.used or code.client_id != client_id or state.clock() - code.created > CODE_TTL:
        raise ApiError("invalid_code")
    if call.get("redirect_uri") != code.redirect_uri:
        raise ApiError("bad_redirect_uri")
    code.used = True
    user = state.users[code.user_id]
    access_token = f"xoxp-{code.team_id}-{code.user_id}-{state.ids.secret(12)}"
    state.openid_tokens[access_token] = OpenIDToken(client_id, code.team_id, code.user_id, code.scopes)
    issued = int(state.wall_clock())
    payload: dict = {
        "iss": ISSUER,
        "sub": code.user_id,
        "aud": client_id,
        "exp": issued + TOKEN_TTL,
        "iat": issued,
        "auth_time": code.auth_time,
    }
    if code.nonce is not None:
        payload["nonce"] = code.nonce
    payload["at_hash"] = at_hash(access_token)
    payload.update({k: v for k, v in claims(state, user, code.scopes).items() if k != "sub"})
    key = state.client_secret or client_secret
    return {"access_token": access_token, "token_type": "Bearer", "id_token": jwt(payload, key)}


@method("openid.connect.userInfo", needs_token=False)
def openid_connect_user_info(call: MethodCall) -> dict:
    """The person a Sign in with Slack token stands for, as they are now. A bot token is a token of the wrong kind
    (``not_allowed_token_type``: the method takes only a user token with the ``openid`` scope); a token Slack never
    gave is ``invalid_auth``; the token of someone deactivated since, ``account_inactive``."""
    if not call.token:
        raise ApiError("not_authed")
    grant = call.state.openid_tokens.get(call.token)
    if grant is None:
        raise ApiError("not_allowed_token_type" if call.workspace is not None else "invalid_auth")
    user = call.state.users.get(grant.user_id)
    if user is None or user["deleted"] or grant.team_id not in call.state.workspaces:
        raise ApiError("account_inactive")
    return claims(call.state, user, grant.scopes)
