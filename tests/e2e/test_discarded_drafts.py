"""A discarded draft "is kept in the history": `/okr history N` lists the drafts discarded during cycle N (who
discarded each, when, its title and its key results' metrics), and `/okr export N` has them in its JSON.

Drafts are written, shared and discarded through the modal and the shared message's buttons, as people do it;
time is frozen (and ticking) so the discards fall in two cycles of team Rockets (created 3 March 2027).
"""

from __future__ import annotations

import pytest
from freezegun import freeze_time

from tests.e2e.okr_support import commit
from tests.e2e.support import create_team, join_team, okr, row_counts, shown, wait_until
from tests.e2e.test_drafting import full_draft, press, share
from tests.e2e.test_export import exported

FIRST_KR = "Teams active after their first week"
SECOND_KR = "Median minutes to the first check-in"


def discard(driver, slack, message: dict, *, user: str) -> None:
    press(driver, slack, message, "draft_discard", user=user)
    wait_until(lambda: "Discarded by" in shown(slack.message("C0ROCKET", message["ts"])))


@pytest.fixture
def two_cycles_of_discards(driver, slack, db):
    with freeze_time("2027-03-03 12:00:00", tick=True) as clock:
        create_team(driver, slack, "Rockets", user="U0ADA", channel="C0ROCKET")  # Ada facilitates
        join_team(driver, slack, user="U0BEN", channel="C0ROCKET")
        commit(db, title="Activation first")
        full_draft(driver, slack, user="U0BEN", title="Fewer support tickets")
        discard(driver, slack, share(driver, slack, user="U0BEN"), user="U0ADA")  # a facilitator discards Ben's
        clock.move_to("2027-03-05 09:00:00")
        full_draft(driver, slack, user="U0ADA", title="Docs people read")
        discard(driver, slack, share(driver, slack, user="U0ADA"), user="U0ADA")
        clock.move_to("2027-06-10 12:00:00")  # cycle 2: 2 Jun – 31 Aug 2027
        full_draft(driver, slack, user="U0BEN", title="Second cycle idea")
        discard(driver, slack, share(driver, slack, user="U0BEN"), user="U0BEN")
        yield clock


def test_history_lists_the_drafts_discarded_in_the_cycle(driver, slack, db, two_cycles_of_discards):
    before = row_counts(db)
    first = okr(driver, slack, "history 1", user="U0BEN").text

    assert "*O1 · Activation first*" in first  # the committed objective, as before
    section = first[first.index("*Drafts discarded in cycle 1*") :]
    fewer, docs = section.splitlines()[1:5:2]
    assert fewer == "• *Fewer support tickets* · discarded by <@U0ADA> on 2027-03-03 · drafted by <@U0BEN>"
    assert docs == "• *Docs people read* · discarded by <@U0ADA> on 2027-03-05"  # her own: no "drafted by"
    assert section.splitlines()[2].strip() == f"Key results: {FIRST_KR} · {SECOND_KR}"
    assert "Second cycle idea" not in first

    second = okr(driver, slack, "history 2", user="U0ADA").text
    assert "No objective has been committed in cycle 2 yet. `/okr draft` starts one." in second
    assert "no history to show" not in second
    assert "• *Second cycle idea* · discarded by <@U0BEN> on 2027-06-10" in second
    assert "Fewer support tickets" not in second and "Docs people read" not in second
    assert row_counts(db) == before  # reading writes nothing


def test_the_export_has_the_drafts_discarded_in_the_cycle(driver, slack, db, two_cycles_of_discards):
    okr(driver, slack, "export 1", user="U0BEN")
    _, data, rows = exported(slack, "U0BEN")

    fewer, docs = data["discarded_drafts"]
    assert fewer == {
        "title": "Fewer support tickets",
        "why": "Half of new teams leave in week one",
        "key_results": [
            {
                "metric": FIRST_KR,
                "unit": "%",
                "baseline": "40",
                "target": "65",
                "direction": "increase",
                "owner": "U0BEN",
            },
            {
                "metric": SECOND_KR,
                "unit": "min",
                "baseline": "300",
                "target": "30",
                "direction": "decrease",
                "owner": "U0CLEO",
            },
        ],
        "author": "U0BEN",
        "discarded_by": "U0ADA",
        "discarded_at": fewer["discarded_at"],
    }
    assert fewer["discarded_at"].startswith("2027-03-03T12:") and docs["discarded_at"].startswith("2027-03-05T09:")
    assert (docs["title"], docs["author"], docs["discarded_by"]) == ("Docs people read", "U0ADA", "U0ADA")
    assert {r["objective title"] for r in rows} == {"Activation first"}  # the CSV stays one row per key result

    okr(driver, slack, "export 2", user="U0BEN")
    _, data, _ = exported(slack, "U0BEN", count=4)
    assert [d["title"] for d in data["discarded_drafts"]] == ["Second cycle idea"]
