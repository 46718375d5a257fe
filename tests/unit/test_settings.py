import pytest

from bot.settings import DEFAULT_DATABASE_URL, Mode, Settings, SettingsError


def test_defaults_run_the_sandbox_on_sqlite():
    settings = Settings.from_env({})
    assert settings.mode is Mode.SANDBOX
    assert settings.database_url.render_as_string() == DEFAULT_DATABASE_URL
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, Mode.SINGLE_WORKSPACE),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s"}, Mode.OAUTH),
    ],
)
def test_mode_follows_credentials(env, mode):
    assert Settings.from_env(env).mode is mode


def test_postgres_urls_are_normalised_to_psycopg():
    url = Settings.from_env({"DATABASE_URL": "postgres://okr:p%40ss@db:5432/okr"}).database_url
    assert url.drivername == "postgresql+psycopg"
    assert url.password == "p@ss"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql:///okr"}, "host"),
        ({"DATABASE_URL": "postgresql://u@h:abc/db"}, "DATABASE_URL is not a database URL"),
        ({"DATABASE_URL": "sqlite://"}, "needs a file"),
        ({"DATABASE_URL": "sqlite:///:memory:"}, "needs a file"),
        ({"DATABASE_URL": "postgresql://u@db/"}, "database name"),
        ({"DATABASE_URL": "postgresql+psycopg2://u@db/okr"}, "not supported"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"SLACK_API_URL": "ftp://x"}, "SLACK_API_URL"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"SLACK_BOT_TOKEN": "xapp-wrong"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2"}, "not both"),
        ({"SLACK_RATE_LIMITS": "chat.postMessage"}, "SLACK_RATE_LIMITS: expected method=calls_per_minute"),
        ({"SLACK_RATE_LIMITS": "users.list=lots"}, "SLACK_RATE_LIMITS: users.list: 'lots' is not a whole number"),
        ({"SENDERS": "0"}, "SENDERS must be a whole number from 1 to 256"),
        ({"SENDERS": "many"}, "SENDERS"),
    ],
)
def test_bad_values_name_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_http_mode_needs_the_signing_secret():
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).require_http_credentials()
    with pytest.raises(SettingsError, match="sandbox"):
        Settings.from_env({}).require_http_credentials()


def test_secrets_are_not_in_the_repr():
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-very-secret", "SLACK_SIGNING_SECRET": "shh-secret"})
    assert "xoxb-very-secret" not in repr(settings)
    assert "shh-secret" not in repr(settings)


def test_pacing_and_senders_have_defaults_and_take_overrides():
    default = Settings.from_env({})
    assert default.senders == 16 and default.rate_limits.per_minute["chat.postMessage"] == 600
    chosen = Settings.from_env({"SENDERS": "4", "SLACK_RATE_LIMITS": "chat.postMessage=300"})
    assert chosen.senders == 4 and chosen.rate_limits.per_minute["chat.postMessage"] == 300
    assert Settings.from_env({"SLACK_RATE_LIMITS": "off"}).rate_limits.per_minute == {}
