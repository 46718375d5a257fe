"""A draft whose review message Slack would not post goes back to open, and can be shared again: the one move the
drafting flow makes after Slack answered (bot/rituals/draft_flow.py, `POST_FAILED`)."""

from __future__ import annotations

from storage.models import DraftState, DraftStep
from tests.e2e.support import create_team, shown, wait_until
from tests.e2e.test_drafting import draft_command, full_draft, share, submit, the_draft
from tests.helpers import ephemerals_to

REFUSED = "I could not post the draft in <#C0ROCKET> (not_in_channel)"


def test_a_share_slack_would_not_post_leaves_the_draft_open_to_share_again(driver, slack, db):
    create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")
    full_draft(driver, slack)
    slack.fail_next("chat.postMessage", "not_in_channel")

    assert submit(driver, slack) == {}  # the form closes; the reason comes as a reply only Ada sees
    wait_until(lambda: any(REFUSED in text for text in ephemerals_to(slack, "U0ADA")))
    draft = the_draft(db)
    assert (draft.state, draft.step, draft.shared_ts) == (DraftState.OPEN, DraftStep.REVIEW, None)

    assert draft_command(driver, slack)["callback_id"] == "draft_review"  # reopened where it was left
    message = share(driver, slack)
    assert "<@U0ADA> shared a draft objective for *Rockets*" in shown(message)
    wait_until(lambda: the_draft(db).shared_ts == message["ts"])
    assert the_draft(db).state is DraftState.SHARED
