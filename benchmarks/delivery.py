"""Delivery at Slack's speed: a Monday's check-in DMs sent by `okr-bot sweep` through a sandbox that answers every
Web API call after 150 ms, as Slack does, with and without Slack's documented rate limits.

    python benchmarks/delivery.py [OWNERS] [WORKSPACES]

Every owner is due at the same minute. Runs:
- **no limits**: the sandbox refuses nothing and the bot paces nothing (SLACK_RATE_LIMITS=off): how fast one
  process sends when only Slack's latency and the database set the pace;
- **limits**: the sandbox enforces Slack's documented per-minute limits per method and workspace over a sliding
  minute (`SLACK_LIMITS`), and the bot paces to its defaults (bot/delivery/pacing.py). A weekly DM is one
  chat.postMessage, whose workspace-wide limit binds: 600 a minute in each workspace;
- **steady** runs seed what the bot keeps after a first week (each owner's DM channel, zone and status), so each
  DM is one call; a **first week** run seeds nothing: each DM then also reads the person (users.info) and opens
  the DM channel (conversations.open).

Reported: DMs per second (first DM to last), Slack calls per DM (every call the sweep made), the share of the
binding limit reached (DMs per second over the limit's sustained rate, summed over workspaces), the time from
the due minute (the sweep's start) to the last DM, the 429s met, duplicates (a second DM to one person) and lost
DMs (an owner without one).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import insert, update

from benchmarks.common import Child, bot_env, databases, log_tail, okr_bot
from benchmarks.seed import okr_workspace
from bot.delivery.pacing import POSTS_PER_MINUTE
from bot.sandbox import FakeSlack
from storage.db import Database
from storage.models import Person, Workspace

LATENCY = 0.150  # seconds Slack takes to answer each call
KEY_RESULTS_PER_TEAM = 10
CLIENT_ID, CLIENT_SECRET = "1234.5678", "benchmark-secret"
# Slack's documented floors per minute and workspace (Tier 2: 20, Tier 3: 50, Tier 4: 100), and the workspace-wide
# chat.postMessage limit the bot assumes (Slack publishes one message a second per channel, and "a workspace limit")
SLACK_LIMITS = {
    "users.list": 20,
    "conversations.open": 50,
    "users.info": 100,
    "auth.test": 100,
    "chat.postMessage": POSTS_PER_MINUTE,
}
RUNS = (  # (owners per workspace, workspaces, Slack's limits on, steady state, on PostgreSQL too)
    (5_000, 1, False, True, True),
    (1_000, 1, False, False, False),
    (5_000, 1, True, True, False),
    (1_000, 5, True, True, False),
)


def run(
    backend: str,
    database_url: str,
    *,
    log: Path,
    owners: int,
    workspaces: int = 1,
    limits: bool,
    steady: bool,
    latency: float = LATENCY,
) -> dict:
    fake = FakeSlack(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    db = Database(database_url)
    try:
        now = datetime.now(UTC)
        everyone = _seed(fake, db, owners=owners, workspaces=workspaces, now=now, steady=steady)
        fake.set_latency(latency)
        if limits:
            for method, per_minute in SLACK_LIMITS.items():
                fake.set_rate_limit(method, per_minute)
        fake.clear_calls()
        env = bot_env(
            database_url=database_url,
            slack_api_url=fake.api_url,
            token="",
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
        )
        env.pop("SLACK_BOT_TOKEN")
        if not limits:
            env["SLACK_RATE_LIMITS"] = "off"
        started = time.monotonic()  # the sandbox stamps calls on this clock
        child = Child(okr_bot("sweep", env=env, log=log, capture=True))
        try:
            output = child.process.stdout.read().decode()
        finally:
            child.process.stdout.close()
            peak = child.wait()
        wall = time.monotonic() - started
        calls = fake.calls
        posted = [c for c in calls if c.method == "chat.postMessage" and c.ok]
        if child.process.returncode != 0 or not posted:
            raise RuntimeError(
                f"okr-bot sweep exited {child.process.returncode} after {len(posted)} DMs "
                f"({output.strip()}); the end of its log ({log}):\n{log_tail(log)}"
            )
        per_channel = Counter(c.args.get("channel") for c in posted)
        first, last = min(c.at for c in posted), max(c.at for c in posted)
        rate = (len(posted) - 1) / (last - first) if len(posted) > 1 and last > first else None
        binding = workspaces * SLACK_LIMITS["chat.postMessage"] / 60 if limits else None
        return {
            "backend": backend,
            "owners": owners,
            "workspaces": workspaces,
            "limits": limits,
            "steady": steady,
            "latency_ms": latency * 1000,
            "dms": len(posted),
            "lost": len(everyone) - len(per_channel),
            "duplicates": sum(n - 1 for n in per_channel.values()),
            "rate_per_s": rate,
            "calls_per_dm": len(calls) / len(posted),
            "calls": dict(Counter(c.method for c in calls)),
            "binding_per_s": binding,
            "share_of_binding": rate / binding if rate and binding else None,
            "due_to_last_s": last - started,
            "rate_limited": sum(1 for c in calls if c.status == 429),
            "wall_s": wall,
            "peak_mb": peak,
            "sweep_report": output.strip(),
        }
    finally:
        db.dispose()
        fake.stop()


def _seed(fake: FakeSlack, db: Database, *, owners: int, workspaces: int, now: datetime, steady: bool) -> set[str]:
    """The workspaces, installed, with every owner due now; returns every owner's DM channel."""
    store = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=db.engine)
    channels: set[str] = set()
    for n in range(workspaces):
        team_id = f"T{n:03d}BENCH" if n else fake.workspace().team_id
        if n:
            fake.add_workspace(
                team_id, f"Bench {n}", f"xoxb-bench-{n}", bot_user_id=f"U{n:03d}BOT", bot_id=f"B{n:03d}BOT"
            )
        ws = fake.workspace(team_id)
        store.save(
            Installation(
                app_id=fake.app_id,
                team_id=team_id,
                bot_token=ws.bot_token,
                bot_id=ws.bot_id,
                bot_user_id=ws.bot_user_id,
                bot_scopes="chat:write,im:write,users:read",
                user_id="U0INSTALLER",
                installed_at=now.timestamp(),
            )
        )
        seeded = okr_workspace(
            db,
            slack_team_id=team_id,
            teams=max(1, owners // KEY_RESULTS_PER_TEAM),
            key_results=min(owners, KEY_RESULTS_PER_TEAM),
            now=now,
            due_share=1.0,
            first_owner=n * owners,
        )
        for owner in seeded.owners:
            fake.add_user(owner, owner.lower(), tz="UTC", team_id=team_id)
            channels.add(fake.dm_channel_id(owner))
        if steady:  # what a first week leaves: the DM channel, the zone and the status, read
            with db.transaction() as session:
                session.execute(
                    insert(Person),
                    [
                        {
                            "workspace_id": seeded.workspace_id,
                            "user_id": owner,
                            "timezone": "UTC",
                            "dm_channel_id": fake.dm_channel_id(owner),
                            "profile_read_at": now,
                            "is_bot": False,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for owner in seeded.owners
                    ],
                )
                session.execute(update(Workspace).where(Workspace.id == seeded.workspace_id).values(people_read_at=now))
    return channels


def main() -> None:
    owners = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    workspaces = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    with databases(postgres=False) as found:
        for limits in (False, True):
            print(
                run(
                    "sqlite",
                    found.new("sqlite"),
                    log=found.workdir / "bot.log",
                    owners=owners,
                    workspaces=workspaces,
                    limits=limits,
                    steady=True,
                )
            )


if __name__ == "__main__":
    main()
