"""The fake Web API, exercised through a real slack_sdk WebClient: shapes, Slack's error names, faults."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.sandbox import FakeSlack
from bot.sandbox.fake.faults import FaultPlan

TOKEN = "xoxb-sandbox-0000"
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}
MODAL = {
    "type": "modal",
    "callback_id": "draft",
    "title": {"type": "plain_text", "text": "Draft"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "value"},
        }
    ],
}


class Clock:
    """A hand-moved monotonic clock, for lifetimes (trigger ids, rate windows)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock) as fake:
        fake.add_user("U1", "alice")
        fake.add_user("U2", "bob", tz="America/New_York")
        fake.add_user("UGONE", "carol", deleted=True)
        fake.add_user("UOTHERBOT", "otherbot", is_bot=True)
        fake.add_channel("C1", "okr-team", members=["U1", "U2"])
        fake.add_channel("CARCH", "old", is_archived=True)
        fake.add_channel("COUT", "elsewhere", members=["U1"], bot_is_member=False)
        yield fake


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


def error_of(call, *args, **kwargs) -> str:
    """Run a WebClient call that must fail; return Slack's error name."""
    with pytest.raises(SlackApiError) as failure:
        call(*args, **kwargs)
    return failure.value.response["error"]


# auth and routing -------------------------------------------------------------------------------------------


def test_auth_test_describes_the_installation(client: WebClient) -> None:
    body = client.auth_test().data
    assert (body["team_id"], body["user_id"], body["bot_id"]) == ("T0SANDBOX", "U0BOT", "B0BOT")


def test_missing_and_wrong_tokens_use_slacks_error_names(fake: FakeSlack) -> None:
    assert error_of(WebClient(base_url=fake.api_url).auth_test) == "not_authed"
    assert error_of(WebClient(token="xoxb-nope", base_url=fake.api_url).auth_test) == "invalid_auth"


def test_token_may_come_as_a_form_parameter(fake: FakeSlack) -> None:
    request = urllib.request.Request(fake.api_url + "auth.test", data=f"token={TOKEN}".encode())
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["user_id"] == "U0BOT"


def test_unknown_method_answers_200_unknown_method(fake: FakeSlack) -> None:
    with urllib.request.urlopen(fake.api_url + "chat.teleport", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": False, "error": "unknown_method"}


def test_api_url_ends_with_a_slash(fake: FakeSlack) -> None:
    assert fake.api_url == fake.base_url + "/api/"
    assert fake.api_url.startswith("http://127.0.0.1:")


# messages ---------------------------------------------------------------------------------------------------


def test_post_message_is_stored_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    response = client.chat_postMessage(channel="C1", text="fallback", blocks=[SECTION])
    stored = fake.message("C1", response["ts"])
    assert stored["text"] == "fallback" and stored["blocks"] == [SECTION] and stored["user"] == "U0BOT"
    call = fake.calls_to("chat.postMessage")[0]
    assert call.token == TOKEN and call.args["channel"] == "C1" and call.response["ts"] == response["ts"]


def test_message_timestamps_are_unique_and_increasing_even_when_posted_concurrently(
    fake: FakeSlack, client: WebClient
) -> None:
    threads = [
        threading.Thread(target=client.chat_postMessage, kwargs={"channel": "C1", "text": str(i)}) for i in range(12)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps = [m["ts"] for m in fake.messages("C1")]
    assert len(stamps) == 12 and len(set(stamps)) == 12
    assert stamps == sorted(stamps, key=float)
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)


def test_thread_replies_update_the_parent(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    client.chat_postMessage(channel="C1", text="reply 1", thread_ts=parent)
    client.chat_postMessage(channel="C1", text="reply 2", thread_ts=parent)
    assert fake.message("C1", parent)["reply_count"] == 2
    assert [m["thread_ts"] for m in fake.messages("C1")] == [parent, parent, parent]
    orphan = error_of(client.chat_postMessage, channel="C1", text="x", thread_ts="1.000001")
    assert orphan == "thread_not_found"


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        ("CNOPE", "channel_not_found"),
        ("U1", "channel_not_found"),
        ("CARCH", "is_archived"),
        ("COUT", "not_in_channel"),
    ],
)
def test_post_message_channel_errors(client: WebClient, channel: str, error: str) -> None:
    assert error_of(client.chat_postMessage, channel=channel, text="hi") == error


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_without_content_is_no_text(client: WebClient) -> None:
    assert error_of(client.chat_postMessage, channel="C1") == "no_text"


def test_text_over_40000_characters_is_msg_too_long(client: WebClient) -> None:
    assert error_of(client.chat_postMessage, channel="C1", text="x" * 40_001) == "msg_too_long"


def _button(label: str) -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": "go"}


@pytest.mark.parametrize(
    "blocks",
    [
        [SECTION] * 51,
        [{"type": "carousel"}],
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        [{"type": "header", "text": {"type": "mrkdwn", "text": "not plain"}}],
        [{"type": "actions", "elements": [_button("x" * 76)]}],
        [{"type": "actions", "elements": [dict(_button(str(i)), action_id=f"a{i}") for i in range(26)]}],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "options": [
                            {"text": {"type": "plain_text", "text": str(i)}, "value": str(i)} for i in range(101)
                        ],
                    }
                ],
            }
        ],
        [dict(SECTION, block_id="same"), dict(SECTION, block_id="same")],
    ],
    ids=[
        "51-blocks",
        "unknown-type",
        "section-3001",
        "header-151",
        "header-mrkdwn",
        "button-76",
        "26-elements",
        "11-fields",
        "101-options",
        "duplicate-block-id",
    ],
)
def test_invalid_blocks_are_refused_with_a_pointer(client: WebClient, blocks: list) -> None:
    with pytest.raises(SlackApiError) as failure:
        client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    assert failure.value.response["error"] == "invalid_blocks"
    assert "json-pointer:/blocks" in failure.value.response["response_metadata"]["messages"][0]


def test_limits_themselves_are_accepted(client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}] * 49
    blocks.append({"type": "actions", "elements": [_button("y" * 75)]})
    assert client.chat_postMessage(channel="C1", text="fallback", blocks=blocks)["ok"]


def test_blocks_that_are_not_a_json_array_are_a_format_error(client: WebClient) -> None:
    not_json = {"channel": "C1", "text": "t", "blocks": "[{not json"}
    not_array = {"channel": "C1", "text": "t", "blocks": {"type": "section"}}
    assert error_of(client.api_call, "chat.postMessage", params=not_json) == "invalid_blocks_format"
    assert error_of(client.api_call, "chat.postMessage", json=not_array) == "invalid_blocks_format"


