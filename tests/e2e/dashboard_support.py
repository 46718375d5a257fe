"""A browser without a screen for the dashboard's tests: real HTTP to the running bot, its own cookies, redirects
shown rather than followed, and Sign in with Slack walked through the fake Slack's OpenID pages."""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from bot.sandbox import FakeSlack


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


@dataclass
class Browser:
    """One browser: keeps the cookies the bot sets (for /dashboard), sends them back."""

    base_url: str
    cookies: dict[str, str] = field(default_factory=dict)
    last: Answer | None = None  # the latest answer, for its headers

    def request(self, method: str, path_or_url: str, *, headers: dict[str, str] | None = None) -> Answer:
        parts = urlsplit(path_or_url if "://" in path_or_url else self.base_url + path_or_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        sent = dict(headers or {})
        if self.cookies and parts.path.startswith("/dashboard"):
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
        finally:
            connection.close()
        self.last = answer
        for raw in answer.set_cookies():
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> Answer:
        return self.request("POST", path, **kwargs)

    def start_sign_in(self, next_path: str = "/dashboard/") -> str:
        """Click "Sign in with Slack": the authorize address the bot sends the browser to."""
        answer = self.get(f"/dashboard/sign-in/slack?next={next_path}")
        assert answer.status == 303, answer.body
        return answer.location

    def sign_in(self, slack: FakeSlack, user_id: str, *, next_path: str = "/dashboard/") -> Answer:
        """The whole sign-in as `user_id`; the bot's answer to Slack's redirect back."""
        authorize = self.start_sign_in(next_path)
        return self.get(slack.openid_authorize(authorize, user_id))


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
