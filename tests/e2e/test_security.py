"""Only Slack may talk to the bot: unsigned, forged and stale requests get 401 and change nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from slack_sdk.signature import SignatureVerifier

from storage.db import Database
from tests.conftest import SIGNING_SECRET, sandbox_settings, serve_bot
from tests.e2e.support import command_form, encode_form, row_counts

FORM = "application/x-www-form-urlencoded"


def _command(slack) -> tuple[bytes, str]:
    return encode_form(command_form(slack, "team create Rockets", user="U0ADA", channel="C0ROCKET")), FORM


def _event(slack) -> tuple[bytes, str]:
    envelope = {
        "type": "event_callback",
        "team_id": slack.workspace().team_id,
        "api_app_id": slack.workspace().app_id,
        "event_id": "Ev0FORGED",
        "event_time": int(time.time()),
        "event": {"type": "app_uninstalled"},
    }
    return json.dumps(envelope).encode(), "application/json"


def _interaction(slack) -> tuple[bytes, str]:
    payload = {
        "type": "block_actions",
        "team": {"id": slack.workspace().team_id},
        "user": {"id": "U0ADA"},
        "api_app_id": slack.workspace().app_id,
        "response_url": slack.new_response_url("C0GENERAL", "U0ADA"),
        "actions": [
            {
                "type": "button",
                "action_id": "choose_team:1",
                "block_id": "b",
                "value": json.dumps({"team_id": 1, "text": "team leave"}),
            }
        ],
    }
    return encode_form({"payload": json.dumps(payload)}), FORM


def _headers(body: bytes, *, secret: str = SIGNING_SECRET, age: int = 0, tamper: bool = False) -> dict[str, str]:
    timestamp = str(int(time.time()) - age)
    signed = body + b"&x=1" if tamper else body
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=signed),
    }


BAD_SIGNATURES = {
    "unsigned": lambda body: {},
    "wrong-secret": lambda body: _headers(body, secret="not-the-signing-secret"),
    "stale-301s": lambda body: _headers(body, age=301),
    "stale-1h": lambda body: _headers(body, age=3600),
    # more than a second past the limit: the timestamp is whole seconds and the request takes a moment to arrive,
    # so 301 s ahead can be 300 s ahead by the time the bot checks it (and 5 minutes is allowed)
    "from-the-future": lambda body: _headers(body, age=-305),
    "body-changed-after-signing": lambda body: _headers(body, tamper=True),
    "garbage-signature": lambda body: {
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=deadbeef",
    },
    "signature-without-timestamp": lambda body: {"X-Slack-Signature": _headers(body)["X-Slack-Signature"]},
}
KINDS = (_command, _event, _interaction)


def test_a_request_not_signed_by_slack_gets_401_and_changes_nothing(driver, slack, db):
    before = row_counts(db)
    calls = len(slack.calls)

    for kind in KINDS:
        body, content_type = kind(slack)
        for name, sign in BAD_SIGNATURES.items():
            result = driver.send_raw(body, {"Content-Type": content_type, **sign(body)})
            assert result.status == 401, f"{kind.__name__} {name}: {result.status} {result.text[:200]}"

    assert row_counts(db) == before
    assert len(slack.calls) == calls and slack.responses == []


def test_a_timestamp_that_is_not_a_number_gets_401_and_changes_nothing(driver, slack, db):
    before = row_counts(db)
    calls = len(slack.calls)
    headers = {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=deadbeef"}

    statuses = {}
    for kind in KINDS:
        body, content_type = kind(slack)
        statuses[kind.__name__] = driver.send_raw(body, {"Content-Type": content_type, **headers}).status

    assert slack.responses == [], "the bot answered the response_url of an unverified request"
    assert statuses == {"_command": 401, "_event": 401, "_interaction": 401}
    assert len(slack.calls) == calls
    assert row_counts(db) == before


def test_the_same_request_correctly_signed_is_served(driver, slack, db):
    """The control for the test above: only the signature made the difference."""
    body, content_type = _command(slack)

    result = driver.send_raw(body, {"Content-Type": content_type, **_headers(body, age=290)})

    assert result.status == 200
    slack.wait_for_response(lambda r: "created the team *Rockets*" in json.dumps(r["body"]))
    assert row_counts(db)["teams"] == 1


def _get(url: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_healthz_answers_200_when_the_database_answers(bot):
    status, body = _get(bot.url + "/healthz")

    assert status == 200
    assert json.loads(body) == {"ok": True, "database": "ok", "migrations": "ok"}
    assert _get(bot.url + "/healthz", method="HEAD")[0] == 200


def test_healthz_answers_503_when_the_database_does_not(slack, tmp_path):
    url = f"sqlite:///{tmp_path}/missing-dir/okr.db"
    database = Database(url)
    running, stop = serve_bot(sandbox_settings(slack, url), database)
    try:
        status, body = _get(running.url + "/healthz")
    finally:
        stop()
        database.dispose()

    assert status == 503
    assert json.loads(body) == {"ok": False, "database": "unreachable"}


def test_a_body_that_is_not_utf8_or_too_large_is_refused_and_changes_nothing(driver, slack, db):
    before = row_counts(db)
    broken = b"command=%2Fokr&text=" + b"\xff\xfe" * 10
    assert driver.send_raw(broken, {"Content-Type": FORM, **_sign_bytes(broken)}).status == 400
    huge = b"command=%2Fokr&text=" + b"a" * (1024 * 1024 + 1)
    assert driver.send_raw(huge, {"Content-Type": FORM, **driver.sign(huge)}).status == 413
    assert row_counts(db) == before
    assert slack.responses == []


def _sign_bytes(body: bytes) -> dict[str, str]:
    """Slack's signature over raw bytes (slack-sdk's helper wants text)."""
    timestamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}
