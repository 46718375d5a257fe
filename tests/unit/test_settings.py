import json
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from bot.settings import DEFAULT_DATABASE_URL, Mode, Settings, SettingsError
from tests.conftest import child_env


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
        ({"PUBLIC_URL": "okr.example.com"}, "PUBLIC_URL"),
        ({"PUBLIC_URL": "https://okr.example.com/?next=1"}, "PUBLIC_URL"),
        ({"SLACK_RATE_LIMITS": "chat.postMessage"}, "SLACK_RATE_LIMITS: expected method=calls_per_minute"),
        ({"SLACK_RATE_LIMITS": "users.list=lots"}, "SLACK_RATE_LIMITS: users.list: 'lots' is not a whole number"),
        ({"SENDERS": "0"}, "SENDERS must be a whole number from 1 to 256"),
        ({"SENDERS": "many"}, "SENDERS"),
    ],
)
def test_bad_values_name_the_variable(env, names):
    with pytest.raises(SettingsError, match=names):
        Settings.from_env(env)


def test_a_bot_token_with_client_credentials_serves_one_workspace_and_signs_in_to_the_dashboard():
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_CLIENT_ID": "1.2",
            "SLACK_CLIENT_SECRET": "s",
            "PUBLIC_URL": "https://o.example/",
        }
    )
    assert settings.mode is Mode.SINGLE_WORKSPACE
    assert settings.dashboard_sign_in
    assert settings.public_url == "https://o.example"
    assert not Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).dashboard_sign_in


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


def test_shutdown_grace_is_ten_seconds_by_default():
    assert Settings.from_env({}).shutdown_grace == 10
    assert Settings.from_env({"SHUTDOWN_GRACE": "  "}).shutdown_grace == 10  # blank is unset


@pytest.mark.parametrize(("raw", "seconds"), [("1", 1.0), ("2.5", 2.5), ("30", 30.0), (" 45 ", 45.0), ("600", 600.0)])
def test_shutdown_grace_takes_seconds_from_1_to_600(raw, seconds):
    assert Settings.from_env({"SHUTDOWN_GRACE": raw}).shutdown_grace == seconds


@pytest.mark.parametrize("raw", ["abc", "0", "0.5", "601", "nan", "inf", "-inf", "-5", "10s"])
def test_shutdown_grace_refuses_what_is_not_1_to_600_seconds(raw):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SHUTDOWN_GRACE": raw})
    assert str(refused.value) == f"SHUTDOWN_GRACE must be a number of seconds from 1 to 600, not {raw!r}."


def test_a_long_refused_shutdown_grace_is_cut_in_the_message():
    with pytest.raises(SettingsError, match=r"not '9{40}'\.$"):
        Settings.from_env({"SHUTDOWN_GRACE": "9" * 500})


@pytest.mark.parametrize(
    "env",
    [
        {},  # the sandbox: the local file is the point
        {"SLACK_BOT_TOKEN": "xoxb-1", "DATABASE_URL": "postgresql://okr@db:5432/okr"},
        {"SLACK_BOT_TOKEN": "xoxb-1", "DATABASE_URL": DEFAULT_DATABASE_URL},  # the file, chosen on purpose
    ],
)
def test_no_database_warning_in_the_sandbox_or_with_database_url_set(env):
    assert Settings.from_env(env).database_warning() is None


@pytest.mark.parametrize(
    "env",
    [
        {"SLACK_BOT_TOKEN": "xoxb-1"},
        {"SLACK_BOT_TOKEN": "xoxb-1", "DATABASE_URL": " "},  # blank is unset
        {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c"},
    ],
)
def test_slack_credentials_without_database_url_get_a_warning_naming_both_ways_out(env):
    warning = Settings.from_env(env).database_warning()
    assert warning is not None
    assert "DATABASE_URL is not set" in warning
    assert "okr-bot.db" in warning  # the file everything goes to
    assert "PostgreSQL (postgresql://" in warning


def test_settings_built_in_code_never_warn():
    """What the tests and the sandbox build (`database_url_defaulted` is False unless read from the environment)."""
    settings = Settings(database_url=make_url("sqlite:///x.db"), slack_bot_token="xoxb-1")
    assert settings.database_warning() is None


def test_a_sweep_with_a_token_and_no_database_url_logs_the_warning_before_anything_else_goes_wrong(tmp_path):
    """`okr-bot sweep` as a child process in a directory of its own: the warning is a JSON log line on stderr, said
    before the sweep refuses the default SQLite file it has just created there, unmigrated."""
    keep = {k: v for k, v in child_env().items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sweep"],
        env=keep | {"SLACK_BOT_TOKEN": "xoxb-sandbox-0000"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    warnings = [entry for entry in logged if "DATABASE_URL is not set" in entry["message"]]
    assert len(warnings) == 1, result.stderr
    (warning,) = warnings
    assert (warning["level"], warning["logger"]) == ("warning", "bot.cli")
    assert "PostgreSQL" in warning["message"] and "okr-bot.db" in warning["message"]
    refusal = next(i for i, line in enumerate(lines) if "not at the latest schema" in line)
    assert lines.index(next(line for line in lines if "DATABASE_URL is not set" in line)) < refusal
    assert "xoxb-sandbox-0000" not in result.stderr
    assert (tmp_path / "okr-bot.db").exists()  # the default file is where the process was started
