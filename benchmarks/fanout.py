"""Fan-out: the weekly check-in DMs of a large workspace, sent by `okr-bot sweep` through the sandbox with
Slack-like rate limits switched on.

    python benchmarks/fanout.py [DMS]

Every owner is due this week, so one sweep sends one DM per owner (users.info, conversations.open and
chat.postMessage each). The sandbox limits each of these methods per minute and workspace, as Slack does, over
a sliding minute; the bot waits out every 429's Retry-After. Reported: the achieved DM rate (first DM to last)
as a share of the limit's sustained rate (per minute / 60; a run shorter than a few minutes can go above it on
the first minute's allowance), the 429s met, and the duplicates (DMs to one person beyond the first), which
must be zero. A share well under 100% with no 429s means the bot, not Slack, set the pace.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import Child, bot_env, databases, log_tail, okr_bot
from benchmarks.seed import okr_workspace
from bot.sandbox import FakeSlack
from storage.db import Database

DMS = 10_000
KEY_RESULTS_PER_TEAM = 10
# per minute and workspace; Slack's documented tiers scaled up so that 10,000 DMs take about two minutes
LIMITS = {"users.info": 6_000, "conversations.open": 6_000, "chat.postMessage": 6_000}


def run(backend: str, database_url: str, *, log: Path, dms: int = DMS, limits: dict[str, int] | None = LIMITS) -> dict:
    limits = limits or {}
    fake = FakeSlack().start()
    try:
        now = datetime.now(UTC)
        db = Database(database_url)
        seeded = okr_workspace(
            db,
            slack_team_id=fake.workspace().team_id,
            teams=max(1, dms // KEY_RESULTS_PER_TEAM),
            key_results=min(dms, KEY_RESULTS_PER_TEAM),
            now=now,
            due_share=1.0,
        )
        db.dispose()
        for owner in seeded.owners:
            fake.add_user(owner, owner.lower(), tz="UTC")
        for method, per_minute in limits.items():
            fake.set_rate_limit(method, per_minute)
        # the bot paces to the same limits (bot/delivery/pacing.py), or, with none, paces nothing
        paced = ",".join(f"{method}={per_minute}" for method, per_minute in limits.items()) or "off"
        env = bot_env(
            database_url=database_url,
            slack_api_url=fake.api_url,
            token=fake.workspace().bot_token,
            SLACK_RATE_LIMITS=paced,
        )
        started = time.monotonic()
        child = Child(okr_bot("sweep", env=env, log=log, capture=True))
        try:
            output = child.process.stdout.read().decode()
        finally:
            child.process.stdout.close()
            peak = child.wait()
        wall = time.monotonic() - started
        calls = fake.calls_to("chat.postMessage")
        posted = [c for c in calls if c.ok]
        if child.process.returncode != 0 or not posted:
            raise RuntimeError(
                f"okr-bot sweep exited {child.process.returncode} after {len(posted)} DMs "
                f"({output.strip()}); the end of its log ({log}):\n{log_tail(log)}"
            )
        limited = Counter(c.method for c in fake.calls if c.status == 429)
        per_person = Counter(c.args.get("channel") for c in posted)
        first, last = posted[0].at, posted[-1].at
        allowed = min(limits.values()) / 60 if limits else None
        achieved = (len(posted) - 1) / (last - first) if len(posted) > 1 and last > first else None
        return {
            "backend": backend,
            "dms": dms,
            "sent": len(posted),
            "distinct_people": len(per_person),
            "duplicates": sum(n - 1 for n in per_person.values()),
            "rate_per_s": achieved,
            "allowed_per_s": allowed,
            "share_of_allowed": achieved / allowed if achieved and allowed else None,
            "rate_limited_calls": dict(limited),
            "wall_s": wall,
            "peak_mb": peak,
            "sweep_report": output.strip(),
        }
    finally:
        fake.stop()


def main() -> None:
    dms = int(sys.argv[1]) if len(sys.argv) > 1 else DMS
    with databases(postgres=False) as found:
        print(run("sqlite", found.new("sqlite"), log=found.workdir / "bot.log", dms=dms))


if __name__ == "__main__":
    main()