def test_update_marks_edited_and_keeps_ts(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="v1")["ts"]
    response = client.chat_update(channel="C1", ts=ts, text="v2")
    assert response["ts"] == ts
    stored = fake.message("C1", ts)
    assert stored["text"] == "v2" and stored["edited"] is True


def test_update_errors(fake: FakeSlack, client: WebClient) -> None:
    theirs = fake.add_message("C1", "U1", "a human wrote this")
    assert error_of(client.chat_update, channel="C1", ts="1.000001", text="x") == "message_not_found"
    assert error_of(client.chat_update, channel="C1", ts=theirs["ts"], text="x") == "cant_update_message"


def test_delete_removes_the_message(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="oops")["ts"]
    client.chat_delete(channel="C1", ts=ts)
    assert fake.messages("C1") == []
    assert error_of(client.chat_delete, channel="C1", ts=ts) == "message_not_found"


def test_ephemeral_goes_to_one_member_only(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert [(e["channel"], e["user"], e["text"]) for e in fake.ephemerals] == [("C1", "U1", "psst")]
    assert fake.messages("C1") == []
    fake.add_user("U3", "dave")
    assert error_of(client.chat_postEphemeral, channel="C1", user="U3", text="x") == "user_not_in_channel"


def test_permalink_points_at_the_message(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="link me")["ts"]
    link = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/C1/p{ts.replace('.', '')}")


# conversations and users ------------------------------------------------------------------------------------


def test_conversations_open_gives_a_stable_dm_to_post_into(fake: FakeSlack, client: WebClient) -> None:
    first = client.conversations_open(users="U1")["channel"]["id"]
    again = client.conversations_open(users="U1")
    assert first.startswith("D") and again["channel"]["id"] == first and again["already_open"]
    assert client.conversations_open(users="U2")["channel"]["id"] != first
    client.chat_postMessage(channel=first, text="your weekly check-in")
    assert fake.messages(first)[0]["text"] == "your weekly check-in"
    assert fake.dm_channel_id("U1") == first


@pytest.mark.parametrize(
    ("user", "error"),
    [
        ("UNOPE", "user_not_found"),
        ("U0BOT", "cannot_dm_bot"),
        ("UOTHERBOT", "cannot_dm_bot"),
        ("UGONE", "user_disabled"),
    ],
)
def test_conversations_open_errors(client: WebClient, user: str, error: str) -> None:
    assert error_of(client.conversations_open, users=user) == error


def test_conversations_info_and_join(fake: FakeSlack, client: WebClient) -> None:
    info = client.conversations_info(channel="COUT")["channel"]
    assert info["name"] == "elsewhere" and info["is_member"] is False
    client.conversations_join(channel="COUT")
    assert client.conversations_info(channel="COUT")["channel"]["is_member"] is True
    assert client.chat_postMessage(channel="COUT", text="hello")["ok"]
    fake.add_channel("GPRIV", "secret", is_private=True, bot_is_member=False)
    assert error_of(client.conversations_info, channel="GPRIV") == "channel_not_found"


def history_texts(client: WebClient, **kwargs) -> list[str]:
    return [m["text"] for m in client.conversations_history(**kwargs)["messages"]]


def test_conversations_history_is_newest_first_without_thread_replies(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    client.chat_postMessage(channel="C1", text="reply", thread_ts=parent)
    fake.add_message("C1", "U1", "a human wrote this")
    client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    body = client.conversations_history(channel="C1").data
    assert [m["text"] for m in body["messages"]] == ["a human wrote this", "parent"]
    assert (body["has_more"], body["pin_count"]) == (False, 0)
    top = body["messages"][1]
    assert (top["ts"], top["thread_ts"], top["reply_count"], top["user"]) == (parent, parent, 1, "U0BOT")
    assert "channel" not in top and body["messages"][0]["user"] == "U1"
    assert history_texts(client, channel="CARCH") == []


def test_conversations_history_window_is_exclusive_unless_inclusive(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(4)]
    assert history_texts(client, channel="C1", oldest=stamps[0], latest=stamps[3]) == ["2", "1"]
    assert history_texts(client, channel="C1", oldest=stamps[1], latest=stamps[2], inclusive=True) == ["2", "1"]
    assert history_texts(client, channel="C1", oldest=stamps[2]) == ["3"]
    assert history_texts(client, channel="C1", latest=stamps[1]) == ["0"]


def test_conversations_history_limit_and_has_more(client: WebClient) -> None:
    for i in range(5):
        client.chat_postMessage(channel="C1", text=str(i))
    first = client.conversations_history(channel="C1", limit=2)
    assert [m["text"] for m in first["messages"]] == ["4", "3"] and first["has_more"] is True
    second = client.conversations_history(channel="C1", limit=2, cursor=first["response_metadata"]["next_cursor"])
    assert [m["text"] for m in second["messages"]] == ["2", "1"] and second["has_more"] is True
    oldest_shown = second["messages"][-1]["ts"]
    last = client.conversations_history(channel="C1", limit=2, latest=oldest_shown)
    assert [m["text"] for m in last["messages"]] == ["0"] and last["has_more"] is False
    assert "response_metadata" not in last.data


def test_conversations_history_shows_metadata_only_on_request(client: WebClient) -> None:
    metadata = {"event_type": "checkin_prompt", "event_payload": {"week": "2025-W07"}}
    client.chat_postMessage(channel="C1", text="how did it go?", metadata=metadata)
    client.chat_postMessage(channel="C1", text="no metadata")
    assert ["metadata" in m for m in client.conversations_history(channel="C1")["messages"]] == [False, False]
    full = client.conversations_history(channel="C1", include_all_metadata=True)["messages"]
    assert "metadata" not in full[0] and full[1]["metadata"] == metadata


def test_conversations_history_keeps_uploaded_files_and_reads_dms(fake: FakeSlack, client: WebClient) -> None:
    client.files_upload_v2(channel="C1", content=b"a,b\n", filename="kr.csv", initial_comment="Archive")
    [message] = client.conversations_history(channel="C1")["messages"]
    assert message["text"] == "Archive" and [f["name"] for f in message["files"]] == ["kr.csv"]
    dm = client.conversations_open(users="U1")["channel"]["id"]
    client.chat_postMessage(channel=dm, text="your weekly check-in")
    assert history_texts(client, channel=dm) == ["your weekly check-in"]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"channel": "CNOPE"}, "channel_not_found"),
        ({"channel": "GPRIV"}, "channel_not_found"),
        ({"channel": "COUT"}, "not_in_channel"),
        ({"channel": "C1", "limit": 0}, "invalid_limit"),
        ({"channel": "C1", "limit": 1000}, "invalid_limit"),
        ({"channel": "C1", "limit": "many"}, "invalid_limit"),
        ({"channel": "C1", "latest": "yesterday"}, "invalid_ts_latest"),
        ({"channel": "C1", "oldest": "1.2.3"}, "invalid_ts_oldest"),
        ({"channel": "C1", "cursor": "not-a-cursor"}, "invalid_cursor"),
    ],
    ids=[
        "unknown",
        "private-not-member",
        "public-not-member",
        "limit-0",
        "limit-1000",
        "limit-text",
        "latest",
        "oldest",
        "cursor",
    ],
)
def test_conversations_history_errors(fake: FakeSlack, client: WebClient, args: dict, error: str) -> None:
    fake.add_channel("GPRIV", "secret", is_private=True, bot_is_member=False)
    assert error_of(client.conversations_history, **args) == error


