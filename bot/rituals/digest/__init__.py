"""The weekly cross-team digest: what each team committed, revised, dropped or put at risk this week, which
other teams that touches (through declared ripples), new and unacknowledged ripples, and conflicts.

`build_digest` reads a workspace in a fixed number of queries, whatever the number of teams or ripples, and
returns plain data; the templates (`digest.j2`) turn it into Block Kit, and `split_messages` cuts the blocks
into messages Slack accepts. The schedule (`next_digest_at`) and the settings are here too, and what the sweep
reads and writes around a week's posting (bot/delivery/digests.py): the workspaces due, the week's messages kept
as first built (`keep_week`), the week moved on by one process (`move_digest_on`).

By concern: `news` (what the digest says, read from the database), `messages` (its blocks cut into messages),
`schedule` (when it goes out, and the week's posting) and `settings` (where and when, and who may change them).
Every public name is here too: `digest.build_digest(...)`.
"""

from bot.rituals.digest.messages import MESSAGE_CHARACTERS, PART_FRAME, block_text, split_messages
from bot.rituals.digest.news import (
    AT_RISK,
    LIVE_RIPPLES,
    Change,
    Conflict,
    Digest,
    Edge,
    KrInfo,
    Pull,
    RippleNews,
    Risk,
    TeamNews,
    build_digest,
    key_results,
    metric_key,
    opposite_pulls,
    weak,
    weak_dependencies,
)
from bot.rituals.digest.schedule import (
    WEEK,
    digests_due,
    digests_unplanned,
    keep_week,
    latest_digest_at,
    move_digest_on,
    next_digest_at,
    plan_first_digest,
    previous_digest_at,
)
from bot.rituals.digest.settings import (
    SETTINGS_USAGE,
    apply_digest_settings,
    digest_channels,
    parse_digest_settings,
)

__all__ = [
    "AT_RISK",
    "LIVE_RIPPLES",
    "MESSAGE_CHARACTERS",
    "PART_FRAME",
    "SETTINGS_USAGE",
    "WEEK",
    "Change",
    "Conflict",
    "Digest",
    "Edge",
    "KrInfo",
    "Pull",
    "RippleNews",
    "Risk",
    "TeamNews",
    "apply_digest_settings",
    "block_text",
    "build_digest",
    "digest_channels",
    "digests_due",
    "digests_unplanned",
    "keep_week",
    "key_results",
    "latest_digest_at",
    "metric_key",
    "move_digest_on",
    "next_digest_at",
    "opposite_pulls",
    "parse_digest_settings",
    "plan_first_digest",
    "previous_digest_at",
    "split_messages",
    "weak",
    "weak_dependencies",
]
