"""Sign in with Slack in the fake, as the dashboard will meet it: slack-sdk builds the authorize address, a browser
(urllib here) reads the page and follows a choice, and slack-sdk's WebClient exchanges the code and reads the person."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator

from bot.sandbox import FakeSlack
from bot.sandbox.fake.openid import Refused

CLIENT_ID = "1000.2000"
SECRET = "s3cret"
REDIRECT = "http://127.0.0.1:9/dashboard/signin/callback"
NOW = 1_800_000_000.0


class Clock:
    """A hand-moved monotonic clock: codes live 10 minutes of it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSlack]:
    with FakeSlack(
        client_id=CLIENT_ID, client_secret=SECRET, app_name="OKR Bot", clock=clock, wall_clock=lambda: NOW
    ) as fake:
        fake.add_user("U1", "ada", real_name="Ada Lovelace", email="ada@example.org")
        fake.add_user("U2", "grace", real_name="Grace Hopper")
        fake.add_user("U3", "gone", real_name="Gone Person", deleted=True)
        fake.add_workspace("T2", "Acme", "xoxb-acme", bot_user_id="U2BOT", bot_id="B2BOT")
        fake.add_user("U9", "wile", real_name="Wile E. Coyote", team_id="T2")
        yield fake


def authorize_url(
    fake: FakeSlack, *, state: str = "st4te", nonce: str | None = "n0nce", team: str | None = None
) -> str:
    """The address the bot sends the browser to, built as the bot builds it."""
    generator = OpenIDConnectAuthorizeUrlGenerator(
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT,
        scopes=["openid", "profile", "email"],
        authorization_url=urljoin(fake.api_url, "../openid/connect/authorize"),
    )
    return generator.generate(state, nonce=nonce, team=team)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def browse(url: str) -> tuple[int, str, dict[str, str]]:
    """GET as a browser would, without following redirects: (status, body, headers)."""
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(url, timeout=5) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def choices(page: str) -> dict[str, tuple[str, str]]:
    """user id -> (workspace, link) of each "Continue as" on the page."""
    found = re.findall(r'<a class="person" data-user="([^"]+)" data-workspace="([^"]+)" href="([^"]+)"', page)
    return {user: (workspace, unescape(href)) for user, workspace, href in found}


def choose(fake: FakeSlack, url: str, user: str) -> dict[str, list[str]]:
    """Open the page, follow the person's link; the query the browser comes back to the app with."""
    status, page, _ = browse(url)
    assert status == 200, page
    status, _, headers = browse(fake.base_url + choices(page)[user][1])
    assert status == 302
    location = headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


def code_for(fake: FakeSlack, user: str = "U1", *, nonce: str | None = "n0nce", team: str | None = None) -> str:
    return choose(fake, authorize_url(fake, nonce=nonce, team=team), user)["code"][0]


def exchange(fake: FakeSlack, code: str, *, redirect_uri: str = REDIRECT, secret: str = SECRET) -> dict:
    client = WebClient(base_url=fake.api_url)
    answer = client.openid_connect_token(
        client_id=CLIENT_ID, client_secret=secret, code=code, redirect_uri=redirect_uri
    )
    return answer.data  # type: ignore[return-value]


def error_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(SlackApiError) as refused:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(refused.value.response["error"])