def thread_texts(client: WebClient, **kwargs) -> list[str]:
    return [m["text"] for m in client.conversations_replies(**kwargs)["messages"]]


def test_conversations_replies_is_the_parent_then_its_replies_oldest_first(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    client.chat_postMessage(channel="C1", text="elsewhere")
    first = client.chat_postMessage(channel="C1", text="reply 1", thread_ts=parent)["ts"]
    fake.add_message("C1", "U2", "reply 2", thread_ts=parent)
    body = client.conversations_replies(channel="C1", ts=parent).data
    assert [m["text"] for m in body["messages"]] == ["parent", "reply 1", "reply 2"]
    assert body["has_more"] is False and "response_metadata" not in body
    top, reply = body["messages"][0], body["messages"][1]
    assert (top["thread_ts"], top["reply_count"], top["reply_users"]) == (parent, 2, ["U0BOT", "U2"])
    assert (reply["ts"], reply["thread_ts"]) == (first, parent) and "channel" not in reply
    assert thread_texts(client, channel="C1", ts=first) == ["parent", "reply 1", "reply 2"]


def test_conversations_replies_of_a_message_without_replies_is_just_that_message(client: WebClient) -> None:
    lonely = client.chat_postMessage(channel="C1", text="nobody answered")["ts"]
    [message] = client.conversations_replies(channel="C1", ts=lonely)["messages"]
    assert (message["ts"], message["text"], "thread_ts" in message) == (lonely, "nobody answered", False)
    dm = client.conversations_open(users="U1")["channel"]["id"]
    prompt = client.chat_postMessage(channel=dm, text="your weekly check-in")["ts"]
    assert thread_texts(client, channel=dm, ts=prompt) == ["your weekly check-in"]


def test_conversations_replies_window_keeps_the_parent_first(client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    stamps = [client.chat_postMessage(channel="C1", text=str(i), thread_ts=parent)["ts"] for i in range(4)]
    assert thread_texts(client, channel="C1", ts=parent, oldest=stamps[0], latest=stamps[3]) == ["parent", "1", "2"]
    window = {"oldest": stamps[1], "latest": stamps[2], "inclusive": True}
    assert thread_texts(client, channel="C1", ts=parent, **window) == ["parent", "1", "2"]
    assert thread_texts(client, channel="C1", ts=parent, oldest=stamps[2]) == ["parent", "3"]
    assert thread_texts(client, channel="C1", ts=parent, latest=stamps[0]) == ["parent"]


def test_conversations_replies_limit_and_cursor_page_through_the_replies(client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    for i in range(5):
        client.chat_postMessage(channel="C1", text=str(i), thread_ts=parent)
    first = client.conversations_replies(channel="C1", ts=parent, limit=2)
    assert [m["text"] for m in first["messages"]] == ["parent", "0", "1"] and first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_replies(channel="C1", ts=parent, limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["parent", "2", "3"] and second["has_more"] is True
    cursor = second["response_metadata"]["next_cursor"]
    last = client.conversations_replies(channel="C1", ts=parent, limit=2, cursor=cursor)
    assert [m["text"] for m in last["messages"]] == ["parent", "4"] and last["has_more"] is False
    assert "response_metadata" not in last.data


def test_conversations_replies_shows_metadata_only_on_request(client: WebClient) -> None:
    metadata = {"event_type": "checkin_prompt", "event_payload": {"week": "2025-W07"}}
    parent = client.chat_postMessage(channel="C1", text="how did it go?", metadata=metadata)["ts"]
    client.chat_postMessage(channel="C1", text="no metadata", thread_ts=parent)
    plain = client.conversations_replies(channel="C1", ts=parent)["messages"]
    assert ["metadata" in m for m in plain] == [False, False]
    full = client.conversations_replies(channel="C1", ts=parent, include_all_metadata=True)["messages"]
    assert full[0]["metadata"] == metadata and "metadata" not in full[1]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"channel": "CNOPE"}, "channel_not_found"),
        ({"channel": "GPRIV"}, "channel_not_found"),
        ({"channel": "COUT"}, "not_in_channel"),
        ({"channel": "C1", "ts": None}, "invalid_arguments"),
        ({"channel": "C1", "ts": "1.000001"}, "thread_not_found"),
        ({"channel": "C1", "limit": 0}, "invalid_limit"),
        ({"channel": "C1", "limit": 1000}, "invalid_limit"),
        ({"channel": "C1", "latest": "yesterday"}, "invalid_ts_latest"),
        ({"channel": "C1", "oldest": "1.2.3"}, "invalid_ts_oldest"),
        ({"channel": "C1", "cursor": "not-a-cursor"}, "invalid_cursor"),
    ],
    ids=[
        "unknown",
        "private-not-member",
        "public-not-member",
        "no-ts",
        "no-such-message",
        "limit-0",
        "limit-1000",
        "latest",
        "oldest",
        "cursor",
    ],
)
def test_conversations_replies_errors(fake: FakeSlack, client: WebClient, args: dict, error: str) -> None:
    fake.add_channel("GPRIV", "secret", is_private=True, bot_is_member=False)
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    args = {"ts": parent, **args}
    if args["ts"] is None:
        del args["ts"]
    assert error_of(client.api_call, "conversations.replies", params=args) == error


