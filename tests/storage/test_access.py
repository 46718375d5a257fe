"""The authorization seam, once per role (bot/rituals/access.py): who holds it, who does not, and the one sentence a
refused person reads. The commands that use each role are tested end to end in tests/e2e/test_boundaries.py."""

from __future__ import annotations

import pytest

from bot.errors import NotAllowed
from bot.rituals.access import Actor, Need, allowed, refusal, require
from storage.models import Role, TeamLeader
from tests import factories
from tests.factories import NOW

# the people of the world below
FACILITATOR, MEMBER, OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER, ADMIN = (
    "U0FAC",
    "U0MEM",
    "U0OTH",
    "U0LEAD",
    "U0OUT",
    "U0ADM",
)
AUTHOR = MEMBER


@pytest.fixture
def world(db):
    """Rockets (a facilitator and a member), Growth (another facilitator), and a leader Rockets named; in a second
    workspace, a team whose facilitator has the same Slack id as Rockets' member (ids are per workspace)."""
    with db.transaction() as session:
        ws = factories.workspace(session)
        rockets = factories.team(session, ws, name="Rockets")
        growth = factories.team(session, ws, name="Growth")
        factories.member(session, rockets, FACILITATOR, role=Role.FACILITATOR)
        factories.member(session, rockets, MEMBER)
        factories.member(session, growth, OTHER_TEAMS_FACILITATOR, role=Role.FACILITATOR)
        session.add(
            TeamLeader(workspace_id=ws.id, team_id=rockets.id, user_id=LEADER, named_by=FACILITATOR, created_at=NOW)
        )
        elsewhere = factories.team(session, factories.workspace(session), name="Elsewhere")
        factories.member(session, elsewhere, MEMBER, role=Role.FACILITATOR)
        session.expunge_all()
    return ws.id, rockets, growth


# role -> (people who hold it, people who do not); everyone is asked with Slack's answer "not an admin" but ADMIN
CASES = {
    Need.MEMBER: ({FACILITATOR, MEMBER}, {OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER, ADMIN}),
    Need.FACILITATOR: ({FACILITATOR}, {MEMBER, OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER, ADMIN}),
    Need.MEMBER_OF_EITHER: ({FACILITATOR, MEMBER, OTHER_TEAMS_FACILITATOR}, {LEADER, OUTSIDER, ADMIN}),
    Need.AUTHOR: ({AUTHOR}, {FACILITATOR, OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER, ADMIN}),
    Need.AUTHOR_OR_FACILITATOR: ({AUTHOR, FACILITATOR}, {OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER, ADMIN}),
    Need.OWNER_OR_FACILITATOR: ({MEMBER, FACILITATOR}, {OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER, ADMIN}),
    Need.AUTHOR_OR_ADMIN: ({AUTHOR, ADMIN}, {FACILITATOR, OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER}),
    Need.LEADER: ({LEADER, ADMIN}, {FACILITATOR, MEMBER, OTHER_TEAMS_FACILITATOR, OUTSIDER}),
    Need.LEADER_OR_FACILITATOR: ({LEADER, ADMIN, FACILITATOR, OTHER_TEAMS_FACILITATOR}, {MEMBER, OUTSIDER}),
    Need.ADMIN: ({ADMIN}, {FACILITATOR, MEMBER, OTHER_TEAMS_FACILITATOR, LEADER, OUTSIDER, AUTHOR}),
}

SENTENCES = {
    Need.MEMBER: "Only a member of *Rockets* can close it.",
    Need.FACILITATOR: "Only a facilitator of *Rockets* can close it.",
    Need.MEMBER_OF_EITHER: "Only members of *Rockets* or *Growth* can close it.",
    Need.AUTHOR: "Only <@U0MEM>, who wrote it, can close it.",
    Need.AUTHOR_OR_FACILITATOR: "Only <@U0MEM>, who wrote it, or a facilitator can close it.",
    Need.OWNER_OR_FACILITATOR: "Only the key result's owner (<@U0MEM>) or a facilitator of *Rockets* can close it.",
    Need.AUTHOR_OR_ADMIN: "Only its author or a workspace admin can close it.",
    Need.LEADER: "Only leaders can close it: workspace admins, or people a team names as leaders in "
    "`/okr team settings`.",
    Need.LEADER_OR_FACILITATOR: "Only workspace admins, leaders and team facilitators can close it.",
    Need.ADMIN: "Only workspace admins can close it.",
}


