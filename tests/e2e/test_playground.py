"""`okr-bot sandbox`: a person types in the terminal and reads what the bot did."""

from __future__ import annotations

import io
import json
import logging
import re

from sqlalchemy.engine import make_url

from bot.playground import run_playground, sandbox_log_path
from bot.settings import Settings

# Rockets is created and commits one objective, drafted through the form, with two key results owned by ben
ROCKETS_COMMIT = [
    "/okr team create Rockets",
    "/okr draft Teams get value in their first week",
    "submit why='Half of them leave'",
    "click Add a key result",
    "submit metric='Teams active after week one' unit=% baseline=40 target=65 owner=ben",
    "click Add a key result",
    "submit metric='Median minutes to a first check-in' baseline=300 target=30 direction=decrease owner=ben",
    "submit",
    "submit",
    "click 2 Commit",
]


def _play(database_url: str, script: str) -> str:
    """Run the script in the terminal sandbox; no line here sets off the bot's timers (a triage tally's redraw),
    so the output of each is shown once Slack has been quiet for 50 ms rather than 300."""
    out = io.StringIO()
    settings = Settings(database_url=make_url(database_url), scheduler=False)
    assert run_playground(settings, stdin=io.StringIO(script), out=out, quiet=0.05) == 0
    return out.getvalue()


def test_a_session_with_commands_forms_reactions_and_home(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "/okr team create Rockets",
                "/okr team settings",
                "submit timezone=Asia/Tokyo checkin_weekday=Friday",
                "react 1 white_check_mark",
                "messages",
                "as cleo",
                "/okr team join",
                "home",
                "click 1 Nope",
                "quit",
            ]
        ),
    )
    assert "[#team-rocket]\n  :tada: @ada created the team *Rockets*" in output
    assert "== form: Team settings ==" in output
    assert "Time zone: UTC  (field `timezone`)" in output
    assert ":gear: @ada changed the time zone, check-in day of *Rockets*." in output
    assert "Check-ins Friday at 10:00 (Asia/Tokyo)" in output
    assert "1. OKR bot:" in output and ":white_check_mark: 1" in output
    assert "@cleo joined the team *Rockets*" in output
    assert "== App Home ==" in output and "*Rockets* in #team-rocket · you are a member" in output
    assert "No button labelled 'Nope' on that message." in output


def test_mistakes_in_the_terminal_are_explained(database_url):
    output = _play(database_url, "as nobody\nin #nowhere\nreact 9 x\nsubmit a=b\nfly\n")
    assert "People here: ada, ben, cleo" in output
    assert "Channels here: #general, #team-rocket, #team-growth" in output
    assert "There are no messages in this channel yet." in output
    assert "No form is open." in output
    assert "I don't understand 'fly'" in output


def test_drafting_in_the_sandbox_with_form_buttons_people_and_cancel(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "/okr team create Rockets",
                "/okr draft Teams get value in their first week",
                "cancel",
                "/okr draft",
                "submit why='Half of them leave'",
                "click Add a key result",
                "submit metric='Teams active after week one' unit=% baseline=40 target=65 owner=ben",
                "click Nope",
                "click Add a key result",
                "submit metric='Median minutes to a first check-in' baseline=300 target=30 direction=decrease",
                "submit",
                "submit",
                "click 2 Commit",
                "quit",
            ]
        ),
    )
    assert output.count("== form: Draft an objective ==") == 2  # cancelled, then resumed
    assert "Objective: Teams get value in their first week  (field `title`)" in output
    assert "*KR 1.* Teams active after week one · 40 → 65 % · increase · owner @ben" in output
    assert "No button labelled 'Nope' in the open form." in output
    assert "300 → 30 · decrease" in output
    assert "@ada shared a draft objective for *Rockets*" in output
    assert "@ada committed *O1. Teams get value in their first week*" in output


