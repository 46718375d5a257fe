"""Sign in with Slack (OpenID Connect): the authorize page a browser is sent to, and what Slack says about a person.

``GET /openid/connect/authorize`` checks the app's request and shows who may sign in to the workspace (``team``, else
the first one): its people, not bots nor deactivated accounts. Choosing one (a link to ``…/authorize/choose``) sends
the browser back to ``redirect_uri`` with a one-time ``code`` and the ``state``; Cancel (``…/authorize/cancel``) with
``error=access_denied``. A request that does not hold (unknown client, no redirect URI, no ``openid`` scope, no
state…) gets an HTML error page (400), never a redirect, as Slack does. Every visit is recorded like an API call
(``openid.connect.authorize``, ``….choose``, ``….cancel``) so tests see where the app sent the browser.

The code is bound to the client, the redirect URI, the person, the workspace and the nonce, and lives 10 minutes on
the fake's clock; openid.connect.token (methods/openid.py) exchanges it once.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode, urlsplit

from .recorder import ApiCall, Recorder
from .state import OpenIDCode, SlackState, Workspace

AUTHORIZE_PATH = "/openid/connect/authorize"
CHOOSE_PATH = AUTHORIZE_PATH + "/choose"
CANCEL_PATH = AUTHORIZE_PATH + "/cancel"
PATHS = {AUTHORIZE_PATH: "openid.connect.authorize", CHOOSE_PATH: "openid.connect.authorize.choose"}
PATHS[CANCEL_PATH] = "openid.connect.authorize.cancel"
CODE_TTL = 600.0  # seconds on the fake's clock
TOKEN_TTL = 3600  # an id_token's exp - iat
SCOPES = ("openid", "profile", "email")  # all Sign in with Slack knows
ISSUER = "https://slack.com"
CLAIM = "https://slack.com/"  # the prefix of Slack's own claims
LOCALE = "en-US"
IMAGE_SIZES = (24, 32, 48, 72, 192, 512)


class Refused(ValueError):
    """An authorize request Slack shows an error page for; ``error`` names why, ``detail`` says it in words."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


@dataclass(frozen=True)
class Authorize:
    """A checked authorize request, and the parameters its page carries on to Continue and Cancel."""

    client_id: str
    redirect_uri: str
    state: str
    scopes: tuple[str, ...]
    nonce: str | None
    team_id: str
    params: dict[str, str]


@dataclass(frozen=True)
class Page:
    """The answer to a visit: an HTML page or a redirect, and what the record shows of it."""

    status: int
    body: bytes
    headers: dict[str, str]
    answer: dict
    team_id: str | None = None
    people: list[dict] = field(default_factory=list)


def visit(state: SlackState, recorder: Recorder, path: str, params: dict[str, str]) -> Page:
    """Answer a GET of one of the pages (``path`` in ``PATHS``) with its query's parameters; recorded."""
    with state.lock:
        page = _page(state, path, params)
    call = ApiCall(PATHS[path], dict(params), None, page.answer, page.status, state.clock(), page.team_id)
    recorder.record_call(call)
    return page


def _page(state: SlackState, path: str, params: dict[str, str]) -> Page:
    try:
        request = check(state, params)
        if path == CHOOSE_PATH:
            return _redirect(choose(state, request, params.get("user", "")), request.team_id)
        if path == CANCEL_PATH:
            return _redirect(_back(request.redirect_uri, error="access_denied", state=request.state), request.team_id)
        return _consent_page(state, request)
    except Refused as refused:
        return _error_page(refused)


def check(state: SlackState, params: dict[str, str]) -> Authorize:
    """The request as Slack checks it before showing anything; ``Refused`` when it does not hold."""
    client_id = params.get("client_id", "")
    if not client_id or (state.client_id is not None and client_id != state.client_id):
        raise Refused("invalid_client_id", "This app's client_id is not one Slack knows.")
    redirect_uri = params.get("redirect_uri", "")
    where = urlsplit(redirect_uri)
    if where.scheme not in ("http", "https") or not where.netloc or where.fragment:
        raise Refused("bad_redirect_uri", "The redirect_uri is missing or is not an http(s) address.")
    if params.get("response_type") != "code":
        raise Refused("unsupported_response_type", "Sign in with Slack answers response_type=code only.")
    scopes = tuple(dict.fromkeys(params.get("scope", "").replace(",", " ").split()))
    if "openid" not in scopes or not set(scopes) <= set(SCOPES):
        raise Refused("invalid_scope", "The scope must include openid, and may add profile and email only.")
    if not params.get("state"):
        raise Refused("missing_state", "The request has no state.")
    team_id = params.get("team") or None
    if team_id is not None and team_id not in state.workspaces:
        raise Refused("team_not_found", "There is no such workspace to sign in to.")
    ws = state.workspace(team_id)
    nonce = params.get("nonce") or None
    carried = {k: v for k, v in params.items() if k != "user"}
    return Authorize(client_id, redirect_uri, params["state"], scopes, nonce, ws.team_id, carried)


def people(state: SlackState, team_id: str) -> list[dict]:
    """Who may sign in to the workspace: its people, not bots nor deactivated accounts, by name."""
    found = [
        record
        for record in state.users.values()
        if record["team_id"] == team_id and not record["is_bot"] and not record["deleted"]
    ]
    return sorted(found, key=lambda record: (record["real_name"].lower(), record["id"]))


