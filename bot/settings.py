"""Settings read from the environment, validated once at start-up.

A bad value stops the process with a message naming the variable, instead of
surfacing later as a confusing crash in the middle of a Slack request.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from urllib.parse import urlsplit

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.delivery.pacing import Limits
from bot.delivery.senders import SENDERS
from bot.shutdown import GRACE

DEFAULT_DATABASE_URL = "sqlite:///okr-bot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Mode(Enum):
    """How the bot reaches Slack, decided by which credentials are present."""

    SANDBOX = "sandbox"
    SINGLE_WORKSPACE = "single-workspace"
    OAUTH = "oauth"


@dataclass(frozen=True)
class Settings:
    database_url: URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    # run the minute sweep (check-in DMs, reminders, summaries) in this process; every replica may
    scheduler: bool = True
    # OKR_CLOCK_START: the instant the bot's clock starts at (then it ticks), for tests and demonstrations
    clock_start: datetime | None = None
    # SLACK_RATE_LIMITS: calls a minute per workspace by method, over Slack's documented ones (bot/delivery/pacing.py)
    rate_limits: Limits = field(default_factory=Limits)
    # SENDERS: threads sending scheduled messages at once in this process (bot/delivery/senders.py)
    senders: int = SENDERS
    # SHUTDOWN_GRACE: seconds a stopping process has to finish what it received before it exits (bot/shutdown.py)
    shutdown_grace: float = GRACE
    # DATABASE_URL was not set, so database_url is the default SQLite file
    database_url_defaulted: bool = False
    # PUBLIC_URL: where people reach this server (https://okr.example.com), for the dashboard's sign-in and the links
    # to it from Slack; None: the dashboard answers at the address a request came to, and Slack shows no links
    public_url: str | None = None

    @property
    def dashboard_sign_in(self) -> bool:
        """Sign in with Slack needs the app's client id and secret (whether the bot serves one workspace or many)."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @property
    def mode(self) -> Mode:
        """A bot token serves its one workspace (the client id and secret, if set too, are for the dashboard's
        sign-in); a client id without one installs in many."""
        if self.slack_bot_token:
            return Mode.SINGLE_WORKSPACE
        if self.slack_client_id:
            return Mode.OAUTH
        return Mode.SANDBOX

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a log line."""
        values = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.database_url.password,
        )
        return tuple(v for v in values if v)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        get = _reader(env)
        settings = cls(
            database_url=parse_database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL),
            slack_api_url=_parse_api_url(get("SLACK_API_URL") or DEFAULT_SLACK_API_URL),
            port=_parse_port(get("PORT")),
            log_level=_parse_log_level(get("LOG_LEVEL")),
            slack_bot_token=_prefixed(get("SLACK_BOT_TOKEN"), "SLACK_BOT_TOKEN", "xoxb-"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=_prefixed(get("SLACK_APP_TOKEN"), "SLACK_APP_TOKEN", "xapp-"),
            slack_client_id=get("SLACK_CLIENT_ID"),
            slack_client_secret=get("SLACK_CLIENT_SECRET"),
            scheduler=_parse_switch(get("SCHEDULER"), "SCHEDULER"),
            clock_start=_parse_instant(get("OKR_CLOCK_START"), "OKR_CLOCK_START"),
            rate_limits=_parse_limits(get("SLACK_RATE_LIMITS")),
            senders=_parse_senders(get("SENDERS")),
            shutdown_grace=_parse_grace(get("SHUTDOWN_GRACE")),
            database_url_defaulted=get("DATABASE_URL") is None,
            public_url=_parse_public_url(get("PUBLIC_URL")),
        )
        settings._check_combinations()
        return settings

    def _check_combinations(self) -> None:
        if bool(self.slack_client_id) != bool(self.slack_client_secret):
            raise SettingsError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together.")
        if self.slack_app_token and not self.slack_bot_token:
            raise SettingsError("SLACK_APP_TOKEN (Socket Mode) also needs SLACK_BOT_TOKEN.")

    def require_http_credentials(self) -> str:
        """HTTP mode verifies every request, so it cannot run without the signing secret; returns that secret."""
        if self.mode is Mode.SANDBOX:
            raise SettingsError(
                "Serving Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
                "(or SLACK_CLIENT_ID/SLACK_CLIENT_SECRET/SLACK_SIGNING_SECRET). "
                "Without them, try the bot locally with `okr-bot sandbox`."
            )
        if not self.slack_signing_secret:
            raise SettingsError("SLACK_SIGNING_SECRET is required to verify requests from Slack.")
        return self.slack_signing_secret

    def database_warning(self) -> str | None:
        """What to say loudly at start when Slack credentials are set but DATABASE_URL is not."""
        if self.mode is Mode.SANDBOX or not self.database_url_defaulted:
            return None
        return (
            f"DATABASE_URL is not set, so the bot keeps everything in the SQLite file {self.database_url.database} in "
            "the working directory. That is fine on one machine with a disk that persists; in a container or with "
            "several replicas, set DATABASE_URL to PostgreSQL (postgresql://user:password@host:5432/okr), or the "
            "teams' OKRs are lost with the container."
        )

    def require_socket_credentials(self) -> None:
        if not (self.slack_app_token and self.slack_bot_token):
            raise SettingsError("Socket Mode needs SLACK_APP_TOKEN (xapp-…) and SLACK_BOT_TOKEN (xoxb-…).")


def _parse_instant(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        instant = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be an ISO 8601 instant, e.g. 2026-12-07T03:00:00+00:00.") from None
    if instant.tzinfo is None:
        raise SettingsError(f"{name} needs a UTC offset, e.g. 2026-12-07T03:00:00+00:00 or 2026-12-07T03:00Z.")
    return instant.astimezone(UTC)


def parse_database_url(raw: str) -> URL:
    """Accept SQLite and PostgreSQL URLs; PostgreSQL always goes through psycopg 3."""
    try:
        url = make_url(raw.strip())
        url.port  # noqa: B018 -- a non-numeric port only fails when read
    except (ArgumentError, ValueError):
        raise SettingsError(
            "DATABASE_URL is not a database URL. Examples: sqlite:///okr-bot.db, "
            "postgresql://user:password@host:5432/okr"
        ) from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if url.drivername not in ("postgres", "postgresql", "postgresql+psycopg"):
            raise SettingsError(f"DATABASE_URL driver {url.drivername!r} is not supported; use postgresql://.")
        if not url.host and not url.query.get("host"):
            raise SettingsError("DATABASE_URL for PostgreSQL needs a host, e.g. postgresql://okr@db:5432/okr")
        if not url.database:
            raise SettingsError("DATABASE_URL for PostgreSQL needs a database name after the host.")
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if url.drivername != "sqlite":
            raise SettingsError(f"DATABASE_URL driver {url.drivername!r} is not supported; use sqlite:///FILE.")
        if url.database in (None, "", ":memory:"):
            # each connection would get its own empty database, so nothing would be kept
            raise SettingsError("DATABASE_URL for SQLite needs a file, e.g. sqlite:///okr-bot.db")
        return url
    raise SettingsError(f"DATABASE_URL uses {backend!r}; the bot supports sqlite and postgresql.")


def _reader(env: Mapping[str, str]) -> Callable[[str], str | None]:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    return get


def _parse_api_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL such as {DEFAULT_SLACK_API_URL}")
    return raw if raw.endswith("/") else raw + "/"


def _parse_public_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment or len(raw) > 200:
        raise SettingsError(
            f"PUBLIC_URL must be the http(s) address people reach this server at, such as https://okr.example.com, "
            f"not {raw[:60]!r}."
        )
    return raw.rstrip("/")


def _parse_port(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"PORT must be a number between 1 and 65535, not {raw!r}.")
    return int(raw)


def _parse_limits(raw: str | None) -> Limits:
    try:
        return Limits.parse(raw)
    except ValueError as error:
        raise SettingsError(f"SLACK_RATE_LIMITS: {error}.") from None


def _parse_senders(raw: str | None) -> int:
    if raw is None:
        return SENDERS
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 256:
        raise SettingsError(f"SENDERS must be a whole number from 1 to 256, not {raw!r}.")
    return int(raw)


def _parse_grace(raw: str | None) -> float:
    if raw is None:
        return GRACE
    number = raw.replace(".", "", 1)
    seconds = float(raw) if number.isascii() and number.isdigit() else -1.0
    if not 1 <= seconds <= 600:
        raise SettingsError(f"SHUTDOWN_GRACE must be a number of seconds from 1 to 600, not {raw[:40]!r}.")
    return seconds


def _parse_switch(raw: str | None, name: str) -> bool:
    if raw is None or raw.lower() in ("on", "true", "1", "yes"):
        return True
    if raw.lower() in ("off", "false", "0", "no"):
        return False
    raise SettingsError(f"{name} must be on or off, not {raw[:40]!r}.")


def _parse_log_level(raw: str | None) -> str:
    level = (raw or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}.")
    return level


def _prefixed(raw: str | None, name: str, prefix: str) -> str | None:
    if raw is not None and not raw.startswith(prefix):
        raise SettingsError(f"{name} should start with {prefix!r}; check that the right token is in it.")
    return raw