def test_a_check_in_in_the_sandbox_without_waiting_for_monday(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "sweep",
                *ROCKETS_COMMIT,
                "sweep next",
                "sweep next",
                "as ben",
                "in dm",
                "click 1 No change on all",
                "sweep now",
                "quit",
            ]
        ),
    )
    assert "Nothing is scheduled yet" in output or "(sweep: nothing due)" in output
    assert "(pretending it is" in output
    assert "[DM to ben]" in output and "Teams active after week one" in output
    assert "A gentle nudge: your 2 key results" in output  # the reminder, in the DM
    assert "Nothing was checked in." in output  # no change on key results with no confidence yet
    assert "Type `sweep` or `sweep next`." in output


def test_capturing_the_backlog_in_the_sandbox_by_shortcut_and_csv(database_url, tmp_path):
    csv = tmp_path / "backlog.csv"
    csv.write_text("title\nDark mode\nExport to PDF\n", encoding="utf-8")
    output = _play(
        database_url,
        "\n".join(
            [
                "/okr team create Rockets",
                "shortcut 1",
                "shortcut 9",
                f"share {csv}",
                "/okr backlog import",
                "share nowhere.csv",
                "/okr backlog inbox",
                "quit",
            ]
        ),
    )
    assert "Give a message number from 1 to 1" in output
    assert "Which file? e.g. share backlog.csv" in output
    assert "Dark mode" in output and "Export to PDF" in output
    assert "#1" in output and "#3" in output  # the shortcut's item, then the file's two


def test_a_ripple_and_the_digest_in_the_sandbox(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                *ROCKETS_COMMIT,
                "in #team-growth",
                "as ben",
                "/okr team create Growth",
                "as ada",
                "in #team-rocket",
                "/okr ripple",
                "submit key_result=1.1 kind=depends_on channel=#team-growth note='We need their sign-up numbers'",
                "as ben",
                "in #team-growth",
                "click 2 Acknowledge",
                "messages",
                "/okr digest",
                "quit",
            ]
        ),
    )
    assert "== form: Declare a ripple ==" in output
    assert (
        "[#team-growth]" in output
        and "*R1* · *Rockets* KR 1.1 Teams active after week one depends on *Growth*" in output
    )
    assert "R1 is acknowledged by @ben." in output  # the notice, redrawn after the click
    assert "RIPPLES DIGEST · WEEK TO" in output and "1 of 2 teams had news" in output
    assert "*Rockets* #team-rocket" in output and "*R1* _new_ KR 1.1" in output


def test_a_dm_checked_in_after_sweep_next_is_redrawn_for_its_own_week(database_url):
    """`sweep next` moves the sandbox's clock to the DM's moment, so a check-in made from the DM counts for the
    week the DM named, and the DM redrawn after it names that same week (never the week the machine is in)."""
    output = _play(
        database_url,
        "\n".join(
            [
                *ROCKETS_COMMIT,
                "sweep next",
                "as ben",
                "in dm",
                "click 1 Check in",
                "submit value=45 confidence=7",
                "messages",
                "quit",
            ]
        ),
    )
    before, dm = output.split("\n[DM to ben]", 1)
    redrawn = output.rsplit("1. OKR bot:", 1)[1]
    week = re.findall(r"ROCKETS · WEEK OF (\d{4}-\d\d-\d\d)", dm)[0]  # as the DM came
    sent_on = re.findall(r"\(pretending it is Monday (\d{4}-\d\d-\d\d) \d\d:\d\d UTC\)", before)[-1]
    assert week == sent_on  # the Monday the DM came: its own week
    assert f"ROCKETS · WEEK OF {week}" in redrawn and "checked in 45, 7/10" in redrawn, redrawn


# Rockets commits its objective, then its cycle is reset by hand and ben gives his final scores: the retro is posted
# and cycle 2 opens with "Carry forward…"
ROCKETS_RESET = [
    *ROCKETS_COMMIT,
    "/okr reset",
    "click Reset cycle 1",  # on the reply only ada sees
    "as ben",
    "in dm",
    "click Give final scores",
    "submit",
    "as ada",
    "in #team-rocket",
]


