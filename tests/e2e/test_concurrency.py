"""Many people acting at once get clear answers, and the database keeps the rules."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from storage.models import Membership, Team
from tests.helpers import flatten

PEOPLE = 8


def _answers(slack, count: int) -> list[str]:
    slack.wait_for_response(count=count, timeout=20)
    return [flatten(r["body"]) for r in slack.responses]


def _add_people(slack) -> list[str]:
    users = [f"U0P{i:02d}" for i in range(PEOPLE)]
    for user in users:
        slack.add_user(user, user.lower())
    return users


def test_simultaneous_creates_in_one_channel_make_one_team(driver, slack, db):
    users = _add_people(slack)
    with ThreadPoolExecutor(PEOPLE) as pool:
        list(
            pool.map(
                lambda i: driver.command(f"team create Team {i}", user=users[i], channel="C0ROCKET"), range(PEOPLE)
            )
        )
    answers = _answers(slack, PEOPLE)
    assert sum("created the team" in a for a in answers) == 1
    assert not any("went wrong" in a for a in answers), answers
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Team)) == 1
        assert s.scalar(select(func.count()).select_from(Membership)) == 1


def test_simultaneous_joins_by_one_person_make_one_membership(driver, slack, db):
    driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    slack.wait_for_response()
    with ThreadPoolExecutor(PEOPLE) as pool:
        list(pool.map(lambda _i: driver.command("team join", user="U0BEN", channel="C0ROCKET"), range(PEOPLE)))
    answers = _answers(slack, PEOPLE + 1)[1:]
    assert sum("joined the team" in a for a in answers) == 1
    assert sum("already a member" in a for a in answers) == PEOPLE - 1
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Membership)) == 2


def test_two_facilitators_leaving_at_once_leave_one_behind(driver, slack, db):
    driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    slack.wait_for_response()
    driver.command("team join", user="U0BEN", channel="C0ROCKET")
    driver.command("team join", user="U0CLEO", channel="C0ROCKET")
    slack.wait_for_response(count=3)
    driver.command("team settings hour=9", user="U0ADA", channel="C0ROCKET")  # a write, so the team is settled
    slack.wait_for_response(count=4)
    with db.transaction() as s:
        for member in s.scalars(select(Membership).where(Membership.user_id.in_(["U0ADA", "U0BEN"]))):
            member.role = member.role.FACILITATOR
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda u: driver.command("team leave", user=u, channel="C0ROCKET"), ["U0ADA", "U0BEN"]))
    answers = _answers(slack, 6)[4:]
    assert sum("You left" in a for a in answers) == 1
    assert sum("only facilitator" in a for a in answers) == 1
    with db.transaction() as s:
        roles = {m.user_id: m.role.value for m in s.scalars(select(Membership))}
    assert list(roles.values()).count("facilitator") == 1