def test_users_info_is_realistic(fake: FakeSlack, client: WebClient) -> None:
    fake.set_user_status("U1", "On holiday", ":palm_tree:")
    user = client.users_info(user="U1")["user"]
    assert user["id"] == "U1" and user["team_id"] == "T0SANDBOX" and user["tz"] == "Europe/Paris"
    assert user["profile"]["status_text"] == "On holiday" and user["profile"]["status_emoji"] == ":palm_tree:"
    assert user["is_bot"] is False and user["deleted"] is False
    assert error_of(client.users_info, user="UNOPE") == "user_not_found"


@pytest.mark.parametrize(("month", "offset"), [(1, 3600), (7, 7200)])
def test_tz_offset_follows_daylight_saving_time(month: int, offset: int) -> None:
    instant = datetime(2025, month, 15, 12, tzinfo=UTC).timestamp()
    with FakeSlack(wall_clock=lambda: instant) as fake:
        fake.add_user("U1", "alice", tz="Europe/Paris")
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        assert client.users_info(user="U1")["user"]["tz_offset"] == offset


def test_each_token_sees_only_its_workspace(fake: FakeSlack) -> None:
    fake.add_workspace("T2", "Other", "xoxb-other", bot_user_id="U2BOT", bot_id="B2BOT")
    other = WebClient(token="xoxb-other", base_url=fake.api_url)
    assert other.auth_test()["team_id"] == "T2"
    assert error_of(other.chat_postMessage, channel="C1", text="hi") == "channel_not_found"
    assert error_of(other.users_info, user="U1") == "user_not_found"
    assert fake.calls_to("auth.test")[-1].team_id == "T2"


def member_ids(pages) -> list[list[str]]:
    return [[member["id"] for member in page["members"]] for page in pages]


def test_users_list_is_every_member_of_the_workspace_as_users_info_shows_them(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.set_user_status("U1", "On holiday", ":palm_tree:", expiration=1_900_000_000)
    fake.add_workspace("T2", "Other", "xoxb-other", bot_user_id="U2BOT", bot_id="B2BOT")
    fake.add_user("UELSEWHERE", "dave", team_id="T2")
    body = client.users_list().data
    assert member_ids([body]) == [["U0BOT", "U1", "U2", "UGONE", "UOTHERBOT"]]
    assert body["members"] == [client.users_info(user=member["id"])["user"] for member in body["members"]]
    assert body["response_metadata"] == {"next_cursor": ""} and isinstance(body["cache_ts"], int)
    members = {member["id"]: member for member in body["members"]}
    assert members["UGONE"]["deleted"] is True and members["U1"]["deleted"] is False
    assert members["UOTHERBOT"]["is_bot"] is True and members["U0BOT"]["is_bot"] is True
    assert members["U2"]["tz"] == "America/New_York" and members["U2"]["tz_offset"] in (-18000, -14400)
    assert members["U1"]["profile"]["status_expiration"] == 1_900_000_000
    assert members["U2"]["profile"]["status_expiration"] == 0
    assert client.users_list(team_id="T2")["members"] == body["members"]  # ignored with a workspace token
    other = WebClient(token="xoxb-other", base_url=fake.api_url)
    assert member_ids([other.users_list()]) == [["U2BOT", "UELSEWHERE"]]


def test_users_list_pages_through_with_cursors(fake: FakeSlack, client: WebClient) -> None:
    pages = [page.data for page in client.users_list(limit=2)]  # slack_sdk follows next_cursor itself
    assert member_ids(pages) == [["U0BOT", "U1"], ["U2", "UGONE"], ["UOTHERBOT"]]
    assert [bool(page["response_metadata"]["next_cursor"]) for page in pages] == [True, True, False]
    assert len(fake.calls_to("users.list")) == 3

    first = client.users_list(limit=3)
    fake.add_user("UNEW", "erin")  # joins after the first page was read: the next pages still find them
    rest = client.users_list(limit=3, cursor=first["response_metadata"]["next_cursor"])
    assert member_ids([first, rest]) == [["U0BOT", "U1", "U2"], ["UGONE", "UNEW", "UOTHERBOT"]]
    assert rest["response_metadata"]["next_cursor"] == ""


@pytest.mark.parametrize("limit", [None, 0, 5000])
def test_users_list_serves_at_most_1000_members_a_page(fake: FakeSlack, client: WebClient, limit: int | None) -> None:
    for n in range(1000):
        fake.add_user(f"UMANY{n:04d}", f"person{n}", tz="UTC")
    args = {} if limit is None else {"limit": limit}
    first = client.users_list(**args)
    assert len(first["members"]) == 1000 and first["response_metadata"]["next_cursor"]
    rest = client.users_list(cursor=first["response_metadata"]["next_cursor"], **args)
    assert len(rest["members"]) == 5 and rest["response_metadata"]["next_cursor"] == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"cursor": "not a cursor"}, "invalid_cursor"),
        ({"cursor": base64.b64encode(b"next_ts:1700000000.000100").decode()}, "invalid_cursor"),
        ({"cursor": base64.b64encode(b"user:").decode()}, "invalid_cursor"),
        ({"limit": "many"}, "invalid_arguments"),
        ({"limit": -1}, "invalid_arguments"),
    ],
)
def test_users_list_errors(client: WebClient, args: dict, error: str) -> None:
    assert error_of(client.api_call, "users.list", http_verb="GET", params=args) == error


def test_users_list_counts_against_its_rate_limit(fake: FakeSlack, client: WebClient, clock: Clock) -> None:
    fake.set_rate_limit("users.list", 2)
    assert [len(page["members"]) for page in client.users_list(limit=3)] == [3, 2]
    with pytest.raises(SlackApiError) as failure:
        client.users_list(limit=3)
    assert failure.value.response.status_code == 429 and failure.value.response.headers["Retry-After"] == "60"
    assert [c.status for c in fake.calls_to("users.list")] == [200, 200, 429]
    clock.now += 60
    assert client.users_list()["ok"]


def test_a_deactivated_user_shows_as_deleted_and_cannot_be_messaged(fake: FakeSlack, client: WebClient) -> None:
    fake.set_user_deleted("U1")
    assert client.users_info(user="U1")["user"]["deleted"] is True
    assert error_of(client.conversations_open, users="U1") == "user_disabled"
    fake.set_user_deleted("U1", False)
    assert client.users_info(user="U1")["user"]["deleted"] is False
    assert client.conversations_open(users="U1")["ok"]


