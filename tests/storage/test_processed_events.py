"""Slack's event ids are kept as long as Slack may retry an event, then the sweep forgets them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.rituals.events import REMEMBER_DELIVERIES, first_delivery
from bot.sweep import Sweeper
from storage.models import ProcessedEvent
from tests import factories
from tests.factories import NOW


def test_the_sweep_forgets_event_ids_past_slacks_retry_window_and_keeps_the_rest(db):
    with db.transaction() as s:
        ws = factories.workspace(s).id
        for event_id, age in (
            ("EvOLD1", timedelta(days=3)),
            ("EvOLD2", REMEMBER_DELIVERIES + timedelta(seconds=1)),
            ("EvHOUR", timedelta(hours=1)),
            ("EvEDGE", REMEMBER_DELIVERIES),
        ):
            assert first_delivery(s, workspace_id=ws, event_id=event_id, event_type="reaction_added", now=NOW - age)

    Sweeper(db, lambda workspace: None, worker="test").run(NOW)

    with db.read() as s:
        assert set(s.scalars(select(ProcessedEvent.event_id))) == {"EvHOUR", "EvEDGE"}
    with db.transaction() as s:  # a retry within the window is still recognised
        assert not first_delivery(s, workspace_id=ws, event_id="EvHOUR", event_type="reaction_added", now=NOW)