def test_a_form_shows_its_next_step_its_field_errors_and_values_with_spaces(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "/okr team create Rockets",
                "/okr draft Teams get value in their first week",
                "submit title=Make onboarding feel effortless why=Half of them leave",  # the same view, updated
                "click Add a key result",
                "submit metric=Teams active after week one unit=% baseline=ten target=65 owner=@ben",
                "submit baseline=40",  # what was typed before is kept, as in Slack
                "quit",
            ]
        ),
    )
    assert "== form: Key results ==" in output  # step 2 of the same view is shown
    assert "*Make onboarding feel effortless*\n  _Why now:_ Half of them leave" in output
    assert "== form: Key result 1 ==  (not saved: fix what is marked !, then submit again)" in output
    assert "Baseline (where it is today): ten  (field `baseline`)\n      ! Type just the number" in output
    assert "*KR 1.* Teams active after week one · 40 → 65 % · increase · owner @ben" in output


def test_choices_are_listed_and_taken_by_label_or_value(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "/okr team create Rockets",
                "/okr team settings",
                "submit checkin_weekday=Someday",
                "submit checkin_weekday=friday checkin_hour=9 checkins_paused=PAUSED",
                "quit",
            ]
        ),
    )
    assert "Check-in day: Monday  (field `checkin_weekday`)\n      one of: Monday (0) | Tuesday (1) |" in output
    assert "Check-ins: On  (field `checkins_paused`)\n      one of: On | Paused" in output
    assert (
        "Check-in day (`checkin_weekday`): 'Someday' is not one of the choices: Monday (0) | Tuesday (1) | " in output
    )
    assert "Nothing was submitted." in output
    assert ":gear: @ada changed the check-in day, check-in hour, check-in pause of *Rockets*." in output
    assert "Check-ins are *paused*" in output and "Check-ins Friday at 09:00 (UTC)" in output


def test_people_and_channels_typed_in_a_command_become_mentions(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                *ROCKETS_COMMIT,
                "in #team-growth",
                "/okr team create Growth",
                "in #team-rocket",
                "/okr ripple #team-growth 1.2 Our onboarding changes sends them twice the sign-ups",
                "quit",
            ]
        ),
    )
    assert "Declared *R1* · *Rockets* KR 1.2 Median minutes to a first check-in affects *Growth*" in output
    assert "[#team-growth]\n  :ocean: *R1* · *Rockets* KR 1.2" in output


def test_buttons_on_replies_only_you_see_and_buttons_that_share_a_label(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "/okr team create Rockets",
                "/okr draft Teams get value in their first week",
                "submit why=Half of them leave",
                "click Add a key result",
                "submit metric=Teams active after week one baseline=40 target=65",
                "click Add a key result",
                "submit metric=Median minutes to a first check-in baseline=300 target=30 direction=decrease",
                "click Add a key result",
                "submit metric=Signups baseline=1 target=5",
                "click Edit #4",
                "click Remove #2",
                "cancel",
                "/okr reset",
                "click Reset cycle 1",  # on the reply only ada sees
                "quit",
            ]
        ),
    )
    assert "[Edit #1]  [Remove #1]" in output and "[Edit #3]  [Remove #3]" in output
    assert "There are 3 buttons labelled 'Edit': #1 to #3." in output
    after = output.rsplit("== form: Key results ==", 1)[1]
    assert "*KR 2.* Signups" in after and "Median minutes" not in after  # the second one went
    assert "[only you see, edited]" in output and ":seedling: *Cycle 2 of Rockets is open for drafting*" in output


def test_a_reset_confirmed_from_a_reply_scored_and_carried_forward(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                *ROCKETS_RESET,
                "reply 5 1. We learned that onboarding is the product",
                "click carry forward",  # without its "…"
                "submit objective:1=all",
                "/okr history 1",
                "quit",
            ]
        ),
    )
    assert "[only you see, edited]\n  :checkered_flag: The reset of cycle 1 of *Rockets* has started." in output
    assert "Scoring closes Dec 11, 2026 at 13:00" in output  # ada reads it in her zone, Europe/Paris
    assert "<!date" not in output
    assert "ROCKETS · RETRO OF CYCLE 1" in output
    assert "[#team-rocket, in a thread]\n  1. We learned that onboarding is the product" in output
    assert "O1 Teams get value in their first week: (empty)  (field `objective:1`)" in output
    assert "any of (several: comma-separated): The whole objective (2 key results) (all) | KR 1.1" in output
    assert "@ada carried O1 Teams get value in their first week forward from cycle 1 as drafts" in output
    assert "@ada We learned that onboarding is the product" in output  # the answer, kept with the cycle


