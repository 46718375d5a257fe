"""Reaction events. The manifest subscribes to them for triage; outside a triage they carry no vote."""

from __future__ import annotations

from slack_bolt import App


def register(app: App) -> None:
    # Acknowledged so Slack does not retry them; votes are only counted on triage messages.
    app.event("reaction_added")(_not_a_vote)
    app.event("reaction_removed")(_not_a_vote)


def _not_a_vote() -> None:
    """No triage message exists for this reaction to vote on."""
