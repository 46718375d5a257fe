"""Delivery: the only code that sends scheduled and claimed messages to Slack.

The seam: rituals (bot/rituals/) decide what is due and write it; delivery claims each send, renders it,
posts it and records how it went. A claim (storage/claims.py) is committed before Slack is called and names
the message in its metadata, so replicas, sweeps that overlap and a sender killed mid-send still post each
message once (bot/delivery/posting.py); the outcome decides whether it is final or tried again
(bot/delivery/sends.py).

    sends.py          the one claimed-send path (`ClaimedSends.send`) and what an outcome means for a claim
    posting.py        `post`, `upload` and `announce`: one post per message, after a lost answer too
    pacing.py         every call held to Slack's limits per workspace, method and channel
    senders.py        the pool of senders: workspaces in turns, a cap per workspace
    people.py         DM channels and profiles kept, so a weekly DM is one call
    checkins.py       the weekly check-in DM and its reminder
    summaries.py      the weekly summary, its chart, and who missed three check-ins
    rounds.py         triage and sprint rounds: the header and the items
    round_results.py  tallies, the close's read-back of reactions, and the result
    resets.py         the 13-week reset's notice, scores, retro and next-cycle prompt
    digests.py        ripple notices and the weekly digest

What is due is bot/sweep.py's to find; what to say is the rituals' (bot/rituals/) to decide. Delivery writes no
SQL of its own: it loads the rows it acts on by id and goes through rituals and storage for the rest.
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
]
