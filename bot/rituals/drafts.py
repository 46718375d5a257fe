"""Drafting an objective: saved as typed at every step, coached, shared for review, committed by the team.

A draft keeps what people typed as strings (`Draft.content`), so a half-filled form survives a closed modal.
Fields are checked when a step is submitted; numbers are parsed for good only when the draft is committed.

The rules live in modules of their own, and every name is also reachable from here:
- bot/rituals/draft_flow.py: the steps and states a draft moves through, in one table, and `advance`, the one way
  a draft moves (committing and discarding included);
- bot/rituals/draft_fields.py: checking what was typed, and keeping it as typed;
- bot/rituals/draft_saving.py: finding drafts, who may edit one, saving one without overwriting a newer save;
- bot/rituals/draft_coaching.py: what the coach sees of a draft and knows of its team;
- bot/rituals/draft_commits.py: what committing and discarding do, and what they leave.
"""

from __future__ import annotations

from bot.rituals.draft_coaching import active_visions, coach_context, coach_draft, live_objectives
from bot.rituals.draft_commits import (
    Committed,
    DiscardedDraft,
    committed_objective,
    discarded_drafts,
    not_committable,
    snapshot,
)
from bot.rituals.draft_fields import (
    KR_FIELDS,
    MAX_KEY_RESULTS,
    METRIC_MAX,
    MIN_KEY_RESULTS,
    NUMBER_MAX,
    TITLE_MAX,
    UNIT_MAX,
    WHY_MAX,
    check_key_result,
    check_objective,
    number_or_none,
    typed_key_result,
    typed_objective,
    with_key_result,
    without_key_result,
)
from bot.rituals.draft_flow import commit_draft, discard_draft
from bot.rituals.draft_saving import (
    StaleDraft,
    keep_typed_key_result,
    load_draft,
    record_shared_message,
    require_editor,
    resumable_draft,
    resumable_drafts,
    save_draft,
    start_draft,
)
from storage.models.okrs import LIVE_OBJECTIVE_STATES

__all__ = [
    "KR_FIELDS",
    "LIVE_OBJECTIVE_STATES",
    "MAX_KEY_RESULTS",
    "METRIC_MAX",
    "MIN_KEY_RESULTS",
    "NUMBER_MAX",
    "TITLE_MAX",
    "UNIT_MAX",
    "WHY_MAX",
    "Committed",
    "DiscardedDraft",
    "StaleDraft",
    "active_visions",
    "check_key_result",
    "check_objective",
    "coach_context",
    "coach_draft",
    "commit_draft",
    "committed_objective",
    "discard_draft",
    "discarded_drafts",
    "keep_typed_key_result",
    "live_objectives",
    "load_draft",
    "not_committable",
    "number_or_none",
    "record_shared_message",
    "require_editor",
    "resumable_draft",
    "resumable_drafts",
    "save_draft",
    "snapshot",
    "start_draft",
    "typed_key_result",
    "typed_objective",
    "with_key_result",
    "without_key_result",
]