def decode(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# the whole flow --------------------------------------------------------------------------------------------------


def test_the_page_lists_who_may_sign_in_and_a_choice_signs_them_in(fake: FakeSlack) -> None:
    status, page, headers = browse(authorize_url(fake))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Sign in to OKR Bot on Sandbox" in page
    listed = choices(page)
    assert list(listed) == ["U1", "U2"]  # by name; not the bot, the deactivated, nor another workspace's people
    assert {workspace for workspace, _ in listed.values()} == {"T0SANDBOX"}
    assert "Continue as Ada Lovelace (@ada)" in page and 'data-action="cancel"' in page

    back = choose(fake, authorize_url(fake), "U1")
    assert back["state"] == ["st4te"] and len(back["code"]) == 1
    tokens = exchange(fake, back["code"][0])
    assert tokens["ok"] and tokens["token_type"] == "Bearer" and tokens["access_token"].startswith("xoxp-")

    header, payload, signature = tokens["id_token"].split(".")
    assert decode(header) == {"alg": "HS256", "typ": "JWT"}
    signed = hmac.new(SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(signed).rstrip(b"=").decode() == signature
    claims = decode(payload)
    assert claims["iss"] == "https://slack.com" and claims["aud"] == CLIENT_ID and claims["sub"] == "U1"
    assert claims["iat"] == claims["auth_time"] == int(NOW) and claims["exp"] == int(NOW) + 3600
    assert claims["nonce"] == "n0nce"
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert claims["https://slack.com/user_id"] == "U1" and claims["https://slack.com/team_id"] == "T0SANDBOX"
    assert claims["email"] == "ada@example.org" and claims["email_verified"] is True
    assert (claims["name"], claims["given_name"], claims["family_name"]) == ("Ada Lovelace", "Ada", "Lovelace")
    assert claims["https://slack.com/team_name"] == "Sandbox" and claims["https://slack.com/team_domain"] == "sandbox"
    assert claims["picture"].startswith("https://") and claims["locale"] == "en-US"

    info = WebClient(token=tokens["access_token"], base_url=fake.api_url).openid_connect_userInfo().data
    assert isinstance(info, dict) and info["ok"]
    for name in ("sub", "https://slack.com/user_id", "https://slack.com/team_id", "email", "name", "picture"):
        assert info[name] == claims[name], name
    assert info["email_verified"] is True and isinstance(info["date_email_verified"], int)
    assert {
        "given_name",
        "family_name",
        "locale",
        "https://slack.com/team_name",
        "https://slack.com/team_domain",
    } <= set(info)

    shown = fake.calls_to("openid.connect.authorize")
    assert shown[0].args["nonce"] == "n0nce" and shown[0].response["people"] == ["U1", "U2"]
    assert [call.args["user"] for call in fake.calls_to("openid.connect.authorize.choose")] == ["U1"]
    assert fake.calls_to("openid.connect.token")[0].ok and fake.calls_to("openid.connect.userInfo")[0].ok


def test_without_a_nonce_the_id_token_has_none_and_a_made_up_email_is_in_the_workspace_domain(fake: FakeSlack) -> None:
    claims = decode(exchange(fake, code_for(fake, "U2", nonce=None))["id_token"].split(".")[1])
    assert "nonce" not in claims and claims["sub"] == "U2"
    assert claims["email"] == "grace@sandbox.example.com"


def test_the_team_parameter_picks_the_workspace(fake: FakeSlack) -> None:
    status, page, _ = browse(authorize_url(fake, team="T2"))
    assert status == 200 and "Sign in to OKR Bot on Acme" in page
    assert choices(page) == {"U9": ("T2", choices(page)["U9"][1])}
    claims = decode(exchange(fake, code_for(fake, "U9", team="T2"))["id_token"].split(".")[1])
    assert claims["https://slack.com/team_id"] == "T2" and claims["https://slack.com/team_name"] == "Acme"


def test_cancel_goes_back_with_access_denied(fake: FakeSlack) -> None:
    _, page, _ = browse(authorize_url(fake))
    cancel = unescape(re.search(r'data-action="cancel" href="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    status, _, headers = browse(fake.base_url + cancel)
    assert status == 302
    assert headers["Location"] == REDIRECT + "?" + urlencode({"error": "access_denied", "state": "st4te"})
    assert fake.openid_cancel(authorize_url(fake, state="other")).endswith("?error=access_denied&state=other")
    assert not fake.calls_to("openid.connect.authorize.choose")


# the code --------------------------------------------------------------------------------------------------------


def test_a_code_works_once(fake: FakeSlack) -> None:
    code = code_for(fake)
    assert exchange(fake, code)["ok"]
    assert error_of(exchange, fake, code) == "invalid_code"
    assert error_of(exchange, fake, "T0SANDBOX.made.up") == "invalid_code"


def test_a_code_expires_after_ten_minutes(fake: FakeSlack, clock: Clock) -> None:
    kept, late = code_for(fake), code_for(fake)
    clock.now += 599
    assert exchange(fake, kept)["ok"]
    clock.now += 2
    assert error_of(exchange, fake, late) == "invalid_code"


def test_the_redirect_uri_must_be_the_one_authorized(fake: FakeSlack) -> None:
    code = code_for(fake)
    assert error_of(exchange, fake, code, redirect_uri=REDIRECT + "/elsewhere") == "bad_redirect_uri"
    assert exchange(fake, code)["ok"]  # a refused exchange does not use the code up


def test_the_client_must_prove_itself(fake: FakeSlack) -> None:
    code = code_for(fake)
    assert error_of(exchange, fake, code, secret="wrong") == "bad_client_secret"
    client = WebClient(base_url=fake.api_url)
    wrong_client = error_of(
        client.openid_connect_token, client_id="9.9", client_secret=SECRET, code=code, redirect_uri=REDIRECT
    )
    assert wrong_client == "invalid_client_id"
    # form fields instead of HTTP basic, as oauth.v2.access takes them too
    form = {"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "redirect_uri": REDIRECT}
    request = urllib.request.Request(fake.api_url + "openid.connect.token", data=urlencode(form).encode())
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.loads(answer.read())["ok"]


def test_a_code_is_bound_to_its_client_even_when_the_fake_takes_any(clock: Clock) -> None:
    with FakeSlack(clock=clock) as fake:
        fake.add_user("U1", "ada")
        code = parse_qs(urlsplit(fake.openid_authorize(authorize_url(fake), "U1")).query)["code"][0]
        client = WebClient(base_url=fake.api_url)
        other = error_of(
            client.openid_connect_token, client_id="7.7", client_secret="x", code=code, redirect_uri=REDIRECT
        )
        assert other == "invalid_code"
        token = client.openid_connect_token(client_id=CLIENT_ID, client_secret="any", code=code, redirect_uri=REDIRECT)
        header, payload, signature = token["id_token"].split(".")
        signed = hmac.new(b"any", f"{header}.{payload}".encode(), hashlib.sha256).digest()
        assert base64.urlsafe_b64encode(signed).rstrip(b"=").decode() == signature  # signed with the secret sent


# userInfo --------------------------------------------------------------------------------------------------------


def test_user_info_takes_only_a_sign_in_token(fake: FakeSlack) -> None:
    bot = WebClient(token=fake.workspace().bot_token, base_url=fake.api_url)
    assert error_of(bot.openid_connect_userInfo) == "not_allowed_token_type"
    stranger = WebClient(token="xoxp-made-up", base_url=fake.api_url)
    assert error_of(stranger.openid_connect_userInfo) == "invalid_auth"
    assert error_of(WebClient(base_url=fake.api_url).openid_connect_userInfo) == "not_authed"
    token = exchange(fake, code_for(fake))["access_token"]
    as_form = WebClient(base_url=fake.api_url).openid_connect_userInfo(token=token)  # the token as an argument
    assert as_form["sub"] == "U1"


def test_user_info_refuses_someone_deactivated_since(fake: FakeSlack) -> None:
    token = exchange(fake, code_for(fake))["access_token"]
    fake.set_user_deleted("U1")
    assert error_of(WebClient(token=token, base_url=fake.api_url).openid_connect_userInfo) == "account_inactive"


# the page's refusals ---------------------------------------------------------------------------------------------

GOOD = {
    "response_type": "code",
    "client_id": CLIENT_ID,
    "scope": "openid,profile,email",
    "redirect_uri": REDIRECT,
    "state": "st4te",
}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": None}, "invalid_client_id"),
        ({"client_id": "9.9"}, "invalid_client_id"),
        ({"redirect_uri": None}, "bad_redirect_uri"),
        ({"redirect_uri": "javascript:alert(1)"}, "bad_redirect_uri"),
        ({"redirect_uri": "/relative"}, "bad_redirect_uri"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile,email"}, "invalid_scope"),
        ({"scope": "openid,chat:write"}, "invalid_scope"),
        ({"state": None}, "missing_state"),
        ({"team": "T404"}, "team_not_found"),
    ],
)
def test_a_bad_request_gets_an_error_page_not_a_redirect(fake: FakeSlack, change: dict, error: str) -> None:
    params = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    url = f"{fake.openid_authorize_url}?{urlencode(params)}"
    for path in ("", "/choose", "/cancel"):
        status, page, headers = browse(url.replace("/authorize?", f"/authorize{path}?") + "&user=U1")
        assert status == 400 and "Location" not in headers and f'data-error="{error}"' in page
    with pytest.raises(Refused) as refused:
        fake.openid_authorize(url, "U1")
    assert refused.value.error == error
    assert not fake.calls_to("openid.connect.authorize")[0].ok


def test_only_someone_the_page_offers_can_be_chosen(fake: FakeSlack) -> None:
    url = authorize_url(fake)
    for user in ("U3", "U0BOT", "U9", "U404"):  # deactivated, a bot, another workspace's, nobody
        status, page, headers = browse(url.replace("/authorize?", "/authorize/choose?") + f"&user={user}")
        assert status == 400 and "Location" not in headers and 'data-error="user_not_found"' in page
        with pytest.raises(Refused):
            fake.openid_authorize(url, user)
    fake.set_user_deleted("U2")
    assert [person["id"] for person in fake.openid_people(url)] == ["U1"]


def test_hostile_names_are_shown_as_text(clock: Clock) -> None:
    hostile = '<script>alert("x")</script>'
    with FakeSlack(clock=clock, team_name=f"Team {hostile}", app_name=f"App {hostile}") as fake:
        fake.add_user("U1", '"><img src=x onerror=alert(1)>', real_name=f"Eve {hostile}")
        status, page, _ = browse(authorize_url(fake))
        assert status == 200
        assert "<script>" not in page and "<img" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
        assert list(choices(page)) == ["U1"]
        location = fake.openid_authorize(authorize_url(fake, state="a&b=c"), "U1")
        assert parse_qs(urlsplit(location).query)["state"] == ["a"]  # slack-sdk does not encode the state
        status, page, _ = browse(authorize_url(fake) + "&team=" + "%3Cb%3E")
        assert status == 400 and "<b>" not in page


# the helpers for tests without a browser -------------------------------------------------------------------------


def test_helpers_take_the_address_the_app_sent_the_browser_to(fake: FakeSlack) -> None:
    url = authorize_url(fake)
    assert url.startswith(fake.openid_authorize_url + "?")
    people = fake.openid_people(url)
    assert [(p["id"], p["real_name"]) for p in people] == [("U1", "Ada Lovelace"), ("U2", "Grace Hopper")]
    location = fake.openid_authorize(url, "U2")
    back = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT + "?") and back["state"] == ["st4te"]
    assert decode(exchange(fake, back["code"][0])["id_token"].split(".")[1])["sub"] == "U2"
    assert [call.method for call in fake.calls if call.method.startswith("openid.connect.authorize")] == [
        "openid.connect.authorize",
        "openid.connect.authorize",
        "openid.connect.authorize.choose",
    ]
    with pytest.raises(ValueError, match="not this fake's authorize page"):
        fake.openid_authorize("https://slack.com/openid/connect/authorize?" + urlsplit(url).query, "U1")
