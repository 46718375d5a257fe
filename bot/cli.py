"""`okr-bot`: serve Slack over HTTP or Socket Mode, migrate the database, try the bot locally, or lint OKRs."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from bot import clock
from bot.dashboard import links as dashboard_links
from bot.log import configure_logging
from bot.settings import Mode, Settings, SettingsError

if TYPE_CHECKING:  # imported where used: a command loads only what it runs
    from bot.app import OkrApp
    from storage.db import Database

log = logging.getLogger("bot.cli")
# adds a sub-command: (name, run, help text, *, uses_settings=True) → its parser, for its own arguments
_Command = Callable[..., argparse.ArgumentParser]
# a sub-command: (its settings, None for one that needs none; its arguments) → the exit status
_Run = Callable[[Any, argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.uses_settings:  # works anywhere, e.g. in CI, whatever DATABASE_URL or Slack variables are set
        return args.run(None, args)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, secrets=settings.secrets)
        # the digest a scheduler or a one-off sweep posts links to the dashboard `okr-bot serve` answers at PUBLIC_URL
        dashboard_links.configure(settings.public_url if settings.dashboard_sign_in else None)
        if settings.clock_start is not None:
            clock.set_now(settings.clock_start)
            log.warning("the bot's clock starts at %s (OKR_CLOCK_START), not the machine's", settings.clock_start)
        if args.run in (_serve, _socket, _scheduler, _sweep, _start):
            # a SIGTERM while starting (migrating, checking the token) ends the process at once, cleanly: nothing is
            # claimed yet. The command's own stop (bot/shutdown.py) takes over once it runs
            signal.signal(signal.SIGTERM, _stopped_while_starting)
        warning = settings.database_warning()
        if warning is not None and args.run in (_serve, _socket, _sweep, _scheduler, _start):
            log.warning(warning)
        return args.run(settings, args)
    except SettingsError as error:
        print(f"okr-bot: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(
            f"okr-bot: the database at DATABASE_URL is not usable: {error.__class__.__name__}: "
            f"{getattr(error, 'orig', None) or error}",
            file=sys.stderr,
        )
        return 3


def _stopped_while_starting(_signum: int, _frame: FrameType | None) -> None:
    log.info("stopped while starting")
    raise SystemExit(0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="okr-bot", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: _Run, help_text: str, *, uses_settings: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run, uses_settings=uses_settings)
        return sub

    _serving_commands(command)
    _other_commands(command)
    return parser


def _serving_commands(command: _Command) -> None:
    """`serve`, `socket` and `scheduler`: Slack served, the minute sweep run, or both, until stopped."""
    serve = command(
        "serve",
        _serve,
        "serve Slack over HTTP on PORT (POST /slack/events; GET /livez, /readyz and /metrics), and "
        "sweep every minute unless SCHEDULER=off",
    )
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all interfaces)")
    serve.add_argument(
        "--threads",
        type=_positive,
        default=16,
        help="HTTP request threads (default: 16); half of them at most wait on a request's work, the rest always "
        "answer at once",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=32,
        help="threads running the work after each answer to Slack (default: 32)",
    )
    command(
        "socket",
        _socket,
        "connect to Slack over Socket Mode (needs SLACK_APP_TOKEN), serve GET /livez, /readyz and "
        "/metrics on PORT, and sweep every minute unless SCHEDULER=off",
    )
    command(
        "scheduler",
        _scheduler,
        "only sweep: send what is due every minute (check-ins, reminders, summaries, rounds, "
        "resets, digests), with GET /livez, /readyz and /metrics on PORT; for a replica of its own",
    )


def _other_commands(command: _Command) -> None:
    """`migrate`, `sandbox`, `start`, `purge-workspace`, `sweep` and `lint`."""
    command("migrate", _migrate, "upgrade the database to the latest schema")
    sandbox = command(
        "sandbox",
        _sandbox,
        "try the bot against a local fake Slack: a Slack-like page on http://localhost:PORT/, or "
        "the terminal with --terminal",
    )
    sandbox.add_argument(
        "--terminal", action="store_true", help="type /okr commands in the terminal instead of using the browser"
    )
    command("start", _start, "migrate, then serve Slack if credentials are set, or start the sandbox")
    purge = command("purge-workspace", _purge, "delete every row a workspace owns (after an uninstall)")
    purge.add_argument("slack_team_id", help="the workspace's Slack team id, e.g. T0123ABCD")
    command("sweep", _sweep, "send what is due now (check-in DMs, reminders, summaries…) once, then exit")
    lint = command("lint", _lint, "coach the OKRs in a YAML file, as the bot coaches a draft", uses_settings=False)
    lint.add_argument("file", metavar="FILE", help="the YAML file, or - to read standard input")
    lint.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings too, not only on errors")
    lint.add_argument(
        "--max-objectives", type=_objective_limit, metavar="N", help="the team's objective limit (overrides the file)"
    )


def _positive(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= 1000:
        raise argparse.ArgumentTypeError(f"should be a whole number from 1 to 1000, not {value!r}")
    return int(value)


def _objective_limit(value: str) -> int:
    from bot.okr_file import OBJECTIVE_LIMITS

    if not (value.isascii() and value.isdigit()) or int(value) not in OBJECTIVE_LIMITS:
        raise argparse.ArgumentTypeError(f"should be a whole number from 1 to {OBJECTIVE_LIMITS[-1]}, not {value!r}")
    return int(value)


def _lint(_settings: None, args: argparse.Namespace) -> int:
    from bot.lint import run

    return run(
        args.file,
        as_json=args.json,
        strict=args.strict,
        max_objectives=args.max_objectives,
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    upgrade(settings.database_url)
    log.info("database is at the latest schema", extra={"database": _describe(settings)})
    return 0


def _sweep(settings: Settings, _args: argparse.Namespace) -> int:
    from bot import scheduler, shutdown
    from storage.claims import push_back_all

    if settings.mode is Mode.SANDBOX:
        raise SettingsError("A sweep sends Slack messages: set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID/SECRET) first.")
    _require_migrated(settings)
    db = _database(settings)
    sweeper = scheduler.sweeper(settings, db)
    stop = shutdown.Shutdown(
        settings.shutdown_grace, last_words=lambda: push_back_all(db, sweeper.worker, now=clock.now())
    ).install()
    try:
        report = sweeper.run()
    finally:
        if shutdown.STOPPING.is_set():
            stop.finish()
        db.dispose()
    print(", ".join(f"{what}: {count}" for what, count in sorted(report.items())) or "nothing was due")
    return 1 if report.get("error") else 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.serving import serve_http

    settings.require_http_credentials()
    app, db = _build(settings, workers=args.workers, slots=max(1, args.threads // 2))
    return serve_http(settings, app, db, host=args.host, threads=args.threads)


def _socket(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.serving import serve_socket

    settings.require_socket_credentials()
    app, db = _build(settings)
    return serve_socket(settings, app, db)


def _scheduler(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.serving import run_scheduler

    if settings.mode is Mode.SANDBOX:
        raise SettingsError("The scheduler sends Slack messages: set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID/SECRET).")
    if not settings.scheduler:
        raise SettingsError("`okr-bot scheduler` only sweeps, and SCHEDULER=off says not to: unset SCHEDULER.")
    _require_migrated(settings)
    return run_scheduler(settings, _database(settings))


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    _require_migrated(settings)
    if getattr(args, "terminal", False):
        from bot.playground import run_playground

        return run_playground(settings)
    from bot.sandbox.web.serve import serve_sandbox

    return serve_sandbox(settings)


def _start(settings: Settings, args: argparse.Namespace) -> int:
    """What `make run` does: the right thing for whatever credentials are in the environment."""
    _migrate(settings, args)
    if settings.slack_app_token:
        return _socket(settings, args)
    if settings.mode is not Mode.SANDBOX:
        args.host, args.threads, args.workers = "0.0.0.0", 16, 32
        return _serve(settings, args)
    print(
        "No Slack credentials (SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET) are set, so the bot runs in the "
        "sandbox: a local stand-in for Slack. See README.md to connect a real workspace.",
        file=sys.stderr,
    )
    return _sandbox(settings, args)


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from bot.rituals.workspaces import purge_workspace
    from storage.db import Database

    _require_migrated(settings)
    db = Database(settings.database_url)
    with db.transaction() as session:
        found = purge_workspace(session, slack_team_id=args.slack_team_id)
    print(
        f"Deleted workspace {args.slack_team_id} and all its data."
        if found
        else f"No workspace {args.slack_team_id} in this database."
    )
    return 0 if found else 1


def _build(settings: Settings, *, workers: int = 32, slots: int = 8) -> tuple[OkrApp, Database]:
    from bot.ack import Workers
    from bot.app import build_app

    _require_migrated(settings)
    db = _database(settings)
    return build_app(settings, db, workers=Workers(workers), slots=slots), db


def _database(settings: Settings) -> Database:
    """The process's database, its driver's errors counted (/metrics)."""
    from bot import metrics
    from storage.db import Database

    db = Database(settings.database_url)
    metrics.watch_database(db.engine)
    return db


def _require_migrated(settings: Settings) -> None:
    from storage.migrate import pending_revision

    if pending_revision(settings.database_url) is not None:
        raise SettingsError(f"The database ({_describe(settings)}) is not at the latest schema: run `okr-bot migrate`.")


def _describe(settings: Settings) -> str:
    return settings.database_url.render_as_string(hide_password=True)
