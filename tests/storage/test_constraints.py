"""The rules the database itself enforces, on both backends."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.rituals.events import first_delivery
from storage.models import CheckIn, ProcessedEvent, Round, RoundItem, RoundKind, RoundState, Team, Vote, Workspace
from tests import factories
from tests.factories import NOW


def test_one_row_per_user_per_item_per_emoji_as_shown(db):
    with db.transaction() as s:
        team = factories.team(s, factories.workspace(s))
        item = factories.backlog_item(s, team)
        ws = team.workspace_id
        triage = Round(workspace_id=ws, team_id=team.id, kind=RoundKind.TRIAGE, channel_id="C1", opened_by="U0ADA")
        s.add(triage)
        s.flush()
        entry = RoundItem(workspace_id=ws, round_id=triage.id, item_id=item.id, position=1)
        s.add(entry)
        s.flush()

        def vote(user: str, emoji: str) -> Vote:
            return Vote(
                workspace_id=ws,
                round_item_id=entry.id,
                user_id=user,
                reaction=emoji.split("::")[0],
                emoji=emoji,
                present=True,
                event_ts=1,
            )

        s.add_all(
            [
                vote("U0BEN", "white_check_mark"),
                vote("U0BEN", "white_check_mark::skin-tone-2"),
                vote("U0BEN", "one"),
                vote("U0CLEO", "one"),
            ]
        )
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(vote("U0BEN", "one"))
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Vote)) == 4


def test_one_open_round_of_each_kind_per_team(db):
    with db.transaction() as s:
        team = factories.team(s, factories.workspace(s))
        ws = team.workspace_id
        for kind in (RoundKind.TRIAGE, RoundKind.SPRINT):
            s.add(Round(workspace_id=ws, team_id=team.id, kind=kind, channel_id="C1", opened_by="U0ADA"))
        s.add(
            Round(
                workspace_id=ws,
                team_id=team.id,
                kind=RoundKind.TRIAGE,
                channel_id="C1",
                opened_by="U0ADA",
                state=RoundState.CLOSED,
            )
        )
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(Round(workspace_id=ws, team_id=team.id, kind=RoundKind.TRIAGE, channel_id="C1", opened_by="U0BEN"))


def test_one_checkin_per_key_result_per_week(db):
    with db.transaction() as s:
        kr = factories.key_result(s, factories.team(s, factories.workspace(s)))
        week = date(2026, 11, 23)
        s.add(_checkin(kr, week, value=22))
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(_checkin(kr, week, value=23))


def _checkin(kr, week: date, *, value: float) -> CheckIn:
    return CheckIn(
        workspace_id=kr.workspace_id,
        key_result_id=kr.id,
        week_start=week,
        value=value,
        confidence=7,
        author_user_id="U0BEN",
    )


def test_a_row_cannot_point_into_another_workspace(db):
    """Composite foreign keys: a key result of workspace A cannot hang under an objective of B."""
    with db.transaction() as s:
        team_a = factories.team(s, factories.workspace(s))
        other = factories.workspace(s)
    with pytest.raises(IntegrityError), db.transaction() as s:
        factories.key_result(s, team_a, workspace_id=other.id)


def test_one_team_per_channel_and_unique_names_per_workspace(db):
    with db.transaction() as s:
        ws = factories.workspace(s)
        factories.team(s, ws, name="Rockets", channel_id="C0ROCKET")
        factories.team(s, factories.workspace(s), name="Rockets", channel_id="C0ROCKET")  # another workspace
    with pytest.raises(IntegrityError), db.transaction() as s:
        factories.team(s, s.get(Workspace, ws.id), name="Other", channel_id="C0ROCKET")
    with pytest.raises(IntegrityError), db.transaction() as s:
        factories.team(s, s.get(Workspace, ws.id), name="Rockets", channel_id="C0OTHER")


def test_purging_a_workspace_deletes_everything_it_owns(db):
    with db.transaction() as s:
        ws = factories.workspace(s, slack_team_id="T0GONE")
        factories.key_result(s, factories.team(s, ws))
        kept = factories.team(s, factories.workspace(s))
    from bot.rituals.workspaces import purge_workspace

    with db.transaction() as s:
        assert purge_workspace(s, slack_team_id="T0GONE") is True
    with db.transaction() as s:
        assert [t.id for t in s.scalars(select(Team))] == [kept.id]


@pytest.mark.parametrize("attempts", [8])
def test_first_delivery_has_exactly_one_winner_under_concurrency(db, attempts):
    """Eight threads deliver the same event_id at once; one effect commits, the others see a repeat."""
    with db.transaction() as s:
        ws_id = factories.workspace(s).id

    def deliver() -> bool:
        with db.transaction() as session:
            return first_delivery(session, workspace_id=ws_id, event_id="Ev0SAME", event_type="test", now=NOW)

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        results = list(pool.map(lambda _i: deliver(), range(attempts)))
    assert results.count(True) == 1
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


def test_a_rolled_back_effect_does_not_swallow_the_retry(db):
    with db.transaction() as s:
        ws_id = factories.workspace(s).id
    with pytest.raises(RuntimeError), db.transaction() as s:
        assert first_delivery(s, workspace_id=ws_id, event_id="Ev0CRASH", event_type="test", now=NOW)
        raise RuntimeError("the effect failed half-way")
    with db.transaction() as s:
        assert first_delivery(s, workspace_id=ws_id, event_id="Ev0CRASH", event_type="test", now=NOW)