def test_profile_changes_move_updated() -> None:
    now = [1_800_000_000.0]
    fake = FakeSlack(wall_clock=lambda: now[0])
    assert fake.add_user("U1", "alice")["updated"] == 1_800_000_000
    for change in (
        lambda: fake.set_user_zone("U1", "Asia/Tokyo"),
        lambda: fake.set_user_status("U1", "Away", ":palm_tree:", expiration=1_800_086_400),
        lambda: fake.set_user_deleted("U1"),
    ):
        now[0] += 60
        change()
        assert fake.user("U1")["updated"] == int(now[0])
    user = fake.user("U1")
    assert (user["tz"], user["profile"]["status_expiration"], user["deleted"]) == ("Asia/Tokyo", 1_800_086_400, True)
    fake.set_user_status("U1", "", "")
    assert fake.user("U1")["profile"]["status_expiration"] == 0


# reactions --------------------------------------------------------------------------------------------------


def test_reactions_add_and_get(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="vote")["ts"]
    fake.add_reaction("C1", ts, "U1", "white_check_mark")
    fake.add_reaction("C1", ts, "U2", "white_check_mark")
    client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    reactions = client.reactions_get(channel="C1", timestamp=ts)["message"]["reactions"]
    assert reactions == [
        {"name": "white_check_mark", "users": ["U1", "U2"], "count": 2},
        {"name": "eyes", "users": ["U0BOT"], "count": 1},
    ]
    assert error_of(client.reactions_add, channel="C1", timestamp=ts, name="eyes") == "already_reacted"
    assert error_of(client.reactions_get, channel="C1", timestamp="1.000001") == "message_not_found"
    fake.remove_reaction("C1", ts, "U1", "white_check_mark")
    assert fake.message("C1", ts)["reactions"][0]["count"] == 1


# views ------------------------------------------------------------------------------------------------------


def test_views_open_records_the_modal(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.new_trigger_id("U1")
    view = client.views_open(trigger_id=trigger, view=dict(MODAL, private_metadata="42"))["view"]
    stored = fake.view(view["id"])
    assert stored["user"] == "U1" and stored["callback_id"] == "draft" and stored["private_metadata"] == "42"
    assert stored["view"]["title"]["text"] == "Draft" and stored["root_view_id"] == view["id"]
    assert [v["id"] for v in fake.open_views("U1")] == [view["id"]]
    assert view["hash"] == stored["hash"] and view["state"] == {"values": {}}


def test_trigger_ids_expire_after_3_seconds_and_work_once(fake: FakeSlack, client: WebClient, clock: Clock) -> None:
    trigger = fake.new_trigger_id("U1")
    clock.now += 3.5
    assert error_of(client.views_open, trigger_id=trigger, view=MODAL) == "expired_trigger_id"
    trigger = fake.new_trigger_id("U1")
    clock.now += 2.5
    client.views_open(trigger_id=trigger, view=MODAL)
    assert error_of(client.views_open, trigger_id=trigger, view=MODAL) == "expired_trigger_id"
    assert error_of(client.views_open, trigger_id="123.456.abc", view=MODAL) == "invalid_trigger_id"
    fake.add_workspace("T2", "Other", "xoxb-other", bot_user_id="U2BOT", bot_id="B2BOT")
    other = WebClient(token="xoxb-other", base_url=fake.api_url)
    foreign = error_of(other.views_open, trigger_id=fake.new_trigger_id("U1"), view=MODAL)
    assert foreign == "invalid_trigger_id"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"title": {"type": "plain_text", "text": "x" * 25}}, "/view/title/text"),
        ({"private_metadata": "x" * 3001}, "/view/private_metadata"),
        ({"callback_id": "x" * 256}, "/view/callback_id"),
        ({"type": "home"}, "/view/type"),
        ({"submit": None}, "/view/submit"),
        ({"blocks": [SECTION] * 101}, "/view/blocks"),
    ],
    ids=["title-25", "metadata-3001", "callback-256", "wrong-type", "input-without-submit", "101-blocks"],
)
def test_invalid_views_are_invalid_arguments(fake: FakeSlack, client: WebClient, change: dict, pointer: str) -> None:
    view = {k: v for k, v in {**MODAL, **change}.items() if v is not None}
    with pytest.raises(SlackApiError) as failure:
        client.views_open(trigger_id=fake.new_trigger_id("U1"), view=view)
    assert failure.value.response["error"] == "invalid_arguments"
    assert any(pointer in m for m in failure.value.response["response_metadata"]["messages"])


def test_push_stacks_up_to_three_views(fake: FakeSlack, client: WebClient) -> None:
    root = client.views_open(trigger_id=fake.new_trigger_id("U1"), view=MODAL)["view"]["id"]
    second = client.views_push(trigger_id=fake.new_trigger_id("U1"), view=MODAL)["view"]
    client.views_push(trigger_id=fake.new_trigger_id("U1"), view=MODAL)
    assert second["root_view_id"] == root and second["previous_view_id"] == root
    assert len(fake.open_views("U1")) == 3
    fourth = error_of(client.views_push, trigger_id=fake.new_trigger_id("U1"), view=MODAL)
    assert fourth == "push_limit_reached"


def test_views_update_checks_the_hash(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.new_trigger_id("U1"), view=MODAL)["view"]
    renamed = dict(MODAL, title={"type": "plain_text", "text": "Step 2"})
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=renamed)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert fake.view(opened["id"])["view"]["title"]["text"] == "Step 2"
    stale = error_of(client.views_update, view_id=opened["id"], hash=opened["hash"], view=MODAL)
    assert stale == "hash_conflict"
    assert error_of(client.views_update, view_id="VNOPE", view=MODAL) == "not_found"


def test_views_publish_sets_the_home_tab(fake: FakeSlack, client: WebClient) -> None:
    home = {"type": "home", "blocks": [SECTION]}
    first = client.views_publish(user_id="U1", view=home)["view"]
    assert fake.home("U1")["blocks"] == [SECTION] and fake.home("U2") is None
    client.views_publish(user_id="U1", view=dict(home, blocks=[SECTION, {"type": "divider"}]))
    assert len(fake.home("U1")["blocks"]) == 2 and fake.home("U1")["id"] == first["id"]
    assert error_of(client.views_publish, user_id="U1", view=MODAL) == "invalid_arguments"
    assert error_of(client.views_publish, user_id="UNOPE", view=home) == "user_not_found"


# faults -----------------------------------------------------------------------------------------------------


def test_fail_next_is_consumed_in_order(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", "account_inactive")
    fake.fail_next("chat.postMessage", "ratelimited", status=429)
    assert error_of(client.chat_postMessage, channel="C1", text="1") == "account_inactive"
    assert error_of(client.chat_postMessage, channel="C1", text="2") == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="3")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [200, 429, 200]
    assert [m["text"] for m in fake.messages("C1")] == ["3"]


