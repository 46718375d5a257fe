"""Builds the Bolt app: the right authorisation for the deployment, then the handlers."""

from __future__ import annotations

import logging
from urllib.parse import urljoin

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

import handlers
from bot.settings import Mode, Settings
from bot.slack import web_client
from storage.db import Database

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
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def build_app(settings: Settings, db: Database) -> App:
    client = web_client(base_url=settings.slack_api_url, token=settings.slack_bot_token)
    common = {
        "signing_secret": settings.slack_signing_secret,
        "client": client,
        "logger": logging.getLogger("bot.bolt"),
    }
    if settings.mode is Mode.OAUTH:
        app = App(oauth_settings=_oauth_settings(settings, db), **common)
    else:
        app = App(**common)  # the client carries the bot token
    handlers.register(app, db=db)
    return app


def _oauth_settings(settings: Settings, db: Database) -> OAuthSettings:
    """Installations and OAuth states live in the bot's database, in tables our migrations create."""
    return OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        installation_store=SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=db.engine),
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=db.engine),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=urljoin(settings.slack_api_url, "../oauth/v2/authorize"),
    )
