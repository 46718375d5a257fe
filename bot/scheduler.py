"""The minute sweep inside a bot process, and the Slack client it uses for each workspace.

Jobs live in memory (APScheduler's FAQ: a job store shared between processes runs jobs twice or not at
all); what is due lives in the database behind claims, so every replica may run its own scheduler.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

from bot.delivery import pacing
from bot.settings import Mode, Settings
from bot.slack import web_client
from bot.sweep import ClientFor, Sweeper, SweepWatch
from storage.db import Database
from storage.models import Workspace

log = logging.getLogger(__name__)


def client_for(settings: Settings, db: Database) -> ClientFor:
    """The bot token of each workspace: from the installation store, or the one configured token."""
    if settings.mode is Mode.OAUTH:
        assert settings.slack_client_id, "SLACK_CLIENT_ID is what makes the mode Mode.OAUTH"
        store = SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=db.engine)

        def installed(workspace: Workspace) -> WebClient | None:
            bot = store.find_bot(enterprise_id=workspace.enterprise_id, team_id=workspace.slack_team_id)
            if bot is None or not bot.bot_token:
                return None
            return web_client(base_url=settings.slack_api_url, token=bot.bot_token, resend=False)

        return installed
    client = web_client(base_url=settings.slack_api_url, token=settings.slack_bot_token, resend=False)
    return lambda _workspace: client  # one token, one workspace: the only one this process serves


def sweeper(settings: Settings, db: Database) -> Sweeper:
    """The process's sweep, its sends paced to SLACK_RATE_LIMITS by the process's pacer, on SENDERS threads."""
    pacing.configure(settings.rate_limits)
    return Sweeper(db, client_for(settings, db), senders=settings.senders)


class Sweeps:
    """The minute sweep running in this process: stopped, and waited for, when the process stops."""

    def __init__(self, scheduler: BackgroundScheduler, sweeper: Sweeper) -> None:
        self.scheduler = scheduler
        self.sweeper = sweeper

    @property
    def watch(self) -> SweepWatch:
        return self.sweeper.watch

    def stop(self) -> None:
        """No new sweep from now on (one running sees bot.shutdown.STOPPING and ends early)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def wait(self, timeout: float) -> bool:
        """True once no sweep is running, False if one still is after `timeout` seconds."""
        return self.watch.idle.wait(timeout)


def start(settings: Settings, db: Database) -> Sweeps | None:
    """Run the sweep at the start of every minute, in a background thread; None when SCHEDULER=off."""
    if not settings.scheduler:
        log.info("scheduler off (SCHEDULER=off): this process sends no scheduled messages")
        return None
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per minute: the sweep logs its own
    scheduler = BackgroundScheduler(timezone=UTC)
    sweeps = sweeper(settings, db)
    scheduler.add_job(
        sweeps.run,
        CronTrigger(second=0, timezone=UTC),
        id="sweep",
        max_instances=1,  # a slow sweep is not started twice in one process
        coalesce=True,  # after a pause, one catch-up run, not one per missed minute
        misfire_grace_time=50,
        next_run_time=datetime.now(UTC),  # and once at start: a process replaced by a deploy leaves no minute unswept
    )
    scheduler.start()
    log.info("scheduler started: a sweep every minute")
    return Sweeps(scheduler, sweeps)