def _teams(need: Need, rockets, growth):
    return [rockets, growth] if need is Need.MEMBER_OF_EITHER else [rockets]


def test_every_role_is_tested():
    assert set(CASES) == set(Need) == set(SENTENCES)


@pytest.mark.parametrize("need", list(Need), ids=lambda need: need.name)
def test_a_role_is_held_by_exactly_the_people_it_names(db, world, need):
    workspace_id, rockets, growth = world
    holders, others = CASES[need]
    with db.read() as session:
        for user_id in holders | others:
            actor = Actor(workspace_id, user_id, is_admin=user_id == ADMIN)
            held = allowed(session, need, actor, teams=_teams(need, rockets, growth), author=AUTHOR, owner=MEMBER)
            assert held is (user_id in holders), (need, user_id)


@pytest.mark.parametrize("need", list(Need), ids=lambda need: need.name)
def test_a_refusal_reads_the_roles_one_sentence_and_says_what_was_tried(db, world, need):
    workspace_id, rockets, growth = world
    teams = _teams(need, rockets, growth)
    with db.read() as session, pytest.raises(NotAllowed) as refused:
        require(
            session,
            need,
            Actor(workspace_id, OUTSIDER, is_admin=False),
            teams=teams,
            author=AUTHOR,
            owner=MEMBER,
            doing="close it",
        )
    expected = SENTENCES[need]
    if need is Need.FACILITATOR:  # someone outside the team is told how to join it
        expected = "You are not a member of *Rockets*. Join it with `/okr team join Rockets`."
    assert refused.value.message == expected
    assert refusal(need, teams=teams, author=AUTHOR, owner=MEMBER, doing="close it") == SENTENCES[need]


def test_without_what_was_tried_a_member_refusal_says_how_to_join(db, world):
    workspace_id, rockets, _ = world
    with db.read() as session, pytest.raises(NotAllowed) as refused:
        require(session, Need.MEMBER, Actor(workspace_id, OUTSIDER), teams=[rockets])
    assert refused.value.message == "You are not a member of *Rockets*. Join it with `/okr team join Rockets`."


def test_a_member_who_is_not_the_facilitator_is_told_so_and_not_how_to_join(db, world):
    workspace_id, rockets, _ = world
    with db.read() as session, pytest.raises(NotAllowed) as refused:
        require(session, Need.FACILITATOR, Actor(workspace_id, MEMBER), teams=[rockets])
    assert refused.value.message == "Only a facilitator of *Rockets* can do that."


def test_a_key_result_without_an_owner_is_for_facilitators_and_says_so(db, world):
    workspace_id, rockets, _ = world
    with db.read() as session, pytest.raises(NotAllowed) as refused:
        require(
            session,
            Need.OWNER_OR_FACILITATOR,
            Actor(workspace_id, MEMBER),
            teams=[rockets],
            owner=None,
            doing="check it in",
        )
    assert refused.value.message == "That key result has no owner, so only a facilitator of *Rockets* can check it in."


def test_membership_of_another_workspace_counts_for_nothing(db, world):
    """The same Slack user id facilitates a team of another workspace: no role here follows from it."""
    workspace_id, rockets, _ = world
    with db.read() as session:
        assert not allowed(session, Need.LEADER_OR_FACILITATOR, Actor(workspace_id, MEMBER, is_admin=False))
        assert allowed(session, Need.MEMBER, Actor(workspace_id, MEMBER), teams=[rockets])


def test_a_role_that_needs_slacks_word_on_admins_refuses_to_guess(db, world):
    """A listener that did not ask Slack whether the person is an admin gets a loud error, not a silent "no"."""
    workspace_id, _, _ = world
    with db.read() as session, pytest.raises(RuntimeError, match="ask Slack first"):
        allowed(session, Need.LEADER, Actor(workspace_id, OUTSIDER))
