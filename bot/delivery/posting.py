"""Posting in Slack once: claimed messages, and messages one event causes.

Every message is posted with Slack message metadata naming its claim (or its cause), so a process that takes
over an abandoned claim first looks in the conversation's history: if the message did go out before the crash,
it is recorded instead of sent again.

A claimed message is only ever sent with a client that never resends (`bot.slack.OnceClient`): a 5xx or a
lost connection after Slack posted it would otherwise post it twice. `post`, `upload` and `already_posted`
refuse any other client; the classes that send claimed messages derive one from the client they are given.
A message that one event causes but that no claim guards (a person joined a team, a draft was committed, a
command posted the digest) goes out through `announce`, with the same client and the same metadata, and files
shared that way (an export) through `announce_files`. Nothing else in the code posts in a conversation
(tests/unit/test_once_only_sends.py walks it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot import shutdown
from bot.slack import Delivery, OnceClient, Outcome, deliver, require_once, retryable
from storage.claims import Claim

log = logging.getLogger(__name__)

METADATA_EVENT = "okr_bot_send"
HISTORY_SLACK = timedelta(minutes=1)  # clocks differ a little between us and Slack
# whether a message read back from Slack (conversations.history or .replies) is the one a send meant to post
Match = Callable[[dict[str, Any]], bool]


def metadata(name: str) -> dict[str, Any]:
    """The message metadata naming a claim or a cause."""
    return {"event_type": METADATA_EVENT, "event_payload": {"claim": name}}


def open_dm(client: WebClient, user_id: str) -> Delivery:
    """The DM channel with someone (conversations.open is idempotent: the same D… every time, so any client)."""
    return deliver(client.conversations_open, users=user_id)


def post(
    client: OnceClient, claim: Claim, *, channel: str, message: dict[str, Any], thread_ts: str | None = None
) -> Delivery:
    """Post the claimed message, or find it already posted by the process this claim was taken from. A 5xx or a
    lost answer is not tried again here: the claim is given back, and its taker looks before posting."""
    require_once(client)
    if claim.previous_claimed_at is not None:
        found = already_posted(
            client, claim, channel=channel, match=lambda m: _claim_of(m) == claim.name, thread_ts=thread_ts
        )
        if found is not None:
            return Delivery(Outcome.SENT, response={"channel": channel, "ts": found})
        if shutdown.STOPPING.is_set():  # the look may have been cut short: left for a process that can finish it
            return Delivery(Outcome.FAILED, shutdown.STOPPED)
    extra = {"thread_ts": thread_ts} if thread_ts else {}
    return deliver(client.chat_postMessage, channel=channel, metadata=metadata(claim.name), **message, **extra)


def upload(
    client: OnceClient, claim: Claim, *, channel: str, content: bytes, filename: str, title: str, comment: str
) -> Delivery:
    """Share a file in a channel once; files carry no metadata, so a taken-over claim looks for the file name."""
    require_once(client)
    if claim.previous_claimed_at is not None:
        found = already_posted(
            client, claim, channel=channel, match=lambda m: any(f.get("name") == filename for f in m.get("files", []))
        )
        if found is not None:
            return Delivery(Outcome.SENT, response={"channel": channel, "ts": found})
        if shutdown.STOPPING.is_set():
            return Delivery(Outcome.FAILED, shutdown.STOPPED)
    return deliver(
        client.files_upload_v2,
        channel=channel,
        content=content,
        filename=filename,
        title=title,
        initial_comment=comment,
    )


def already_posted(
    client: OnceClient, claim: Claim, *, channel: str, match: Match, thread_ts: str | None = None
) -> str | None:
    """The ts of a message in `channel` (or in the thread of `thread_ts`: history leaves replies out) since the
    abandoned claim was taken that `match`es, if Slack has one."""
    require_once(client)
    assert claim.previous_claimed_at is not None
    read, found = _look_back(client, channel=channel, since=claim.previous_claimed_at, match=match, thread_ts=thread_ts)
    if not read:
        # cannot tell: sending again risks a duplicate, not sending risks a loss; a person can see a
        # duplicate and nobody sees a loss, so send
        log.warning("could not read history to check an abandoned send")
    return found


def _look_back(
    client: WebClient, *, channel: str, since: datetime, match: Match, thread_ts: str | None = None
) -> tuple[bool, str | None]:
    """(whether Slack could be read, the ts of the first message since `since` that `match`es)."""
    oldest = (since - HISTORY_SLACK).timestamp()
    read = client.conversations_replies if thread_ts else client.conversations_history
    where = {"channel": channel, **({"ts": thread_ts} if thread_ts else {})}
    cursor = None
    while True:
        found = deliver(
            read,
            **where,
            oldest=f"{oldest:.6f}",
            limit=200,
            include_all_metadata=True,
            **({"cursor": cursor} if cursor else {}),
        )
        if not found.ok or found.response is None:
            log.warning("could not read a conversation's history", extra={"error": found.error})
            return False, None
        for message in found.response.get("messages", []):
            if message.get("ts") != thread_ts and match(message):
                return True, message.get("ts")
        cursor = (found.response.get("response_metadata") or {}).get("next_cursor")
        if not found.response.get("has_more") or not cursor:
            return True, None


# a message one event causes, with no claim ----------------------------------------------------------------

ANNOUNCE_TRIES = 3  # posts of one announcement at most, each after Slack was read back and had none
ANNOUNCE_BACKOFF = 0.5  # seconds before the second post, twice that before the third (as the request client)


def announce(
    client: OnceClient,
    *,
    cause: str,
    channel: str,
    message: dict[str, Any],
    now: datetime,
    thread_ts: str | None = None,
) -> Delivery:
    """Post what one event causes (a person joined a team, a team's settings changed) once. The message names
    `cause` in its metadata. When Slack's answer leaves it unknown whether the post happened (a 5xx, a lost
    connection), the channel is read back: the message found counts as sent; none found, it is posted again.
    When Slack cannot be read back, it is not: an announcement lost is better than one posted twice."""
    require_once(client)
    extra = {"thread_ts": thread_ts} if thread_ts else {}
    return _once(
        client,
        cause=cause,
        channel=channel,
        now=now,
        thread_ts=thread_ts,
        send=lambda: deliver(client.chat_postMessage, channel=channel, metadata=metadata(cause), **message, **extra),
        match=lambda m: _claim_of(m) == cause,
    )


def announce_files(
    client: OnceClient, *, cause: str, channel: str, files: Sequence[dict[str, Any]], comment: str, now: datetime
) -> Delivery:
    """Share files (each `{"content", "filename", "title"}`) in one message of `channel` once, as `announce`
    posts a message. A shared file carries no metadata, so the message read back is the one since `now` that
    has every one of these file names; `cause` names the share in the log."""
    require_once(client)
    names = {f["filename"] for f in files}
    return _once(
        client,
        cause=cause,
        channel=channel,
        now=now,
        send=lambda: deliver(
            client.files_upload_v2, channel=channel, initial_comment=comment, file_uploads=[dict(f) for f in files]
        ),
        match=lambda m: names <= {f.get("name") for f in m.get("files") or [] if isinstance(f, dict)},
    )


def _once(
    client: OnceClient,
    *,
    cause: str,
    channel: str,
    now: datetime,
    send: Callable[[], Delivery],
    match: Match,
    thread_ts: str | None = None,
) -> Delivery:
    """`send`, and after an answer that leaves it unknown whether it took effect, Slack read back (`match`)
    before `send` again: at most ANNOUNCE_TRIES sends, each after Slack was seen not to have the message."""
    require_once(client)
    sent = send()
    for attempt in range(1, ANNOUNCE_TRIES):
        if sent.ok or not _maybe_posted(sent):
            break
        time.sleep(ANNOUNCE_BACKOFF * attempt)
        read, found = _look_back(client, channel=channel, since=now, match=match, thread_ts=thread_ts)
        if found is not None:
            return Delivery(Outcome.SENT, response={"channel": channel, "ts": found})
        if not read:
            break
        sent = send()
    if not sent.ok:
        log.warning("could not announce", extra={"cause": cause.partition(":")[0], "error": sent.error})
    return sent


def _maybe_posted(delivery: Delivery) -> bool:
    """A failure after which the message may be in Slack all the same: a 5xx or an answer that never came (a
    rate limit means Slack did nothing)."""
    return retryable(delivery) and delivery.error != "ratelimited"


def _claim_of(message: dict[str, Any]) -> str | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != METADATA_EVENT:
        return None
    return (metadata.get("event_payload") or {}).get("claim")
