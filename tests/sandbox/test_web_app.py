"""The browser sandbox's WSGI application (bot/sandbox/web/app.py) without a browser: a real started Sandbox (fake
Slack, the real bot behind signed HTTP) on a copy of a migrated SQLite database, asked through werkzeug's test
client. Who and where fall back to ada in #team-rocket, `/panes` sends only what changed, and every refusal is
JSON a person can read (`ok: false` and a sentence), with nothing done."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO

import pytest
from werkzeug.test import Client, TestResponse

from bot.sandbox.session import Sandbox
from bot.sandbox.web.app import MAX_UPLOAD, SandboxWeb
from tests.helpers import running_sandbox

PAGE = {"X-Sandbox-Page": "1"}  # what the page's own script sends with each action
ROCKET = "C0ROCKET"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 32


@pytest.fixture
def sandbox(sqlite_url: str) -> Iterator[Sandbox]:
    with running_sandbox(sqlite_url) as sandbox:
        yield sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Client:
    return Client(SandboxWeb(sandbox))


def act(client: Client, action: str, **fields) -> TestResponse:
    return client.post(f"/api/{action}", data=fields, headers=PAGE)


def refused(response: TestResponse, status: int, *words: str) -> str:
    """The answer is a refusal in words: JSON with `ok: false` and a sentence containing each of `words`."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["ok"] is False and set(body) == {"ok", "error"}, body
    error = body["error"]
    assert re.fullmatch(r"[A-Z`'\"].{10,}[.)]", error, re.S), f"not a sentence: {error!r}"
    for word in words:
        assert word in error, error
    return error


def team_settings_form(client: Client, sandbox: Sandbox) -> dict:
    """Rockets is created and its settings form is open for ada: the view as the fake Slack holds it."""
    assert act(client, "type", text="/okr team create Rockets").get_json()["ok"]
    assert act(client, "type", text="/okr team settings").get_json()["ok"]
    return sandbox.fake.open_views("U0ADA")[-1]


# who and where ------------------------------------------------------------------------------------------------


def test_an_unknown_person_and_place_fall_back_to_ada_in_team_rocket(client):
    page = client.get("/?as=nobody&in=nowhere").get_data(as_text=True)
    assert 'data-as="ada"' in page and 'data-in="team-rocket"' in page
    assert '<h1 id="where">#team-rocket</h1>' in page
    page = client.get("/?as=BEN&in=team-growth").get_data(as_text=True)
    assert 'data-as="ben"' in page and 'data-in="team-growth"' in page


def test_an_action_of_an_unknown_person_is_taken_as_adas(client, sandbox):
    assert act(client, "type", **{"as": "<script>", "in": "nowhere", "text": "Hello"}).get_json()["ok"]
    message = sandbox.fake.messages(ROCKET)[-1]
    assert (message["user"], message["text"]) == ("U0ADA", "Hello")


def test_the_page_has_its_messages_in_its_html(client, sandbox):
    sandbox.type("U0BEN", ROCKET, "Morning, rockets")
    page = client.get("/?as=cleo&in=team-rocket")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Morning, rockets" in page.get_data(as_text=True)


# panes --------------------------------------------------------------------------------------------------------


def test_panes_the_page_already_has_are_left_out(client, sandbox):
    first = client.get("/panes?as=ada&in=team-rocket").get_json()["panes"]
    assert set(first) == {"main", "thread", "clock", "modal"}
    known = "&".join(f"v={pane['v']}" for pane in first.values())
    assert client.get(f"/panes?as=ada&in=team-rocket&{known}").get_json()["panes"] == {}
    sandbox.type("U0BEN", ROCKET, "Something new")
    changed = client.get(f"/panes?as=ada&in=team-rocket&{known}").get_json()["panes"]
    assert set(changed) == {"main"} and "Something new" in changed["main"]["html"]
    assert changed["main"]["v"] != first["main"]["v"]
    # another place's panes are not the ones the page has
    elsewhere = client.get(f"/panes?as=ada&in=general&{known}").get_json()["panes"]
    assert "main" in elsewhere and "Something new" not in elsewhere["main"]["html"]