def test_messages_the_bot_redraws_or_deletes_are_shown_again(database_url):
    output = _play(database_url, "\n".join([*ROCKETS_COMMIT, "/okr reset", "click Cancel", "quit"]))
    assert "[#team-rocket, edited]\n  @ada shared a draft objective for *Rockets*." in output
    assert ":white_check_mark: Committed by @ada as *O1*." in output
    assert "[only you see, deleted] :checkered_flag: *Reset cycle 1 of Rockets now?*" in output


def test_the_clock_moves_on_to_a_chosen_moment_and_the_sandbox_starts_afresh(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "next",
                *ROCKETS_COMMIT,
                "next",
                "jump checkin",
                "jump sometime",
                "afresh",
                "messages",
                "/okr team create Rockets",  # the team is gone: it can be created again
                "quit",
            ]
        ),
    )
    assert output.startswith("OKR bot sandbox") and "Nothing is scheduled yet" in output.split("[#team-rocket]")[0]
    assert re.search(r"  \w{3} \d{4}-\d\d-\d\d \d\d:\d\d UTC  check-in DMs to key-result owners", output)
    assert "UTC) check-in DMs to key-result owners" in output  # where `jump checkin` went
    assert "[DM to ben]" in output and "ROCKETS · WEEK OF" in output
    assert "Type jump, or jump next|checkin|reset|end." in output
    assert "Started afresh at" in output and "There are no messages in this channel yet." in output
    assert output.count(":tada: @ada created the team *Rockets*") == 2


def test_saying_replying_adding_people_and_help(database_url):
    output = _play(
        database_url,
        "\n".join(
            [
                "help",
                "add dana Asia/Tokyo",
                "add dana Asia/Tokyo",
                "add erin Mars/Olympus",
                "as dana",
                "zone",
                "say Hello team",
                "reply 1 Welcome!",
                "messages",
                "Hello",
                "quit",
            ]
        ),
    )
    for command in ("say TEXT", "reply N TEXT", "add NAME ZONE", "next ", "jump [WHAT]", "afresh", "click Edit #2"):
        assert command in output, command
    assert "dana joined the workspace and its channels (Asia/Tokyo)" in output
    assert "There is already someone called dana." in output
    assert "'Mars/Olympus' is not a time zone I know." in output
    assert "Your Slack time zone: Asia/Tokyo" in output
    assert "[#team-rocket]\n  Hello team" in output
    assert "[#team-rocket, in a thread]\n  Welcome!" in output
    assert "1. dana:\n   Hello team\n2. dana (in the thread of 1):\n   Welcome!" in output
    assert "I don't understand 'Hello'." in output


def test_the_bots_logs_go_to_a_file_not_into_the_session(database_url, tmp_path):
    log = tmp_path / "sandbox.log"
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    settings = Settings(database_url=make_url(database_url), scheduler=False)
    script = "/okr team create Rockets\n/okr team settings\nsubmit timezone=Asia/Tokyo\nquit\n"
    assert run_playground(settings, stdin=io.StringIO(script), out=out, quiet=0.05, log_to=log) == 0
    assert f"(the bot's logs go to {log})" in out.getvalue()
    assert '"level"' not in out.getvalue()
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines and all(json.loads(line)["level"] for line in lines)
    assert root.handlers == handlers and root.level == level  # as they were, once the session is over


def test_the_sandbox_log_lies_beside_a_sqlite_database_or_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    beside = Settings(database_url=make_url(f"sqlite:///{tmp_path}/data/okr.db"))
    assert sandbox_log_path(beside) == tmp_path / "data" / "sandbox.log"
    elsewhere = Settings(database_url=make_url("postgresql+psycopg://okr@localhost/okr"))
    assert sandbox_log_path(elsewhere) == tmp_path / "sandbox.log"
