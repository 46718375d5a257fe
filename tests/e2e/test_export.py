"""`/okr export N`: one cycle as a CSV (one row per key result) and a JSON document (everything), uploaded to
the person who asked, in their DM with the bot. The files are read back from the fake Slack's uploads."""

from __future__ import annotations

import csv
import io
import json

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from bot.rituals import drafts
from bot.rituals.export import read_cycle
from storage.models import KeyResult
from tests import factories
from tests.e2e.okr_support import commit, rockets
from tests.e2e.support import assert_clean_error, create_team, okr, row_counts
from tests.e2e.test_history import three_cycles
from tests.helpers import StatementCounter

CSV_HEADER = [
    "objective",
    "objective title",
    "objective state",
    "key result",
    "metric",
    "unit",
    "direction",
    "start",
    "target",
    "current",
    "score",
    "confidence",
    "owner",
    "key result state",
    "check-ins",
]


def exported(slack, user: str, *, count: int = 2) -> tuple[list[dict], dict, list[dict]]:
    """The files uploaded to `user`'s DM: (their uploads, the JSON, the CSV rows as dicts)."""
    dm = slack.dm_channel_id(user)
    uploads = [u for u in slack.uploads if u["channel_id"] == dm]
    assert len(uploads) == count, uploads
    by_type = {u["filename"].rsplit(".", 1)[1]: u for u in uploads[-2:]}
    text = by_type["csv"]["content"].decode("utf-8-sig")
    assert text.splitlines()[0].split(",") == CSV_HEADER
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return uploads, json.loads(by_type["json"]["content"].decode("utf-8")), rows


def test_export_of_a_past_cycle_sends_a_csv_and_a_json_to_the_callers_dm(driver, slack, db):
    slack.add_user("U0DEV", "dev", real_name="Dev Outsider", tz="Europe/Paris")  # not in the team: OKRs are public
    with freeze_time("2026-03-02 12:00:00", tick=True) as clock:
        ids = three_cycles(driver, slack, db, clock)
        before = row_counts(db)

        reply = okr(driver, slack, "export 1", user="U0DEV")

    assert reply.ephemeral
    assert_clean_error(
        reply,
        "I sent you cycle 1 of *Rockets* (2 Mar – 31 May 2026) in your DM with me",
        "`okrs-rockets-cycle-1.csv`",
        "`okrs-rockets-cycle-1.json`",
    )
    uploads, data, rows = exported(slack, "U0DEV")
    assert [u["filename"] for u in uploads] == ["okrs-rockets-cycle-1.csv", "okrs-rockets-cycle-1.json"]
    assert "cycle 1 of *Rockets*" in uploads[0]["initial_comment"]
    assert slack.messages(slack.dm_channel_id("U0DEV"))[-1]["text"] == uploads[0]["initial_comment"]
    assert not any(u["channel_id"] == "C0ROCKET" for u in slack.uploads)  # nothing in the team's channel

    # the CSV: one row per key result, the dropped objective's too
    assert [(r["objective"], r["key result"], r["objective state"]) for r in rows] == [
        ("O1", "KR 1.1", "committed"),
        ("O1", "KR 1.2", "committed"),
        ("O2", "KR 2.1", "dropped"),
        ("O2", "KR 2.2", "dropped"),
    ]
    assert rows[0] == {
        "objective": "O1",
        "objective title": "Cycle one: activation",
        "objective state": "committed",
        "key result": "KR 1.1",
        "metric": "Teams active after their first week",
        "unit": "%",
        "direction": "increase",
        "start": "20",
        "target": "35",
        "current": "29",
        "score": "0.6",
        "confidence": "8",
        "owner": "U0BEN",
        "key result state": "active",
        "check-ins": "2",
    }
    assert (rows[1]["direction"], rows[1]["current"], rows[1]["score"], rows[1]["check-ins"]) == (
        "decrease",
        "20",
        "0.5",
        "1",
    )
    assert (rows[2]["current"], rows[2]["score"], rows[2]["confidence"], rows[2]["check-ins"]) == ("20", "0", "", "0")

    # the JSON: the whole cycle
    assert data["format"] == "okr-bot cycle export" and data["format_version"] == 1
    assert data["team"] == {"name": "Rockets", "channel": "C0ROCKET", "timezone": "UTC"}
    assert data["cycle"] == {
        "number": 1,
        "starts_on": "2026-03-02",
        "last_day": "2026-05-31",
        "state": "active",
        "current": False,
        "closed_at": None,
        "average_score": 0.55,
    }
    first, gone = data["objectives"]
    assert (first["number"], first["title"], first["state"], first["score"]) == (
        1,
        "Cycle one: activation",
        "committed",
        0.55,
    )
    assert [v["change"] for v in first["versions"]] == ["committed"]
    assert first["versions"][0]["by"] == "U0ADA" and first["versions"][0]["at"].startswith("2026-03-02T12:")
    ben, cleo = first["key_results"]
    assert {k: ben[k] for k in ("label", "metric", "unit", "start", "target", "current", "score", "confidence")} == {
        "label": "KR 1.1",
        "metric": "Teams active after their first week",
        "unit": "%",
        "start": 20,
        "target": 35,
        "current": 29,
        "score": 0.6,
        "confidence": 8,
    }
    assert [{k: c[k] for k in ("week", "value", "confidence", "note", "by")} for c in ben["checkins"]] == [
        {"week": "2026-03-09", "value": 26, "confidence": 7, "note": "First cohort", "by": "U0BEN"},
        {"week": "2026-03-16", "value": 29, "confidence": 8, "note": None, "by": "U0BEN"},
    ]
    assert ben["checkins"][0]["at"].startswith("2026-03-10T12:")
    assert [c["value"] for c in cleo["checkins"]] == [20] and cleo["direction"] == "decrease"
    assert gone["state"] == "dropped" and [v["change"] for v in gone["versions"]] == ["committed", "dropped"]
    dropped = gone["versions"][1]
    assert dropped["reason"] == "Nobody asked for it" and dropped["by"] == "U0ADA"
    assert {"subject": "O2", "field": "state", "before": "committed", "after": "dropped"} in dropped["changes"]
    assert dropped["snapshot"]["state"] == "dropped"
    assert "Cycle two" not in json.dumps(data) and ids["second"]
    assert row_counts(db) == before  # exporting writes nothing