def choose(state: SlackState, request: Authorize, user_id: str) -> str:
    """The person chose to sign in: a new code, and where the browser goes with it."""
    if user_id not in {record["id"] for record in people(state, request.team_id)}:
        raise Refused("user_not_found", "That person cannot sign in to this workspace.")
    code = f"{request.team_id}.{state.ids.secret(8)}.{state.ids.secret(24)}"
    state.openid_codes[code] = OpenIDCode(
        client_id=request.client_id,
        redirect_uri=request.redirect_uri,
        team_id=request.team_id,
        user_id=user_id,
        scopes=request.scopes,
        nonce=request.nonce,
        created=state.clock(),
        auth_time=int(state.wall_clock()),
    )
    return _back(request.redirect_uri, code=code, state=request.state)


def _back(redirect_uri: str, **params: str) -> str:
    return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params)


# pages -----------------------------------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f8f8f8;margin:0}"
    "main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;"
    "box-shadow:0 1px 3px #0002}"
    "ul{list-style:none;padding:0}li{margin:.5rem 0}"
    "a.person{display:block;padding:.75rem 1rem;border:1px solid #ccc;border-radius:6px;color:#1d1c1d;"
    "text-decoration:none}a.person:hover{background:#f4ede4}"
    "a.cancel{color:#616061}"
)


def _html(title: str, content: str) -> bytes:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} | Slack</title><style>{_STYLE}</style></head>"
        f"<body><main>{content}</main></body></html>"
    ).encode()


def _consent_page(state: SlackState, request: Authorize) -> Page:
    ws = state.workspace(request.team_id)
    shown = people(state, ws.team_id)
    heading = f"Sign in to {state.app_name} on {ws.name}"
    sees = {"profile": "your name and profile picture", "email": "your email address"}
    told = [sees[scope] for scope in request.scopes if scope in sees] + ["the workspace you sign in to"]
    seen = ", ".join(told[:-1]) + " and " + told[-1] if len(told) > 1 else told[0]
    choices = "".join(_choice(request, ws, record) for record in shown)
    cancel = f"{CANCEL_PATH}?{urlencode(request.params)}"
    content = (
        f'<h1 data-workspace="{escape(ws.team_id)}">{escape(heading)}</h1>'
        f"<p>{escape(state.app_name)} will see {escape(seen)}.</p>"
        + (f'<ul class="people">{choices}</ul>' if shown else "<p>No one in this workspace can sign in.</p>")
        + f'<p><a class="cancel" data-action="cancel" href="{escape(cancel)}">Cancel</a></p>'
    )
    answer = {"ok": True, "people": [record["id"] for record in shown]}
    headers = {"Cache-Control": "no-store"}
    return Page(200, _html(heading, content), headers, answer, ws.team_id, copy.deepcopy(shown))


def _choice(request: Authorize, ws: Workspace, record: dict) -> str:
    href = f"{CHOOSE_PATH}?{urlencode({**request.params, 'user': record['id']})}"
    label = f"Continue as {record['real_name']} (@{record['name']})"
    return (
        f'<li><a class="person" data-user="{escape(record["id"])}" data-workspace="{escape(ws.team_id)}" '
        f'href="{escape(href)}">{escape(label)}</a></li>'
    )


def _error_page(refused: Refused) -> Page:
    content = f'<h1>Something went wrong</h1><p class="error" data-error="{escape(refused.error)}">'
    content += f"{escape(refused.detail)}</p><p><code>{escape(refused.error)}</code></p>"
    answer = {"ok": False, "error": refused.error, "detail": refused.detail}
    return Page(400, _html("Something went wrong", content), {"Cache-Control": "no-store"}, answer)


def _redirect(location: str, team_id: str) -> Page:
    return Page(
        302, b"", {"Location": location, "Cache-Control": "no-store"}, {"ok": True, "location": location}, team_id
    )


# what Slack says about a person ----------------------------------------------------------------------------------


def claims(state: SlackState, user: dict, scopes: tuple[str, ...]) -> dict:
    """The person as openid.connect.userInfo shows them (and the id_token carries), for the scopes granted."""
    ws = state.workspace(user["team_id"])
    said: dict = {"sub": user["id"], CLAIM + "user_id": user["id"], CLAIM + "team_id": ws.team_id}
    if ws.enterprise_id:
        said[CLAIM + "enterprise_id"] = ws.enterprise_id
    if "email" in scopes:
        said.update(email=email_of(user, ws), email_verified=True, date_email_verified=int(user["updated"]))
    if "profile" in scopes:
        given, _, family = user["real_name"].partition(" ")
        images = {f"{CLAIM}user_image_{size}": _picture(user["id"], size) for size in IMAGE_SIZES}
        said.update(
            name=user["real_name"],
            picture=_picture(user["id"], 512),
            given_name=given,
            family_name=family,
            locale=LOCALE,
            **{CLAIM + "team_name": ws.name, CLAIM + "team_domain": ws.domain},
            **images,
            **{CLAIM + "team_image_default": True},
        )
    return said


def email_of(user: dict, ws: Workspace) -> str:
    """The person's email: the one given to ``add_user``, else one made from their name in the workspace's domain."""
    given = user["profile"].get("email")
    if given:
        return str(given)
    local = "".join(ch for ch in user["name"].lower() if ch.isascii() and (ch.isalnum() or ch in "._-"))
    return f"{local or user['id'].lower()}@{ws.domain}.example.com"


def _picture(user_id: str, size: int) -> str:
    digest = hashlib.md5(user_id.encode(), usedforsecurity=False).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}.png?s={size}&d=identicon"


# the id_token ----------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def at_hash(access_token: str) -> str:
    """OpenID Connect's at_hash: the left half of the token's SHA-256, base64url."""
    return _b64(hashlib.sha256(access_token.encode()).digest()[:16])


def jwt(payload: dict, key: str) -> str:
    """A JSON Web Token signed with HMAC-SHA256 (Slack signs with RS256 and its published keys; the app that got
    the token straight from Slack over TLS need not check the signature, so a shared-key signature does here)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(key.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"
