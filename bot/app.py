"""Builds the Bolt app: the right authorisation for the deployment, then the handlers."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urljoin

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.callback_options import CallbackOptions, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy.exc import OperationalError

import handlers
from bot import clock
from bot.ack import AckGate, Fallbacks, Notices, Workers
from bot.dashboard import links as dashboard_links
from bot.delivery import pacing
from bot.rituals.workspaces import ensure_workspace
from bot.settings import Mode, Settings
from bot.slack import web_client
from storage.db import Database
from storage.slack_tables import OAuthStates

# What the bot needs and nothing more; app.yaml lists the same scopes.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:join",
    "im:write",
    "reactions:read",
    "users:read",
    "files:write",
    "files:read",  # `/okr backlog import` downloads the CSV file the person shared
    # read back the bot's own messages after a crash, to learn whether a scheduled send went out; and find
    # the CSV file someone just shared, for `/okr backlog import`
    "im:history",
    "channels:history",
    "groups:history",
)
INSTALL_PATH = "/slack/install"
log = logging.getLogger(__name__)
REDIRECT_PATH = "/slack/oauth_redirect"


class OkrApp(App):
    """Bolt's App, answering every request within the ack deadline (bot/ack.py): over HTTP and Socket Mode alike."""

    gate: AckGate
    workers: Workers

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_close: list[Callable[[], None]] = []  # what listeners left waiting (timers) is dropped on close

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        return self.gate.dispatch(super().dispatch, req)

    def close(self) -> None:
        """Stop taking work: the pools' threads end once what they run is done, and timers still waiting are
        dropped (the minute sweep redraws what they would have)."""
        for closing in self.on_close:
            closing()
        self.gate.shutdown()
        self.gate.fallbacks.notices.shutdown()
        self.workers.shutdown(wait=False)


def build_app(settings: Settings, db: Database, *, workers: Workers | None = None, slots: int = 8) -> OkrApp:
    """The Bolt app. `workers` run the listeners and the work after each ack; `slots` bound the requests being
    dispatched at once: fewer than the HTTP server's threads, so that some are always free to answer at once (README,
    "Answering Slack in time")."""
    client = web_client(base_url=settings.slack_api_url, token=settings.slack_bot_token)
    pacing.configure(settings.rate_limits)  # what a listener sends once (a round's items…) is paced as the sweep is
    # Slack links to the dashboard only where people can sign in to it
    dashboard_links.configure(settings.public_url if settings.dashboard_sign_in else None)
    workers = workers or Workers()
    bolt_log = logging.getLogger("bot.bolt")
    common = {
        "signing_secret": settings.slack_signing_secret,
        "client": client,
        "logger": bolt_log,
        "listener_executor": workers,
    }
    quiet = _ClientCarriesTheToken(client.token)
    bolt_log.addFilter(quiet)
    try:
        if settings.mode is Mode.OAUTH:
            app = OkrApp(oauth_settings=_oauth_settings(settings, db), **common)
        else:
            with _unseen_by_bolt("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
                app = OkrApp(**common)  # the client carries the bot token
    finally:
        bolt_log.removeFilter(quiet)
    fallbacks = Fallbacks(Notices(client))
    app.workers = workers
    app.gate = AckGate(workers=workers, fallbacks=fallbacks, signing_secret=settings.slack_signing_secret, slots=slots)
    served = None
    if settings.mode is not Mode.OAUTH:
        identity = client.auth_test().data
        assert isinstance(identity, dict), "auth.test answers JSON (only a file's download answers bytes)"
        _register_workspace(db, identity)
        served = frozenset(filter(None, (identity.get("team_id"), identity.get("enterprise_id"))))
    handlers.register(app, db=db, fallbacks=fallbacks, served=served)
    return app


@contextmanager
def _unseen_by_bolt(*names: str) -> Iterator[None]:
    """Bolt's App turns on its own OAuth flow (a file installation store, its install page) whenever SLACK_CLIENT_ID
    and SLACK_CLIENT_SECRET are in the environment. With a bot token they are the dashboard's sign-in credentials
    (bot/settings.py has them already): hidden from the environment while the App is built, put back after."""
    kept = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(kept)


class _ClientCarriesTheToken(logging.Filter):
    """Bolt's App reads SLACK_BOT_TOKEN from the environment even when it is given a client, and then warns
    that the token will be unused. Our client (retry handlers, SLACK_API_URL) is built with that very token,
    so the warning says nothing at every start: it is dropped while the App is built, and only when the
    environment's token is the client's own. Any other warning, or a different token, still shows."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        redundant = record.getMessage() == warning_client_prioritized_and_token_skipped()
        return not (redundant and os.environ.get("SLACK_BOT_TOKEN") == self.token)


def _register_workspace(db: Database, identity: dict[str, Any]) -> None:
    """Record the installed workspace up front, so a person's first (perhaps rejected) request writes nothing.

    If the database is down at start-up the first request records it instead.
    """
    try:
        with db.transaction() as session:
            ensure_workspace(
                session,
                slack_team_id=identity.get("team_id") or identity["enterprise_id"],
                enterprise_id=identity.get("enterprise_id"),
                now=clock.now(),
            )
    except OperationalError as error:
        log.warning("could not record the workspace at start-up", extra={"error": type(error.orig).__name__})


def _oauth_settings(settings: Settings, db: Database) -> OAuthSettings:
    """Installations and OAuth states live in the bot's database, in tables our migrations create."""
    client_id = settings.slack_client_id
    assert client_id, "SLACK_CLIENT_ID is what makes the mode Mode.OAUTH"
    return OAuthSettings(
        client_id=client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=SQLAlchemyInstallationStore(client_id=client_id, engine=db.engine),
        state_store=OAuthStates(expiration_seconds=600, engine=db.engine),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=urljoin(settings.slack_api_url, "../oauth/v2/authorize"),
        callback_options=CallbackOptions(success=_on_installed(db), failure=lambda args: args.default.failure(args)),
    )


def _on_installed(db: Database) -> Callable[[SuccessArgs], BoltResponse]:
    def success(args: SuccessArgs) -> BoltResponse:
        installation = args.installation
        _register_workspace(db, {"team_id": installation.team_id, "enterprise_id": installation.enterprise_id})
        return args.default.success(args)

    return success
