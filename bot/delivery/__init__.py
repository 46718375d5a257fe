"""Delivery: the only code that sends scheduled and claimed messages to Slack.

The seam: rituals (bot/rituals/) decide what is due and write it; delivery claims each send, renders it,
posts it and records how it went. A claim (storage/claims.py) is committed before Slack is called and names
the message in its metadata, so replicas, sweeps that overlap and a sender killed mid-send still post each
message once (bot/delivery/posting.py); the outcome decides whether it is final or tried again
(bot/delivery/sends.py).

    sends.py     what an outcome means for a claim; `ClaimedSends`, the base of every sender
    posting.py   `post`, `upload` and `announce`: one post per message, after a lost answer too
    rounds.py    triage and sprint rounds: header, items, tallies, result
    resets.py    the 13-week reset's notice, scores, retro and next-cycle prompt
    digests.py   ripple notices and the weekly digest
"""

from bot.delivery.posting import (
    METADATA_EVENT,
    already_posted,
    announce,
    announce_files,
    metadata,
    open_dm,
    post,
    upload,
)
from bot.delivery.sends import TAKEN, ClaimedSends, SendState, Sent, StepOutcome, give_back, record, tally
from bot.slack import retryable
from storage.claims import LEASE, Claim, find, finish, record_skip, release, take, worker_name

__all__ = [
    "LEASE",
    "METADATA_EVENT",
    "TAKEN",
    "Claim",
    "ClaimedSends",
    "SendState",
    "Sent",
    "StepOutcome",
    "already_posted",
    "announce",
    "announce_files",
    "find",
    "finish",
    "give_back",
    "metadata",
    "open_dm",
    "post",
    "record",
    "record_skip",
    "release",
    "retryable",
    "take",
    "tally",
    "upload",
    "worker_name",
]  # fmt: skip
