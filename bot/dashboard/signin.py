"""Sign in with Slack (OpenID Connect), with slack-sdk's helpers: the authorize address, then the code exchanged
(`openid.connect.token`) and the person read (`openid.connect.userInfo`).

The login's `state` is issued and consumed by slack-sdk's OAuth state store, in the bot's database (so a state works
once, for 10 minutes, on whichever replica the browser comes back to), and is also kept with the `nonce` in a
signed cookie of the browser that started the sign-in: a state from another browser, or used before, is refused.
The `id_token` comes straight from Slack over TLS in answer to the app's own secret, so its signature is not checked
again here (OpenID Connect Core 3.1.3.7); its issuer, audience, expiry and nonce are.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator
from slack_sdk.oauth.state_store import OAuthStateStore

log = logging.getLogger(__name__)
SCOPES = ("openid", "profile")  # who you are and your name: the dashboard needs nothing else (no email)
ISSUER = "https://slack.com"
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
TEAM_NAME_CLAIM = "https://slack.com/team_name"
ENTERPRISE_CLAIM = "https://slack.com/enterprise_id"


class SignInRefused(Exception):
    """Why a sign-in did not go through, in words for the person (the log has the details)."""


@dataclass(frozen=True)
class SignedIn:
    team_id: str
    enterprise_id: str | None
    team_name: str | None
    user_id: str
    name: str


@dataclass(frozen=True)
class Started:
    state: str
    nonce: str
    url: str  # Slack's authorize page


class SlackSignIn:
    """The app's side of Sign in with Slack, for one client id."""

    def __init__(
        self, *, client_id: str, client_secret: str, api_url: str, state_store: OAuthStateStore, timeout: int = 10
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._api_url = api_url
        self._states = state_store
        self._timeout = timeout

    def start(self, *, redirect_uri: str, team: str | None = None) -> Started:
        """A new state (kept in the database) and nonce, and the Slack page to send the browser to."""
        state = self._states.issue()
        nonce = secrets.token_urlsafe(24)
        generator = OpenIDConnectAuthorizeUrlGenerator(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=list(SCOPES),
            authorization_url=urljoin(self._api_url, "../openid/connect/authorize"),
        )
        return Started(state=state, nonce=nonce, url=generator.generate(state=state, nonce=nonce, team=team))

    def finish(
        self, *, code: str, state: str, expected_state: str, nonce: str, redirect_uri: str, now: datetime
    ) -> SignedIn:
        """Check the state, exchange the code, check the id_token, read the person; SignInRefused when any fails."""
        if not secrets.compare_digest(state.encode(), expected_state.encode()):
            raise SignInRefused("This sign-in was started in another browser or tab. Sign in again from here.")
        if not self._states.consume(state):
            raise SignInRefused("This sign-in link was already used or has expired. Sign in again.")
        client = WebClient(base_url=self._api_url, timeout=self._timeout)
        try:
            tokens = client.openid_connect_token(
                client_id=self.client_id, client_secret=self._secret, code=code, redirect_uri=redirect_uri
            )
            claims = _claims(str(tokens.get("id_token") or ""))
            self._check(claims, nonce=nonce, now=now)
            profile = WebClient(token=str(tokens["access_token"]), base_url=self._api_url, timeout=self._timeout)
            info = profile.openid_connect_userInfo()
        except SlackApiError as error:
            log.warning("Slack refused the sign-in", extra={"error": error.response.get("error")})
            raise SignInRefused("Slack did not confirm who you are. Sign in again.") from None
        except (SlackRequestError, OSError) as error:
            log.warning("could not reach Slack to finish a sign-in", extra={"error": type(error).__name__})
            raise SignInRefused("Slack could not be reached to finish signing you in. Try again in a moment.") from None
        return _signed_in(claims, info.data if isinstance(info.data, dict) else {})

    def _check(self, claims: dict[str, Any], *, nonce: str, now: datetime) -> None:
        problems = []
        if claims.get("iss") != ISSUER:
            problems.append("issuer")
        audience = claims.get("aud")
        if audience != self.client_id and not (
            isinstance(audience, list) and self.client_id in audience and claims.get("azp") == self.client_id
        ):
            problems.append("audience")
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires <= now.timestamp():
            problems.append("expiry")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
            claims["nonce"].encode(), nonce.encode()
        ):
            problems.append("nonce")
        if problems:
            log.warning("an id_token failed its checks", extra={"failed": problems})
            raise SignInRefused("Slack's answer to this sign-in did not match it. Sign in again.")


def _claims(id_token: str) -> dict[str, Any]:
    """The payload of a JSON Web Token (header.payload.signature, base64url)."""
    parts = id_token.split(".")
    if len(parts) != 3 or len(id_token) > 20_000:
        raise SignInRefused("Slack's answer to this sign-in could not be read. Sign in again.")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        raise SignInRefused("Slack's answer to this sign-in could not be read. Sign in again.") from None
    if not isinstance(payload, dict):
        raise SignInRefused("Slack's answer to this sign-in could not be read. Sign in again.")
    return payload


def _signed_in(claims: dict[str, Any], info: dict[str, Any]) -> SignedIn:
    """Who signed in: the id_token and userInfo must name the same person of the same workspace."""
    user, team = claims.get(USER_CLAIM) or claims.get("sub"), claims.get(TEAM_CLAIM)
    if not (isinstance(user, str) and isinstance(team, str) and user and team):
        raise SignInRefused("Slack did not say who you are. Sign in again.")
    if (info.get(USER_CLAIM) or info.get("sub")) != user or info.get(TEAM_CLAIM) != team:
        log.warning("userInfo named another person than the id_token")
        raise SignInRefused("Slack did not confirm who you are. Sign in again.")
    name = info.get("name") or claims.get("name") or user
    enterprise = info.get(ENTERPRISE_CLAIM) or claims.get(ENTERPRISE_CLAIM)
    team_name = info.get(TEAM_NAME_CLAIM) or claims.get(TEAM_NAME_CLAIM)
    return SignedIn(
        team_id=team,
        enterprise_id=enterprise if isinstance(enterprise, str) else None,
        team_name=team_name if isinstance(team_name, str) else None,
        user_id=user,
        name=str(name)[:200],
    )