def test_rate_limit_has_retry_after_and_slack_sdk_retries_it(fake: FakeSlack) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after=1)
    plain = WebClient(token=TOKEN, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as failure:
        plain.chat_postMessage(channel="C1", text="x")
    assert failure.value.response.status_code == 429
    assert failure.value.response.headers["Retry-After"] == "1"
    assert failure.value.response["error"] == "ratelimited"

    fake.rate_limit_next("chat.postMessage", retry_after=1)
    patient = WebClient(
        token=TOKEN, base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    started = time.monotonic()
    assert patient.chat_postMessage(channel="C1", text="second try")["ok"]
    assert time.monotonic() - started >= 0.9
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 429, 200]


def test_set_rate_limit_counts_per_minute_per_workspace(fake: FakeSlack, client: WebClient, clock: Clock) -> None:
    fake.set_rate_limit("users.info", 2)
    client.users_info(user="U1")
    clock.now += 20
    client.users_info(user="U1")
    with pytest.raises(SlackApiError) as failure:
        client.users_info(user="U1")
    assert failure.value.response.status_code == 429
    assert failure.value.response.headers["Retry-After"] == "40"
    fake.add_workspace("T2", "Other", "xoxb-other", bot_user_id="U2BOT", bot_id="B2BOT")
    assert WebClient(token="xoxb-other", base_url=fake.api_url).users_info(user="U2BOT")["ok"]
    clock.now += 41
    assert client.users_info(user="U1")["ok"]
    fake.set_rate_limit("users.info", None)
    for _ in range(3):
        client.users_info(user="U1")


def post_outcomes(client: WebClient, count: int) -> list[str]:
    """Post ``count`` messages; "ok" or Slack's error name for each."""
    outcomes = []
    for i in range(count):
        try:
            client.chat_postMessage(channel="C1", text=str(i))
            outcomes.append("ok")
        except SlackApiError as error:
            outcomes.append(error.response["error"])
    return outcomes


def test_fail_share_fails_a_reproducible_share_of_calls_without_effect(fake: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake.api_url, retry_handlers=[])
    fake.fail_share("chat.postMessage", 0.5, seed=7)
    outcomes = post_outcomes(client, 40)
    assert set(outcomes) == {"ok", "internal_error"} and 10 <= outcomes.count("internal_error") <= 30
    assert len(fake.messages("C1")) == outcomes.count("ok")
    calls = fake.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [200 if o == "ok" else 500 for o in outcomes]
    assert all(c.team_id is None for c in calls if not c.ok)
    fake.fail_share("chat.postMessage", 0.5, seed=7)
    assert post_outcomes(client, 40) == outcomes
    fake.fail_share("chat.postMessage", 0)
    assert post_outcomes(client, 5) == ["ok"] * 5
    assert client.auth_test()["ok"]


def test_fail_share_of_429s_comes_after_queued_faults_until_cleared(fake: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake.api_url, retry_handlers=[])
    fake.fail_share("chat.postMessage", 1, error="ratelimited", status=429, retry_after=1)
    fake.fail_next("chat.postMessage", "account_inactive")
    assert error_of(client.chat_postMessage, channel="C1", text="1") == "account_inactive"
    with pytest.raises(SlackApiError) as failure:
        client.chat_postMessage(channel="C1", text="2")
    assert failure.value.response.status_code == 429 and failure.value.response.headers["Retry-After"] == "1"
    fake.fail_next("chat.postMessage", "account_inactive")
    fake.clear_faults()
    assert client.chat_postMessage(channel="C1", text="3")["ok"]
    assert [m["text"] for m in fake.messages("C1")] == ["3"]


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_fail_share_refuses_impossible_shares(fake: FakeSlack, share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        fake.fail_share("chat.postMessage", share)


def test_hold_next_posts_at_once_but_answers_late(fake: FakeSlack, client: WebClient) -> None:
    fake.hold_next("chat.postMessage", 1.0)
    answers: list[str] = []
    started = time.monotonic()
    held = threading.Thread(target=lambda: answers.append(client.chat_postMessage(channel="C1", text="held")["ts"]))
    held.start()
    call = fake.wait_for("chat.postMessage", timeout=3)
    assert held.is_alive() and [m["text"] for m in fake.messages("C1")] == ["held"]
    assert client.chat_postMessage(channel="C1", text="not held")["ok"] and client.auth_test()["ok"]
    assert held.is_alive()  # the other calls went through while this answer was held
    held.join(timeout=5)
    assert time.monotonic() - started >= 1.0
    assert answers == [call.response["ts"]] == [fake.messages("C1")[0]["ts"]]


def test_held_answer_outlives_a_client_that_gave_up(fake: FakeSlack) -> None:
    impatient = WebClient(token=TOKEN, base_url=fake.api_url, timeout=0.3, retry_handlers=[])
    fake.hold_next("chat.postMessage", 0.6, times=2)
    for text in ("first", "second"):
        with pytest.raises(TimeoutError):
            impatient.chat_postMessage(channel="C1", text=text)
    assert [m["text"] for m in fake.messages("C1")] == ["first", "second"]
    assert [c.ok for c in fake.calls_to("chat.postMessage")] == [True, True]
    time.sleep(0.5)  # the second held answer is written to a closed connection: quietly dropped
    assert impatient.chat_postMessage(channel="C1", text="third")["ok"]


def test_stop_abandons_held_answers_instead_of_waiting() -> None:
    fake = FakeSlack().start()
    client = WebClient(token=TOKEN, base_url=fake.api_url, timeout=10, retry_handlers=[])
    fake.hold_next("auth.test", 30)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(client.auth_test())
        except Exception as error:  # whatever the abandoned connection raises
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    fake.wait_for("auth.test", timeout=3)
    started = time.monotonic()
    fake.stop()
    caller.join(timeout=5)
    assert time.monotonic() - started < 2 and not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Exception)


def timed(call, *args, **kwargs) -> float:
    """Seconds a call takes to be answered."""
    started = time.monotonic()
    call(*args, **kwargs)
    return time.monotonic() - started


def test_latency_delays_each_answer_while_calls_wait_side_by_side(fake: FakeSlack, client: WebClient) -> None:
    fake.set_latency(0.2)
    assert timed(client.auth_test) >= 0.2
    with ThreadPoolExecutor(max_workers=10) as pool:
        started = time.monotonic()
        posts = [pool.submit(client.chat_postMessage, channel="C1", text=str(n)) for n in range(10)]
        assert all(post.result()["ok"] for post in posts)
        assert time.monotonic() - started < 1.0
    assert len(fake.messages("C1")) == 10
    assert timed(post_json, fake.new_response_url("C1", "U1"), {"text": "later"}) >= 0.2


def test_latency_outlives_clear_faults_until_turned_off(fake: FakeSlack, client: WebClient) -> None:
    fake.set_latency(0.4, jitter=0.1, seed=3)
    fake.clear_faults()
    assert 0.3 <= timed(client.auth_test) < 1.0
    fake.set_latency(None)
    assert timed(client.auth_test) < 0.25


def test_latency_comes_on_top_of_a_hold(fake: FakeSlack, client: WebClient) -> None:
    fake.set_latency(0.2)
    fake.hold_next("auth.test", 0.3)
    assert timed(client.auth_test) >= 0.5


def test_latency_jitter_is_seeded_and_bounded() -> None:
    def draws(seed: int) -> list[float]:
        plan = FaultPlan(time.monotonic)
        plan.set_latency(0.2, 0.1, seed)
        return [plan.latency() for _ in range(50)]

    first = draws(7)
    assert first == draws(7) != draws(8)
    assert all(0.1 <= d <= 0.3 for d in first) and len(set(first)) == 50


@pytest.mark.parametrize(("seconds", "jitter"), [(-0.1, 0.0), (0.1, 0.2), (0.1, -0.1)])
def test_set_latency_refuses_impossible_latencies(fake: FakeSlack, seconds: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="latency"):
        fake.set_latency(seconds, jitter=jitter)


# recording --------------------------------------------------------------------------------------------------


def test_wait_for_blocks_until_the_call_happens(fake: FakeSlack, client: WebClient) -> None:
    timer = threading.Timer(0.2, client.chat_postMessage, kwargs={"channel": "C1", "text": "later"})
    timer.start()
    call = fake.wait_for("chat.postMessage", lambda c: c.args.get("text") == "later", timeout=3)
    assert call.response["ok"]
    timer.join()


def test_wait_for_counts_recorded_calls_and_explains_a_timeout(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="one")
    client.chat_postMessage(channel="C1", text="two")
    assert fake.wait_for("chat.postMessage", count=2, timeout=0.1).args["text"] == "two"
    with pytest.raises(AssertionError, match=r"(?s)chat\.update.*chat\.postMessage \[200 ok\]"):
        fake.wait_for("chat.update", timeout=0.2)
    fake.clear_calls()
    assert fake.calls == []


# response_url -----------------------------------------------------------------------------------------------


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_response_url_works_five_times(fake: FakeSlack) -> None:
    url = fake.new_response_url("C1", "U1")
    assert url.startswith(fake.base_url + "/response/")
    for i in range(5):
        assert post_json(url, {"text": f"reply {i}"})[0] == 200
    assert post_json(url, {"text": "one too many"}) == (404, {"ok": False, "error": "used_url"})
    assert [r["body"]["text"] for r in fake.responses] == [f"reply {i}" for i in range(5)]
    assert [e["text"] for e in fake.ephemerals] == [f"reply {i}" for i in range(5)]
    assert [c.status for c in fake.calls_to("response_url")] == [200] * 5 + [404]


def test_response_url_expires_after_30_minutes(fake: FakeSlack, clock: Clock) -> None:
    url = fake.new_response_url("C1", "U1")
    clock.now += 29 * 60
    assert post_json(url, {"text": "still fine"})[0] == 200
    clock.now += 2 * 60
    assert post_json(url, {"text": "too late"}) == (404, {"ok": False, "error": "expired_url"})


def test_response_url_in_channel_and_replace_original(fake: FakeSlack, client: WebClient) -> None:
    post_json(fake.new_response_url("C1", "U1"), {"text": "for all", "response_type": "in_channel"})
    assert [(m["text"], m["user"]) for m in fake.messages("C1")] == [("for all", "U0BOT")]
    ts = client.chat_postMessage(channel="C1", text="vote here")["ts"]
    post_json(fake.new_response_url("C1", "U1", message_ts=ts), {"text": "closed", "replace_original": True})
    assert fake.message("C1", ts)["text"] == "closed" and fake.message("C1", ts)["edited"]
    assert fake.wait_for_response(lambda r: r["body"].get("replace_original"))["url_id"]


def test_response_url_refuses_invalid_blocks(fake: FakeSlack) -> None:
    status, body = post_json(fake.new_response_url("C1", "U1"), {"text": "t", "blocks": [{"type": "nope"}]})
    assert (status, body["error"]) == (400, "invalid_blocks")
    assert fake.responses == [] and fake.ephemerals == []


# files and OAuth --------------------------------------------------------------------------------------------


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    client.files_upload_v2(
        channel="C1",
        content=b"score,0.7\n",
        filename="scores.csv",
        title="Scores",
        initial_comment="Cycle archive",
    )
    [upload] = fake.uploads
    assert (upload["filename"], upload["title"], upload["channel_id"]) == ("scores.csv", "Scores", "C1")
    assert upload["content"] == b"score,0.7\n" and upload["initial_comment"] == "Cycle archive"
    assert fake.messages("C1")[0]["text"] == "Cycle archive"


def test_complete_upload_without_the_bytes_fails(fake: FakeSlack, client: WebClient) -> None:
    file_id = client.files_getUploadURLExternal(filename="a.txt", length=3)["file_id"]
    missing = error_of(client.files_completeUploadExternal, files=[{"id": file_id}], channel_id="C1")
    assert missing == "file_not_found"


def fetch(url: str, token: str | None = None, *, follow: bool = True) -> tuple[int, str, bytes, str]:
    """GET a file URL as a bot would: (status, content type, body, the URL finally answered)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    handlers = [] if follow else [_NoRedirect()]
    try:
        with urllib.request.build_opener(*handlers).open(urllib.request.Request(url, headers=headers)) as response:
            return response.status, response.headers["Content-Type"], response.read(), response.url
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read(), url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def test_a_shared_file_is_a_message_of_its_author_with_the_file(fake: FakeSlack, client: WebClient) -> None:
    shared = fake.share_file("C1", "U2", "backlog.csv", b"title\nDark mode\n", text="our backlog")
    [message] = client.conversations_history(channel="C1")["messages"]
    assert message["ts"] == shared["ts"] and message["user"] == "U2" and message["text"] == "our backlog"
    [file] = message["files"]
    assert (file["name"], file["filetype"], file["mimetype"], file["size"]) == ("backlog.csv", "csv", "text/csv", 16)
    assert file["user"] == "U2" and file["id"].startswith("F") and file["mode"] == "hosted"
    assert file["url_private_download"] == f"{fake.base_url}/files-pri/T0SANDBOX-{file['id']}/download/backlog.csv"
    assert file["url_private"] == f"{fake.base_url}/files-pri/T0SANDBOX-{file['id']}/backlog.csv"


@pytest.mark.parametrize(
    ("name", "filetype", "expected"),
    [
        ("notes.txt", None, ("text", "text/plain")),
        ("a.CSV", None, ("csv", "text/csv")),
        ("export", "csv", ("csv", "text/csv")),
        ("blob", None, ("binary", "application/octet-stream")),
    ],
)
def test_a_shared_files_type_follows_its_name_unless_given(fake: FakeSlack, name, filetype, expected) -> None:
    [file] = fake.share_file("C1", "U1", name, b"x", filetype=filetype)["files"]
    assert (file["filetype"], file["mimetype"]) == expected


def test_a_shared_file_is_served_to_its_workspaces_bot_only(fake: FakeSlack) -> None:
    [file] = fake.share_file("C1", "U1", "backlog.csv", b"title\nDark mode\n")["files"]
    url = file["url_private_download"]

    assert fetch(url, TOKEN)[:3] == (200, "text/csv", b"title\nDark mode\n")
    assert fetch(file["url_private"], TOKEN)[2] == b"title\nDark mode\n"
    status, content_type, body, landed = fetch(url)  # no token: Slack's sign-in page, as a browser would see it
    assert (status, content_type) == (200, "text/html; charset=utf-8") and b"Sign in" in body
    assert landed.startswith(f"{fake.base_url}/signin?redir=/files-pri/")
    assert fetch(url, "xoxb-wrong", follow=False)[0] == 302
    fake.add_workspace("T2", "Other", "xoxb-other", bot_user_id="U2BOT", bot_id="B2BOT")
    assert fetch(url, "xoxb-other", follow=False)[0] == 302
    missing = url.replace(file["id"], "FNOPE")
    assert fetch(missing, TOKEN)[0] == 404
    downloads = fake.calls_to("files.download")
    assert [(c.args["file"], c.status, c.ok) for c in downloads] == [
        (file["id"], 200, True),
        (file["id"], 200, True),
        (file["id"], 302, False),
        (file["id"], 302, False),
        (file["id"], 302, False),
        ("FNOPE", 404, False),
    ]
    assert downloads[0].token == TOKEN and downloads[0].team_id == "T0SANDBOX"
    assert downloads[2].response["error"] == "redirected_to_sign_in"


def test_download_faults_answer_like_a_refused_token_or_an_http_error(fake: FakeSlack) -> None:
    [file] = fake.share_file("C1", "U1", "backlog.csv", b"a\n")["files"]
    fake.fail_next("files.download")
    fake.fail_next("files.download", "internal_error", status=500)

    assert fetch(file["url_private_download"], TOKEN, follow=False)[0] == 302
    assert fetch(file["url_private_download"], TOKEN)[0] == 500
    assert fetch(file["url_private_download"], TOKEN)[:3] == (200, "text/csv", b"a\n")


def test_oauth_v2_access_exchanges_a_code_once(fake: FakeSlack) -> None:
    fake.add_workspace("T2", "Acme", "xoxb-acme", bot_user_id="U2BOT", bot_id="B2BOT")
    code = fake.new_oauth_code("T2", user_id="UINSTALL")
    client = WebClient(base_url=fake.api_url)
    body = client.oauth_v2_access(client_id="111.222", client_secret="shh", code=code).data
    assert body["access_token"] == "xoxb-acme" and body["token_type"] == "bot"
    assert body["team"] == {"id": "T2", "name": "Acme"} and body["bot_user_id"] == "U2BOT"
    assert body["authed_user"]["id"] == "UINSTALL" and body["app_id"] == "A0SANDBOX"
    assert "chat:write" in body["scope"].split(",")
    reused = error_of(client.oauth_v2_access, client_id="111.222", client_secret="shh", code=code)
    assert reused == "invalid_code"


def test_oauth_checks_client_credentials_when_configured() -> None:
    with FakeSlack(client_id="111.222", client_secret="shh") as fake:
        client = WebClient(base_url=fake.api_url)
        code = fake.new_oauth_code("T0SANDBOX")
        assert (
            error_of(client.oauth_v2_access, client_id="111.222", client_secret="bad", code=code) == "bad_client_secret"
        )
        assert client.oauth_v2_access(client_id="111.222", client_secret="shh", code=code)["ok"]


def test_lose_answer_next_posts_but_answers_an_error(fake: FakeSlack, client: WebClient) -> None:
    fake.lose_answer_next("chat.postMessage")
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C1", text="posted all the same")
    assert refused.value.response.status_code == 500
    assert [m["text"] for m in fake.messages("C1")] == ["posted all the same"]
    assert fake.calls_to("chat.postMessage")[0].ok  # the record says what Slack did, not what the client heard
    assert client.chat_postMessage(channel="C1", text="second")["ok"]  # used up


def test_lose_answer_next_leaves_refused_calls_alone(fake: FakeSlack, client: WebClient) -> None:
    fake.lose_answer_next("chat.postMessage")
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C0NOWHERE", text="refused")
    assert refused.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C1", text="lost answer")  # the loss was still pending
    assert [m["text"] for m in fake.messages("C1")] == ["lost answer"]


def test_lose_answer_share_is_repeatable(fake: FakeSlack, client: WebClient) -> None:
    def run(seed: int) -> list[bool]:
        fake.lose_answer_share("chat.postMessage", 0.5, seed=seed)
        heard = []
        for n in range(20):
            try:
                heard.append(client.chat_postMessage(channel="C1", text=str(n))["ok"])
            except SlackApiError:
                heard.append(False)
        fake.lose_answer_share("chat.postMessage", 0)
        return heard

    first, again = run(7), run(7)
    assert first == again and 3 < first.count(False) < 17
    assert len(fake.messages("C1")) == 40  # every call was posted, whatever its answer said


def test_drop_reply_next_shows_the_reply_and_drops_the_connection(fake: FakeSlack) -> None:
    fake.drop_reply_next()
    url = fake.new_response_url("C1", "U1")
    with pytest.raises(http.client.RemoteDisconnected):
        post_json(url, {"text": "for all", "response_type": "in_channel"})
    assert [m["text"] for m in fake.messages("C1")] == ["for all"]  # shown all the same
    assert post_json(url, {"text": "again", "response_type": "in_channel"})[0] == 200  # used up