def test_export_without_a_number_is_todays_cycle(driver, slack, db):
    with freeze_time("2026-03-02 12:00:00", tick=True) as clock:
        three_cycles(driver, slack, db, clock)

        reply = okr(driver, slack, "export", user="U0BEN")

    assert "cycle 4 of *Rockets* (30 Nov 2026 – 28 Feb 2027)" in reply.text
    uploads, data, rows = exported(slack, "U0BEN")
    assert [u["filename"] for u in uploads] == ["okrs-rockets-cycle-4.csv", "okrs-rockets-cycle-4.json"]
    assert data["cycle"]["number"] == 4 and data["cycle"]["current"] is True
    assert data["cycle"]["last_day"] == "2027-02-28"
    assert [o["title"] for o in data["objectives"]] == ["Cycle four: revenue"]
    assert {r["objective title"] for r in rows} == {"Cycle four: revenue"}


def test_export_of_a_cycle_without_objectives(driver, slack, db):
    rockets(driver, slack)
    before = row_counts(db)

    reply = okr(driver, slack, "export 1")

    assert "I sent you cycle 1 of *Rockets*" in reply.text
    _, data, rows = exported(slack, "U0ADA")
    assert rows == []  # the header alone
    assert data["objectives"] == []
    assert data["cycle"]["state"] == "drafting" and data["cycle"]["current"] is True
    assert data["cycle"]["average_score"] is None
    assert row_counts(db) == before  # no cycle is opened by reading it


