"""What delivery learns from Slack about the people it writes to, so that a weekly DM is one call.

- The DM channel with someone never changes: it is opened once (`conversations.open`, Tier 3, about 50 a minute)
  and kept on their row. Only the first DM to a person needs the open.
- Their time zone, status and whether they left are read for everyone at once, 200 people a call (`users.list`,
  Tier 2), at most once a day per workspace (`READ_EVERY`), and kept fresh in between by Slack's `user_change`
  events (handlers/people.py). Someone never read yet is read on their own (`users.info`) before their first DM.
- Someone whose zone changed so that their hour now comes before their next DM's planned time (they moved east)
  has that DM planned earlier, at their team's hour in the new zone (`replan_moved`): the sweep only looks at a
  row once it is due, so the DM would otherwise go out hours late. When their hour now comes later (they moved
  west), the sweep moves the row on to it once it comes due (`ask_or_skip`: waiting).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot import shutdown
from bot.rituals.people import (
    Profile,
    find_person,
    forget_dm_channel,
    people_read,
    remember_dm_channel,
    remember_profile,
    remember_profiles,
    take_people_read,
    zones_of,
)
from bot.rituals.schedule import replan_moved
from bot.slack import Delivery, Outcome, deliver
from storage.db import Database
from storage.models import Person

log = logging.getLogger(__name__)

READ_EVERY = timedelta(hours=24)  # everyone's profile is read again in bulk this often
PAGE = 200  # people a users.list call (Slack advises no more than 200)
READ_LEASE = timedelta(minutes=15)  # a bulk read that long under way is taken to have died


class People:
    """Slack's facts about people, read once and kept."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def dm_channel(self, client: WebClient, workspace_id: int, user_id: str, now: datetime) -> Delivery:
        """The DM channel with someone: the one kept, or opened now and kept. `response["channel"]["id"]` as
        conversations.open answers; a refusal as Slack gave it."""
        with self.db.read() as session:
            person = find_person(session, workspace_id=workspace_id, user_id=user_id)
            kept = person.dm_channel_id if person is not None else None
        if kept:
            return Delivery(Outcome.SENT, response={"channel": {"id": kept}})
        opened = deliver(client.conversations_open, users=user_id)
        channel = ((opened.response or {}).get("channel") or {}).get("id") if opened.ok else None
        if isinstance(channel, str) and channel:
            with self.db.transaction() as session:
                remember_dm_channel(session, workspace_id=workspace_id, user_id=user_id, channel_id=channel, now=now)
        return opened

    def forget_dm_channel(self, workspace_id: int, user_id: str, channel_id: str) -> None:
        """After Slack said the kept channel is not found: the next DM opens it again."""
        with self.db.transaction() as session:
            forget_dm_channel(session, workspace_id=workspace_id, user_id=user_id, channel_id=channel_id)

    def profile(
        self, client: WebClient, workspace_id: int, user_id: str, now: datetime, *, fallback_zone: str | None = None
    ) -> Person | Delivery:
        """The person as last read from Slack, reading them now (users.info) if they never were; or Slack's
        refusal."""
        with self.db.read() as session:
            person = find_person(session, workspace_id=workspace_id, user_id=user_id)
        if person is not None and person.profile_read_at is not None:
            return person
        info = deliver(client.users_info, user=user_id)
        profile = Profile.of((info.response or {}).get("user") or {}) if info.ok else None
        if profile is None:
            return info if not info.ok else Delivery(Outcome.FAILED, "invalid_user_object")
        with self.db.transaction() as session:
            person = remember_profile(
                session, workspace_id=workspace_id, profile=profile, now=now, fallback_zone=fallback_zone
            )
        return person

    def is_bot(self, client: WebClient, workspace_id: int, user_id: str, now: datetime) -> bool:
        """Whether someone is a bot (its reactions are not votes): as kept, else read from Slack once and kept. When
        Slack cannot say, False: a person's vote is not lost."""
        with self.db.read() as session:
            person = find_person(session, workspace_id=workspace_id, user_id=user_id)
        if person is not None and person.is_bot is not None:
            return person.is_bot
        found = self.profile(client, workspace_id, user_id, now)
        return isinstance(found, Person) and bool(found.is_bot)

    def read_all_if_due(
        self, client: WebClient, workspace_id: int, now: datetime, *, on_page: Callable[[], None] | None = None
    ) -> int | None:
        """Read everyone's profile in bulk when the last read is older than READ_EVERY; how many people it
        updated, or None when it was not due (or another process is reading, or this one started stopping).
        Taking the read is a compare-and-set on `workspaces.people_read_at`, so replicas do not all read.
        `on_page` is called after each page (a large workspace's read takes minutes: the sweep is moving on)."""
        with self.db.transaction() as session:
            taken = take_people_read(session, workspace_id=workspace_id, now=now, every=READ_EVERY, lease=READ_LEASE)
        if not taken:
            return None
        updated = self._read_all(client, workspace_id, now, on_page)
        if updated is not None:
            with self.db.transaction() as session:
                people_read(session, workspace_id=workspace_id, now=now)
        return updated

    def _read_all(
        self, client: WebClient, workspace_id: int, now: datetime, on_page: Callable[[], None] | None
    ) -> int | None:
        cursor, updated = None, 0
        while True:
            if shutdown.STOPPING.is_set():  # read again from the start by a sweep once READ_LEASE has passed
                return None
            page = deliver(client.users_list, limit=PAGE, **({"cursor": cursor} if cursor else {}))
            if not page.ok or page.response is None:
                log.warning("could not read the workspace's people", extra={"error": page.error})
                return None
            members = page.response.get("members")
            profiles = (
                [p for m in members if isinstance(m, dict) and (p := Profile.of(m))]
                if isinstance(members, list)
                else []
            )
            if profiles:
                with self.db.transaction() as session:
                    before = zones_of(session, workspace_id=workspace_id, user_ids=[p.user_id for p in profiles])
                    updated += remember_profiles(session, workspace_id=workspace_id, profiles=profiles, now=now)
                    replan_moved(session, workspace_id=workspace_id, zones_before=before)
            if on_page is not None:
                on_page()
            cursor = (page.response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return updated