# actions refused -----------------------------------------------------------------------------------------------


def test_an_unknown_action_is_not_found_in_words(client):
    refused(act(client, "launch", text="x"), 404, "launch")
    refused(act(client, "_context"), 404)
    refused(client.get("/api/type", headers=PAGE), 405, "cannot do that")


def test_a_form_that_is_no_longer_open_is_refused_in_words(client, sandbox):
    refused(act(client, "submit", view_id="V0STALE"), 400, "no longer open")
    view = team_settings_form(client, sandbox)
    assert act(client, "close", view_id=view["id"]).get_json()["ok"]
    refused(act(client, "submit", view_id=view["id"], **{"f:timezone": "UTC"}), 400, "no longer open")
    refused(act(client, "action", view_id=view["id"], action_id="value", value="1"), 409, "no longer there")


def test_an_unknown_option_or_person_in_a_form_lists_the_choices_and_submits_nothing(client, sandbox, monkeypatch):
    view = team_settings_form(client, sandbox)
    sent = []
    monkeypatch.setattr(sandbox.driver, "submit_view", lambda *a, **k: sent.append((a, k)))
    error = refused(act(client, "submit", view_id=view["id"], **{"f:checkin_weekday": "Funday"}), 400, "Funday")
    assert "Monday" in error and "Sunday" in error, error
    error = refused(act(client, "submit", view_id=view["id"], **{"f:facilitators": "nobody"}), 400, "nobody")
    assert "ada" in error and "ben" in error and "cleo" in error, error
    assert sent == []
    assert sandbox.fake.open_views("U0ADA")[-1]["id"] == view["id"]  # the form is still open, as it was


def test_an_upload_over_5_mb_is_refused_and_nothing_is_shared(client, sandbox):
    just_over = BytesIO(b"x" * (MAX_UPLOAD + 1))
    refused(client.post("/api/upload", data={"file": (just_over, "big.csv")}, headers=PAGE), 400, "5 MB")
    far_over = BytesIO(b"x" * (MAX_UPLOAD * 2))
    refused(client.post("/api/upload", data={"file": (far_over, "bigger.csv")}, headers=PAGE), 413, "5 MB")
    refused(client.post("/api/upload", data={}, headers=PAGE), 400, "Choose a file")
    assert sandbox.fake.messages(ROCKET) == []


@pytest.mark.parametrize("name", ['"><img src=x onerror=alert(1)>', "../../etc", "white check mark", "x" * 101, ""])
def test_a_hostile_emoji_name_is_refused(client, sandbox, name):
    sandbox.type("U0BEN", ROCKET, "React to me")
    ts = sandbox.fake.messages(ROCKET)[-1]["ts"]
    refused(act(client, "react", ts=ts, emoji=name), 400, "short name")
    assert not sandbox.fake.messages(ROCKET)[-1].get("reactions")


def test_a_reaction_by_its_short_name_is_added_then_taken_back(client, sandbox):
    sandbox.type("U0BEN", ROCKET, "React to me")
    ts = sandbox.fake.messages(ROCKET)[-1]["ts"]
    assert act(client, "react", ts=ts, emoji=":white_check_mark:").get_json()["ok"]
    assert [(r["name"], r["users"]) for r in sandbox.fake.message(ROCKET, ts)["reactions"]] == [
        ("white_check_mark", ["U0ADA"])
    ]
    assert act(client, "react", ts=ts, emoji="white_check_mark").get_json()["ok"]
    assert not sandbox.fake.message(ROCKET, ts).get("reactions")


def test_a_reaction_to_a_message_that_is_not_there_is_refused(client):
    refused(act(client, "react", ts="123.456", emoji="tada"), 409, "no longer there")


def test_a_jump_to_an_unknown_moment_is_refused(client):
    refused(act(client, "time", to="tomorrow"), 400, "next", "checkin", "reset", "end")


