"""Starting the bot logs no warning: an operator who sees one at every start learns to ignore warnings.

`okr-bot serve` reads its credentials from the environment, and so does Bolt's App on its own (it takes
SLACK_BOT_TOKEN even when given a client). The app is built here the way `okr-bot serve` builds it, from the
environment, and the way the tests build it, from settings, in each deployment mode.
"""

from __future__ import annotations

import logging

import pytest

from bot import cli
from bot.app import build_app
from bot.settings import Settings
from tests.conftest import SIGNING_SECRET, sandbox_settings


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


def test_serve_builds_the_app_from_the_environment_without_a_warning(slack, database_url, monkeypatch, caplog, recwarn):
    for name, value in {
        "SLACK_BOT_TOKEN": slack.workspace().bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
    }.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)

    app, db = cli._build(Settings.from_env())  # what `okr-bot serve` runs before serving
    db.dispose()

    assert app.client.token == slack.workspace().bot_token and app.client.base_url == slack.api_url
    assert warnings_logged(caplog) == []
    assert [str(w.message) for w in recwarn] == []


def test_the_tests_build_the_app_from_settings_without_a_warning(slack, db, database_url, caplog, recwarn):
    caplog.set_level(logging.DEBUG)

    build_app(sandbox_settings(slack, database_url), db)

    assert warnings_logged(caplog) == []
    assert [str(w.message) for w in recwarn] == []


def test_an_installable_app_starts_without_a_warning(slack, db, database_url, monkeypatch, caplog, recwarn):
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    caplog.set_level(logging.DEBUG)

    build_app(
        sandbox_settings(
            slack, database_url, slack_bot_token=None, slack_client_id="111.222", slack_client_secret="client-secret"
        ),
        db,
    )

    assert warnings_logged(caplog) == []
    assert [str(w.message) for w in recwarn] == []


def test_a_token_in_the_environment_other_than_the_clients_is_still_reported(
    slack, db, database_url, monkeypatch, caplog
):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-some-other-token")
    caplog.set_level(logging.DEBUG)

    build_app(sandbox_settings(slack, database_url), db)

    assert any("`token` will be unused" in line for line in warnings_logged(caplog))
