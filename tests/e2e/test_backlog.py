"""Capturing backlog items and browsing the backlog, end to end: `/okr backlog …`, `/okr idea`, CSV files shared in
the channel, and the "Add to OKR backlog" message shortcut.

Team Rockets lives in #team-rocket: Ada created it, Ben joined; Cleo is not a member.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from storage.models import BacklogItem, EventLog, ItemState
from tests.e2e.okr_support import commit, key_results, rockets
from tests.e2e.support import (
    assert_clean_error,
    create_team,
    join_team,
    okr,
    row_counts,
    shown,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("bot")


def items(db) -> list[BacklogItem]:
    with db.read() as session:
        return list(session.scalars(select(BacklogItem).order_by(BacklogItem.team_id, BacklogItem.number)))


def captured(db) -> list[EventLog]:
    with db.read() as session:
        query = select(EventLog).where(EventLog.entity == "backlog_item", EventLog.action == "captured")
        return list(session.scalars(query.order_by(EventLog.id)))


def set_state(db, number: int, state: ItemState, *, key_result_id: int | None = None) -> None:
    with db.transaction() as session:
        session.execute(
            update(BacklogItem).where(BacklogItem.number == number).values(state=state, key_result_id=key_result_id)
        )


def blocks_of(reply) -> list[dict]:
    return reply.body.get("blocks") or []


# /okr backlog add -------------------------------------------------------------------------------------------------


def test_each_line_is_an_item_with_its_number_and_duplicates_are_named(driver, slack, db):
    rockets(driver, slack)

    reply = okr(
        driver,
        slack,
        "backlog add - Shorter sign-up form\n* Weekly onboarding email\n\n"
        "1. Fix login on Safari\n• shorter  SIGN-UP form",
        user="U0BEN",
    )

    assert reply.ephemeral
    assert "Added 3 items to the inbox of *Rockets*" in reply.text
    assert "#1* Shorter sign-up form" in reply.text and "#3* Fix login on Safari" in reply.text
    assert "not added again" in reply.text and "*#1* shorter SIGN-UP form" in reply.text
    assert "/okr triage start" in reply.text
    assert [(i.number, i.text, i.state, i.created_by) for i in items(db)] == [
        (1, "Shorter sign-up form", ItemState.INBOX, "U0BEN"),
        (2, "Weekly onboarding email", ItemState.INBOX, "U0BEN"),
        (3, "Fix login on Safari", ItemState.INBOX, "U0BEN"),
    ]
    logged = captured(db)
    assert [(e.entity_id, e.actor_user_id, e.data["number"], e.data["via"]) for e in logged] == [
        (items(db)[n].id, "U0BEN", n + 1, "command") for n in range(3)
    ]

    again = okr(driver, slack, "backlog add Fix login on safari\nDark mode", user="U0ADA")

    assert "Added to the inbox of *Rockets*" in again.text and "#4* Dark mode" in again.text
    assert "*#3* Fix login on safari" in again.text
    assert len(items(db)) == 4 and len(captured(db)) == 4


def test_only_duplicates_add_nothing_and_say_where_they_are(driver, slack, db):
    rockets(driver, slack)
    okr(driver, slack, "backlog add Dark mode", user="U0BEN")
    before = row_counts(db)

    reply = okr(driver, slack, "backlog add dark MODE", user="U0BEN")

    assert "Nothing new was added to the backlog of *Rockets*" in reply.text
    assert "already in the backlog" in reply.text and "*#1* dark MODE" in reply.text
    assert row_counts(db) == before


def test_many_lines_are_summed_up_not_listed(driver, slack, db):
    rockets(driver, slack)
    lines = "\n".join(f"Item {n}" for n in range(1, 201))

    reply = okr(driver, slack, f"backlog add {lines}", user="U0BEN")

    assert "Added 200 items to the inbox of *Rockets*: *#1* to *#200*." in reply.text
    assert "Item 57" not in reply.text
    assert len(items(db)) == 200 and len(captured(db)) == 200


@pytest.mark.parametrize(
    ("typed", "needles"),
    [
        ("backlog add Fine\n" + "x" * 1001, ("Nothing was added", "Line 2", "1,001 characters", "1,000")),
        ("backlog add Fine\nBell \x07 here", ("control character", "U+0007")),
        ("backlog add Fine\nHidden\u202eReversed", ("invisible", "U+202E")),
        ("backlog add " + "y" * 4000, ("4,000",)),
        ("backlog add", ("after `add`", "one per line")),
        ("backlog add \n - \n * ", ("There is no item",)),
    ],
    ids=["too-long", "control", "bidi", "over-command-limit", "nothing", "only-markers"],
)
def test_hostile_or_empty_input_gets_a_clear_message_and_writes_nothing(driver, slack, db, typed, needles):
    rockets(driver, slack)
    before = row_counts(db)

    reply = okr(driver, slack, typed, user="U0BEN")

    assert_clean_error(reply, *needles)
    assert row_counts(db) == before


def test_non_members_cannot_add_and_a_channel_without_team_adds_to_the_only_team(driver, slack, db):
    rockets(driver, slack)
    before = row_counts(db)

    refused = okr(driver, slack, "backlog add Dark mode", user="U0CLEO")

    assert_clean_error(refused, "not a member of *Rockets*", "/okr team join Rockets")
    assert row_counts(db) == before

    elsewhere = okr(driver, slack, "backlog add Dark mode", user="U0BEN", channel="C0GENERAL")

    assert "Added to the inbox of *Rockets*" in elsewhere.text
    assert [i.text for i in items(db)] == ["Dark mode"]


def test_someone_in_two_teams_picks_one_in_a_channel_without_team(driver, slack, db):
    rockets(driver, slack)
    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")

    reply = okr(driver, slack, "backlog add Dark mode", user="U0BEN", channel="C0GENERAL")

    assert "Which team is" in reply.text
    assert items(db) == []


# /okr idea --------------------------------------------------------------------------------------------------------


def test_an_idea_with_a_key_result_goes_straight_to_the_product_backlog(driver, slack, db):
    rockets(driver, slack)
    objective_id = commit(db)
    second = key_results(db, objective_id)[1]

    reply = okr(driver, slack, "idea Weekly onboarding email KR 1.2", user="U0BEN")

    assert "the product backlog of *Rockets* under *KR 1.2* Median minutes to first dashboard" in reply.text
    assert "#1* Weekly onboarding email · KR 1.2" in reply.text
    assert "/okr sprint start" in reply.text
    [item] = items(db)
    assert (item.text, item.state, item.key_result_id) == ("Weekly onboarding email", ItemState.PRODUCT, second.id)
    [event] = captured(db)
    assert event.data == {"number": 1, "via": "idea", "state": "product", "key_result": "1.2"}


def test_an_idea_without_a_key_result_goes_to_the_inbox_and_says_how_to_name_one(driver, slack, db):
    rockets(driver, slack)
    commit(db)

    reply = okr(driver, slack, "idea Weekly onboarding email", user="U0BEN")

    assert "Added to the inbox of *Rockets*" in reply.text
    assert "No key result was named" in reply.text and "`/okr idea TEXT 1.1`" in reply.text
    assert "*KR 1.1* Teams active after their first week" in reply.text and "*KR 1.2*" in reply.text
    assert [(i.state, i.key_result_id) for i in items(db)] == [(ItemState.INBOX, None)]
    assert captured(db)[0].data["via"] == "idea"


def test_an_idea_naming_no_live_key_result_writes_nothing(driver, slack, db):
    rockets(driver, slack)
    commit(db)
    before = row_counts(db)

    reply = okr(driver, slack, "idea Upgrade to Python 3.12", user="U0BEN")

    assert_clean_error(reply, "no live key result 3.12", "1.1, 1.2", "part of the idea itself", "/okr idea TEXT [KR]")
    assert row_counts(db) == before
    assert_clean_error(okr(driver, slack, "idea", user="U0BEN"), "Type the idea")
    assert_clean_error(okr(driver, slack, "idea Dark mode", user="U0CLEO"), "not a member")
    assert row_counts(db) == before


def test_an_idea_before_any_okrs_goes_to_the_inbox(driver, slack, db):
    rockets(driver, slack)

    reply = okr(driver, slack, "idea Dark mode", user="U0BEN")

    assert "Added to the inbox of *Rockets*" in reply.text and "no live key results" in reply.text


# browsing -----------------------------------------------------------------------------------------------------------


def test_the_backlog_shows_counts_by_state_and_by_key_result(driver, slack, db):
    rockets(driver, slack)
    krs = key_results(db, commit(db))
    okr(driver, slack, "backlog add " + "\n".join(f"Item {n}" for n in range(1, 11)), user="U0BEN")
    set_state(db, 1, ItemState.PRODUCT, key_result_id=krs[0].id)
    set_state(db, 2, ItemState.PRODUCT, key_result_id=krs[0].id)
    set_state(db, 3, ItemState.SPRINT, key_result_id=krs[1].id)
    set_state(db, 4, ItemState.DISCOVERY)
    set_state(db, 5, ItemState.NOT_NOW)
    set_state(db, 6, ItemState.DONE)

    reply = okr(driver, slack, "backlog", user="U0CLEO")  # anyone may look

    text = reply.text
    assert reply.ephemeral and "Backlog · Rockets" in text
    assert "Sprint 1 · Product backlog 2 · Discovery 1 · Inbox 4 · Not now 1 · Done 1" in text
    assert "*KR 1.1* Teams active after their first week · 2 items" in text
    assert "*KR 1.2* Median minutes to first dashboard · 1 item" in text
    assert "*#3* Item 3 · KR 1.2" in text and "*#1* Item 1 · KR 1.1" in text
    assert "*#4* Item 4" in text and "*#7* Item 7" in text
    assert "#5* Item 5" not in text and "#6* Item 6" not in text  # not now and done only counted
    assert "*Inbox* · 4" in text


def test_the_overview_shows_the_first_items_of_each_state_and_how_many_more(driver, slack, db):
    rockets(driver, slack)
    okr(driver, slack, "backlog add " + "\n".join(f"Item {n}" for n in range(1, 31)), user="U0BEN")

    reply = okr(driver, slack, "backlog", user="U0BEN")

    assert "*#5* Item 5" in reply.text and "#6* Item 6" not in reply.text
    assert "…and 25 more: `/okr backlog inbox`" in reply.text
    assert "no live key results this cycle" in reply.text


def test_an_empty_backlog_says_how_to_fill_it(driver, slack, db):
    rockets(driver, slack)

    reply = okr(driver, slack, "backlog", user="U0BEN")

    assert "Inbox 0" in reply.text and "Nothing to work on yet" in reply.text and "/okr backlog import" in reply.text


def test_one_state_lists_at_most_40_items_and_says_how_many_more(driver, slack, db):
    rockets(driver, slack)
    okr(driver, slack, "backlog add " + "\n".join(f"Item {n}" for n in range(1, 46)), user="U0BEN")

    reply = okr(driver, slack, "backlog inbox", user="U0BEN")

    assert len(blocks_of(reply)) <= 50
    assert "*#40* Item 40" in reply.text and "#41* Item 41" not in reply.text
    assert "45 items · the first 40 are shown, 5 more are not" in reply.text
    assert "/okr triage start" in reply.text


def test_long_items_fit_in_slacks_limits(driver, slack, db):
    rockets(driver, slack)
    for start in range(0, 45, 3):
        okr(
            driver,
            slack,
            "backlog add " + "\n".join(f"{n} " + "w" * 990 for n in range(start, start + 3)),
            user="U0BEN",
        )

    for typed in ("backlog", "backlog inbox"):
        reply = okr(driver, slack, typed, user="U0BEN")
        assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in blocks_of(reply)), typed
        assert len(blocks_of(reply)) <= 50 and "…" in reply.text


@pytest.mark.parametrize("word", ["notnow", "not-now", "not now", "NotNow"])
def test_not_now_lists_what_was_set_aside_and_how_to_restore_it(driver, slack, db, word):
    rockets(driver, slack)
    okr(driver, slack, "backlog add Dark mode\nSSO\nOffline mode", user="U0BEN")
    set_state(db, 2, ItemState.NOT_NOW)

    reply = okr(driver, slack, f"backlog {word}", user="U0BEN")

    assert "Not now · Rockets" in reply.text and "*#2* SSO" in reply.text and "Dark mode" not in reply.text
    assert "`/okr backlog restore 12`" in reply.text


def test_each_state_can_be_listed_and_an_empty_one_says_so(driver, slack, db):
    rockets(driver, slack)
    okr(driver, slack, "backlog add Dark mode", user="U0BEN")
    set_state(db, 1, ItemState.DISCOVERY)

    assert "*#1* Dark mode" in okr(driver, slack, "backlog discovery", user="U0BEN").text
    assert "The product backlog is empty" in okr(driver, slack, "backlog product", user="U0BEN").text
    assert "Nothing is in the sprint" in okr(driver, slack, "backlog sprint", user="U0BEN").text
    assert "Nothing is done yet" in okr(driver, slack, "backlog done", user="U0BEN").text
    assert "The inbox is empty" in okr(driver, slack, "backlog inbox", user="U0BEN").text


def test_a_key_result_lists_the_items_under_it(driver, slack, db):
    rockets(driver, slack)
    okr_id = commit(db)
    okr(driver, slack, "idea Weekly onboarding email 1.2", user="U0BEN")
    okr(driver, slack, "idea Sample dashboard 1.2", user="U0BEN")
    okr(driver, slack, "idea Invite teammates 1.1", user="U0BEN")
    set_state(db, 2, ItemState.SPRINT, key_result_id=key_results(db, okr_id)[1].id)

    reply = okr(driver, slack, "backlog KR 1.2", user="U0BEN")

    assert "KR 1.2 · Median minutes to first dashboard · Rockets" in reply.text
    assert "*#1* Weekly onboarding email" in reply.text and "*#2* Sample dashboard · _in the sprint_" in reply.text
    assert "Invite teammates" not in reply.text and "2 items" in reply.text
    assert_clean_error(okr(driver, slack, "backlog 4.1", user="U0BEN"), "no live key result 4.1")


def test_unknown_words_get_the_usage(driver, slack, db):
    rockets(driver, slack)

    for typed in ("backlog frobnicate", "backlog #12", "backlog import now", "backlog restore"):
        assert_clean_error(okr(driver, slack, typed, user="U0BEN"), "/okr backlog [add TEXT | import", case=typed)


# done and restore -----------------------------------------------------------------------------------------------


def test_done_and_restore_move_an_item_and_say_where_it_went(driver, slack, db):
    rockets(driver, slack)
    okr(driver, slack, "backlog add Dark mode\nSSO", user="U0BEN")
    set_state(db, 2, ItemState.NOT_NOW)

    done = okr(driver, slack, "backlog done #1", user="U0BEN")
    restored = okr(driver, slack, "backlog restore 2", user="U0ADA")

    assert "*#1* Dark mode is done" in done.text
    assert "*#2* SSO is back in the inbox of *Rockets*" in restored.text and "/okr triage start" in restored.text
    assert [i.state for i in items(db)] == [ItemState.DONE, ItemState.INBOX]
    with db.read() as session:
        moves = session.scalars(select(EventLog).where(EventLog.action == "moved").order_by(EventLog.id)).all()
    assert [(m.actor_user_id, m.data["from"], m.data["to"], m.reason) for m in moves] == [
        ("U0BEN", "inbox", "done", "marked done"),
        ("U0ADA", "not_now", "inbox", "restored"),
    ]


def test_wrong_numbers_and_wrong_states_are_refused_and_change_nothing(driver, slack, db):
    rockets(driver, slack)
    okr(driver, slack, "backlog add Dark mode\nSSO", user="U0BEN")
    okr(driver, slack, "backlog done 1", user="U0BEN")
    before = row_counts(db)

    cases = {
        "backlog done 1": ("#1 is already done",),
        "backlog restore 2": ('#2 is not in "not now"', "the inbox"),
        "backlog restore 99": ("no backlog item #99",),
        "backlog done twelve": ("`twelve` is not an item number",),
        "backlog done 1234567890": ("not an item number",),
    }
    for typed, needles in cases.items():
        assert_clean_error(okr(driver, slack, typed, user="U0BEN"), *needles, case=typed)
    assert_clean_error(okr(driver, slack, "backlog restore 2", user="U0CLEO"), "not a member")
    assert row_counts(db) == before


# importing a CSV file ---------------------------------------------------------------------------------------------


def csv_rows(count: int, *, header: str | None = "Title,KR", kr=lambda n: "") -> bytes:
    lines = [header] if header else []
    lines += [f"Imported item {n},{kr(n)}" if header else f"Imported item {n}" for n in range(1, count + 1)]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_a_thousand_rows_with_a_header_and_key_results_import_in_one_go(driver, slack, db):
    rockets(driver, slack)
    krs = key_results(db, commit(db))
    data = csv_rows(1000, kr=lambda n: "1.2" if n % 100 == 0 else "")
    slack.share_file("C0ROCKET", "U0BEN", "backlog.csv", data)

    reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert "Imported 1,000 items from `backlog.csv` into the backlog of *Rockets*: *#1* to *#1000*." in reply.text
    assert "990 went to the inbox, 10 straight to the product backlog" in reply.text
    found = items(db)
    assert len(found) == 1000 and [i.number for i in found] == list(range(1, 1001))
    assert (found[0].text, found[0].state) == ("Imported item 1", ItemState.INBOX)
    assert (found[99].state, found[99].key_result_id) == (ItemState.PRODUCT, krs[1].id)
    logged = captured(db)
    assert len(logged) == 1000 and {e.data["via"] for e in logged} == {"import"}
    assert logged[99].data["key_result"] == "1.2"
    [download] = slack.calls_to("files.download")
    assert download.ok and download.token == slack.workspace().bot_token

    slack.share_file("C0ROCKET", "U0BEN", "again.csv", data)
    again = okr(driver, slack, "backlog import", user="U0BEN")

    assert "Nothing new was added" in again.text and "*#1* Imported item 1" in again.text
    assert "…and 990 more" in again.text and len(again.body["blocks"]) <= 50
    assert len(items(db)) == 1000


def test_a_file_without_header_and_with_a_bom_imports_its_first_column(driver, slack, db):
    rockets(driver, slack)
    data = '\ufeffCafé au lait,ignored\n\n  Dark   mode  \n"Quoted, with comma"\n'.encode()
    slack.share_file("C0ROCKET", "U0BEN", "ideas.CSV", data, filetype="text")

    reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert "Imported 3 items" in reply.text
    assert [i.text for i in items(db)] == ["Café au lait", "Dark mode", "Quoted, with comma"]


def test_the_newest_csv_of_the_person_is_imported_and_others_files_are_ignored(driver, slack, db):
    rockets(driver, slack)
    slack.share_file("C0ROCKET", "U0BEN", "old.csv", b"Old item\n")
    slack.share_file("C0ROCKET", "U0BEN", "notes.txt", b"Not a csv\n")
    slack.share_file("C0ROCKET", "U0BEN", "new.csv", b"New item\n")
    slack.share_file("C0ROCKET", "U0ADA", "adas.csv", b"Ada's item\n")
    slack.add_message("C0ROCKET", "U0BEN", "here you go")

    reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert "from `new.csv`" in reply.text
    assert [i.text for i in items(db)] == ["New item"]


def test_no_file_found_says_how_to_share_one(driver, slack, db):
    rockets(driver, slack)
    slack.share_file("C0ROCKET", "U0ADA", "adas.csv", b"Ada's item\n")
    slack.share_file("C0GENERAL", "U0BEN", "elsewhere.csv", b"Elsewhere\n")
    before = row_counts(db)

    reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert_clean_error(
        reply,
        "no CSV file that you shared in this channel in the last hour",
        "share the .csv file in this channel",
        "/okr backlog import",
    )
    assert row_counts(db) == before


def test_a_file_shared_more_than_an_hour_ago_is_not_imported(driver, slack, db):
    rockets(driver, slack)
    slack.share_file("C0ROCKET", "U0BEN", "backlog.csv", b"Item\n")

    with freeze_time(datetime.now(UTC) + timedelta(minutes=61), tick=True):
        reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert_clean_error(reply, "no CSV file")
    assert items(db) == []


def test_bad_rows_are_all_named_and_nothing_is_imported(driver, slack, db):
    rockets(driver, slack)
    commit(db)
    rows = [
        "Summary,Key result",
        "Fine,1.1",
        "Bell \x07,",
        "," + "",
        "Also fine,",
        "x" * 1001 + ",",
        "Wrong kr,7.7",
        ",1.2",
    ]
    slack.share_file("C0ROCKET", "U0BEN", "backlog.csv", "\n".join(rows).encode())
    before = row_counts(db)

    reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert_clean_error(
        reply,
        "`backlog.csv`: Nothing was imported",
        "Row 3:",
        "U+0007",
        "Row 6:",
        "1,001 characters",
        "Row 7:",
        "`7.7` is not one of the team's key results",
        "Row 8:",
        "no item text",
        "The team's key results this cycle: 1.1, 1.2",
    )
    assert "Row 2:" not in reply.text and "Row 4:" not in reply.text
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("data", "needles"),
    [
        (b"x" * (2 * 1024 * 1024 + 1), ("2.0 MB", "up to 2 MB")),
        (csv_rows(5001, header=None), ("5,001 rows", "at most 5,000")),
        ("Caf\u00e9\n".encode("latin-1"), ("not UTF-8", "CSV UTF-8")),
        (b"Title\n\n,\n", ("There is no item in that file",)),
    ],
    ids=["too-big", "too-many-rows", "not-utf8", "empty"],
)
def test_files_that_cannot_be_imported_get_a_clear_message(driver, slack, db, data, needles):
    rockets(driver, slack)
    slack.share_file("C0ROCKET", "U0BEN", "backlog.csv", data)
    before = row_counts(db)

    reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert_clean_error(reply, *needles)
    assert row_counts(db) == before


def test_a_download_slack_refuses_is_explained(driver, slack, db):
    rockets(driver, slack)
    slack.share_file("C0ROCKET", "U0BEN", "backlog.csv", b"Item\n")
    slack.fail_next("files.download")  # answered like a token without files:read: a redirect to sign in

    reply = okr(driver, slack, "backlog import", user="U0BEN")

    assert_clean_error(reply, "Slack would not let me download `backlog.csv`", "files:read")
    assert items(db) == []


def test_import_needs_a_member_and_a_channel_the_bot_can_read(driver, slack, db):
    rockets(driver, slack)
    slack.share_file("C0ROCKET", "U0CLEO", "backlog.csv", b"Item\n")
    downloads = len(slack.calls_to("files.download"))

    assert_clean_error(okr(driver, slack, "backlog import", user="U0CLEO"), "not a member")
    assert len(slack.calls_to("files.download")) == downloads
    slack.add_channel("C0ROCKET", "team-rocket", members=("U0ADA", "U0BEN", "U0CLEO"), bot_is_member=False)
    assert_clean_error(okr(driver, slack, "backlog import", user="U0BEN"), "Invite me", "/invite")
    assert items(db) == []


# the "Add to OKR backlog" message shortcut -----------------------------------------------------------------------


def shortcut(driver, slack, message: dict, *, user: str = "U0BEN", channel: str = "C0ROCKET") -> str:
    before = len(slack.responses)
    result = driver.message_shortcut("add_to_backlog", user=user, channel=channel, ts=message["ts"])
    assert result.status == 200 and not result.body, result.text
    response = slack.wait_for_response(count=before + 1)
    assert response["body"].get("response_type") == "ephemeral", response
    return shown(response["body"])


def test_the_shortcut_adds_a_message_with_a_link_back_to_it_once(driver, slack, db):
    rockets(driver, slack)
    message = slack.add_message("C0ROCKET", "U0CLEO", "Customers keep asking for &lt;dark&gt; mode &amp; SSO")

    reply = shortcut(driver, slack, message)

    assert "Added to the inbox of *Rockets*" in reply and "*#1* Customers keep asking for <dark> mode & SSO" in reply
    [item] = items(db)
    assert item.text == "Customers keep asking for <dark> mode & SSO" and item.created_by == "U0BEN"
    assert (item.source_channel_id, item.source_ts) == ("C0ROCKET", message["ts"])
    assert item.source_url == f"https://sandbox.slack.com/archives/C0ROCKET/p{message['ts'].replace('.', '')}"
    assert f"<{item.source_url}|this message>" in reply
    assert captured(db)[0].data["via"] == "shortcut"

    again = shortcut(driver, slack, message, user="U0ADA")

    assert "That message is already in the backlog of *Rockets*, as #1" in again
    assert len(items(db)) == 1


def test_the_shortcut_clips_long_messages_and_drops_what_an_item_cannot_hold(driver, slack, db):
    rockets(driver, slack)
    message = slack.add_message("C0ROCKET", "U0ADA", "Line one\nline\u200b two\x07 " + "z" * 5000)

    reply = shortcut(driver, slack, message)

    [item] = items(db)
    assert len(item.text) == 1000 and item.text.startswith("Line one line two zzz") and item.text.endswith("…")
    assert "Added to the inbox of *Rockets*" in reply


def test_the_shortcut_in_a_channel_without_team_uses_the_only_team_or_explains(driver, slack, db):
    rockets(driver, slack)
    message = slack.add_message("C0GENERAL", "U0CLEO", "Offline mode")

    assert "Added to the inbox of *Rockets*" in shortcut(driver, slack, message, channel="C0GENERAL")
    assert items(db)[0].source_channel_id == "C0GENERAL"

    create_team(driver, slack, "Growth", user="U0BEN", channel="C0GROWTH")
    other = slack.add_message("C0GENERAL", "U0CLEO", "Better search")
    before = row_counts(db)
    reply = shortcut(driver, slack, other, channel="C0GENERAL")

    assert "belongs to no team and you are in several" in reply and "<#C0GROWTH>" in reply
    assert row_counts(db) == before


def test_the_shortcut_refuses_empty_messages_and_non_members(driver, slack, db):
    rockets(driver, slack)
    join_team(driver, slack, user="U0CLEO", channel="C0ROCKET")
    okr(driver, slack, "team leave", user="U0CLEO")
    empty = slack.add_message("C0ROCKET", "U0ADA", "   ")
    message = slack.add_message("C0ROCKET", "U0ADA", "Offline mode")
    before = row_counts(db)

    assert "no text to add" in shortcut(driver, slack, empty)
    assert "not a member of *Rockets*" in shortcut(driver, slack, message, user="U0CLEO")
    assert row_counts(db) == before
    assert not slack.calls_to("chat.getPermalink")


def test_the_shortcut_still_adds_when_slack_gives_no_permalink(driver, slack, db):
    rockets(driver, slack)
    message = slack.add_message("C0ROCKET", "U0ADA", "Offline mode")
    slack.fail_next("chat.getPermalink", "internal_error")

    reply = shortcut(driver, slack, message)

    assert "Added to the inbox of *Rockets*" in reply and "this message" not in reply
    [item] = items(db)
    assert item.source_url is None and item.source_ts == message["ts"]
    wait_until(lambda: slack.calls_to("chat.getPermalink"))