def test_nothing_scheduled_is_said_in_words(client):
    answer = act(client, "time", to="checkin").get_json()
    assert answer["ok"] and answer["notice"].startswith("No check-in is planned yet"), answer


@pytest.mark.parametrize(
    ("name", "zone", "words"),
    [
        ("dana", "Mars/Olympus", "not a time zone"),
        ("dana", "../../etc/passwd", "not a time zone"),
        ("Dana!", "UTC", "one word of lower-case letters"),
        ("ben", "UTC", "already someone called ben"),
        ("", "UTC", "one word"),
    ],
)
def test_a_person_with_a_bad_name_or_zone_is_refused_and_nobody_added(client, sandbox, name, zone, words):
    before = dict(sandbox.people)
    refused(act(client, "person", name=name, zone=zone), 400, words)
    assert sandbox.people == before


def test_a_person_is_added_in_their_zone(client, sandbox):
    answer = act(client, "person", name=" Dana ", zone="Asia/Tokyo").get_json()
    assert answer == {"ok": True, "notice": "dana joined the workspace and every channel."}
    assert sandbox.fake.user(sandbox.user_id("dana"))["tz"] == "Asia/Tokyo"
    assert 'data-as="dana"' in client.get("/?as=dana").get_data(as_text=True)


def test_your_own_zone_unknown_is_refused_and_unchanged(client, sandbox):
    refused(act(client, "zone", zone="Nowhere/Atall"), 400, "not a time zone")
    assert sandbox.fake.user("U0ADA")["tz"] == "Europe/Paris"


def test_a_message_over_slacks_limit_is_refused(client, sandbox):
    refused(act(client, "type", text="x" * 40_001), 400, "40,001", "40,000")
    assert sandbox.fake.messages(ROCKET) == []


def test_a_slash_command_in_a_thread_is_refused(client, sandbox):
    sandbox.type("U0BEN", ROCKET, "A thread")
    ts = sandbox.fake.messages(ROCKET)[-1]["ts"]
    refused(act(client, "type", text="/okr help", thread=ts), 400, "message box")


# files ---------------------------------------------------------------------------------------------------------


def test_an_unknown_file_is_not_found(client):
    assert client.get("/files/F0NOPE/backlog.csv").status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "kind", "disposition"),
    [
        ("chart.png", PNG, "image/png", "inline"),
        ("backlog.csv", b"title\nDark mode\n", "text/csv", "attachment"),
        ("page.html", b"<script>alert(1)</script>", "text/html", "attachment"),
        ("drawing.svg", b"<svg onload='alert(1)'/>", "image/svg+xml", "attachment"),  # an SVG can run script
        ("notes", b"\x00\x01", "application/octet-stream", "attachment"),
    ],
)
def test_a_shared_file_is_served_inline_only_when_a_picture(client, sandbox, name, content, kind, disposition):
    shared = client.post("/api/upload", data={"file": (BytesIO(content), name)}, headers=PAGE).get_json()
    assert shared == {"ok": True, "notice": f"Shared {name}."}
    (file,) = sandbox.fake.messages(ROCKET)[-1]["files"]
    answer = client.get(f"/files/{file['id']}/{name}")
    assert answer.status_code == 200 and answer.get_data() == content
    assert answer.mimetype == kind
    assert answer.headers["Content-Disposition"] == f"{disposition}; filename*=UTF-8''{name}"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_shared_files_name_is_only_its_last_part_and_quoted_when_served(client, sandbox):
    name = "../../évil name.csv"
    assert act(client, "upload", file=(BytesIO(b"title\n"), name)).get_json()["ok"]
    (file,) = sandbox.fake.messages(ROCKET)[-1]["files"]
    assert file["name"] == "évil name.csv"
    answer = client.get(f"/files/{file['id']}/x")
    assert answer.headers["Content-Disposition"] == "attachment; filename*=UTF-8''%C3%A9vil%20name.csv"