def test_csv_cells_a_spreadsheet_would_run_are_neutralised_and_the_json_keeps_them(driver, slack, db):
    create_team(driver, slack, "Équipe Fusée 🚀", channel="C0ROCKET")
    formulas = [
        {
            "metric": '=HYPERLINK("http://evil.example","click")',
            "unit": "@SUM(A1)",
            "baseline": -5,
            "target": 5,
            "owner": "U0BEN",
        },
        {"metric": '+1 signups, "quoted"\nand a second line', "unit": "-%", "baseline": 0, "target": 10},
        {"metric": "\tTabbed", "unit": "€", "baseline": 1, "target": 2},
    ]
    commit(db, "Équipe Fusée 🚀", title="-2+3 cmd|' /C calc'!A0", why="@why", key_results=formulas)

    okr(driver, slack, "export")

    uploads, data, rows = exported(slack, "U0ADA")
    assert [u["filename"] for u in uploads] == ["okrs-equipe-fusee-cycle-1.csv", "okrs-equipe-fusee-cycle-1.json"]
    assert [r["objective title"] for r in rows] == ["'-2+3 cmd|' /C calc'!A0"] * 3
    assert [r["metric"] for r in rows] == [
        '\'=HYPERLINK("http://evil.example","click")',
        '\'+1 signups, "quoted"\nand a second line',
        "'\tTabbed",
    ]
    assert [r["unit"] for r in rows] == ["'@SUM(A1)", "'-%", "€"]
    assert rows[0]["start"] == "-5"  # a number the bot stored, not text: a real negative number
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            assert not cell.startswith("-") or cell == "-5", row
    # the JSON is data, not a spreadsheet: it keeps what was typed, unescaped (ensure_ascii=False)
    raw = uploads[1]["content"].decode("utf-8")
    assert '"name": "Équipe Fusée 🚀"' in raw and "\\u" not in raw
    assert data["objectives"][0]["title"] == "-2+3 cmd|' /C calc'!A0" and data["objectives"][0]["why"] == "@why"
    assert [k["metric"] for k in data["objectives"][0]["key_results"]] == [f["metric"] for f in formulas]
    assert [k["unit"] for k in data["objectives"][0]["key_results"]] == ["@SUM(A1)", "-%", "€"]


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("export abc", ("`abc` is not a cycle number", "Usage: `/okr export [N]`")),
        ("export 1 2", ("`1 2` is not a cycle number",)),
        ("export 7", ("*Rockets* has no cycle 7.", "Its cycles: 1 (cycle 1 is the current one)")),
        ("export 99999999999", ("*Rockets* has no cycle 99999999999.",)),
        ("export " + "9" * 3990, ("has no cycle 9999999999999999999…",)),
        ("export " + "=1+1" * 900, ("is not a cycle number",)),
    ],
)
def test_bad_input_gets_a_readable_answer_uploads_nothing_and_writes_nothing(driver, slack, db, text, needles):
    rockets(driver, slack)
    commit(db, title="Current")
    before = row_counts(db)

    reply = okr(driver, slack, text)

    assert_clean_error(reply, *needles)
    assert slack.uploads == [] and slack.calls_to("conversations.open") == []
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("conversations.open", "user_not_found"),
        ("files.getUploadURLExternal", "missing_scope"),
        ("files.completeUploadExternal", "messages_tab_disabled"),
    ],
)
def test_when_slack_refuses_the_files_the_person_is_told(driver, slack, db, method, error):
    rockets(driver, slack)
    commit(db, title="Current")
    slack.fail_next(method, error)

    reply = okr(driver, slack, "export")

    assert_clean_error(reply, "Slack did not let me send you cycle 1 of *Rockets*", f"(`{error}`)")
    assert "I sent you" not in reply.text
    assert slack.uploads == []


def test_reading_a_cycle_for_export_takes_seven_queries_however_big_it_is(db):
    five = [{"metric": f"metric {n}", "baseline": 0, "target": 10, "owner": "U0BEN"} for n in range(5)]
    counts = {}
    for objectives in (1, 4):
        with db.transaction() as session:
            team = factories.team(session, factories.workspace(session))
            factories.member(session, team, "U0BEN")
            for _ in range(objectives):
                factories.committed_objective(session, team, key_results=five)
                draft = drafts.start_draft(session, team=team, user_id="U0BEN", title="Not now", now=factories.NOW)
                drafts.discard_draft(session, draft=draft, team=team, user_id="U0BEN", now=factories.NOW)
            for kr in session.scalars(select(KeyResult).where(KeyResult.workspace_id == team.workspace_id)):
                for week in range(3):
                    factories.checkin(
                        session, kr, week_start=factories.NOW.date().replace(day=23 + week), value=week, confidence=5
                    )
        with db.read() as session, StatementCounter(db.engine) as counter:
            found = read_cycle(session, team=team, number=None, now=factories.NOW)
        assert len(found.objectives) == objectives and len(found.discarded) == objectives
        assert all(len(k.checkins) == 3 for _, k in found.key_results)
        counts[objectives] = len(counter.queries)

    # the team's cycles, objectives, versions, key results, check-ins, retro, discarded drafts
    assert counts == {1: 7, 4: 7}
