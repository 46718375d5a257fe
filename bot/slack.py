"""Every call the bot makes to Slack's Web API goes through here.

The request's client retries connection errors, 5xx answers and 429s (honouring Retry-After). A `OnceClient`
waits out 429s only: a 5xx or a lost connection may come after Slack posted the message, so a message meant to
go out once is never sent with anything else (bot/delivery/posting.py refuses other clients). `deliver` turns Slack's
refusals into recorded outcomes instead of exceptions in a listener.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from bot import metrics

log = logging.getLogger(__name__)

# The person or channel cannot be reached; retrying will not help.
TARGET_ERRORS = frozenset(
    {
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "messages_tab_disabled",
        "restricted_action",
    }
)
# The installation itself is gone: nothing sent with this token will work.
INSTALLATION_ERRORS = frozenset({"account_inactive", "token_revoked", "invalid_auth", "not_authed", "team_disabled"})


class Outcome(enum.Enum):
    SENT = "sent"
    TARGET_UNREACHABLE = "target_unreachable"
    INSTALLATION_DEAD = "installation_dead"
    FAILED = "failed"  # rate limit or outage outlasted the retries; safe to try again later


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    error: str | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT

    @property
    def answer(self) -> dict[str, Any]:
        """Slack's answer to a call that went through (each Web API method the bot calls answers with JSON)."""
        if self.response is None:
            raise ValueError(f"Slack's answer is not there to read: {self.outcome.value} {self.error or ''}".strip())
        return self.response


class ServerErrorRetryHandler(builtin_handlers.ServerErrorRetryHandler):
    """slack-sdk's retry of Slack's transient 5xx answers, with backoff, widened from 500 and 503 to every 5xx: a
    502 or 504 from Slack's edge is as transient, and the request's client only makes calls that are safe to make
    twice (a message meant to go out once goes through a `OnceClient`)."""

    def __init__(self, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count, interval_calculator=BackoffRetryIntervalCalculator(0.5))

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


class CountedRateLimits(RateLimitErrorRetryHandler):
    """slack-sdk's wait on a 429's Retry-After, counted (bot/metrics.py) before it waits."""

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is not None:
            method = request.url.rsplit("/", 1)[-1].split("?", 1)[0]
            metrics.rate_limited(method, retry_after(response.headers))
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)


def retry_after(headers: Mapping[str, Any] | None) -> float:
    """The seconds a 429's Retry-After asks for (slack-sdk gives header values as lists), at most five minutes; one
    when Slack gave none that reads."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return min(max(float(raw), 0.0), 300.0)
            except (TypeError, ValueError):
                break
    return 1.0


class SlackClient(WebClient):
    """slack-sdk's client, each Web API call counted and timed by method and outcome (bot/metrics.py)."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # slack_sdk's name and signature
        started, outcome = time.monotonic(), "ok"
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            status = error.response.status_code
            outcome = "ratelimited" if status == 429 else "server_error" if status >= 500 else "refused"
            if status == 429:  # the 429 no retry handler waits out (those it waits out, CountedRateLimits counts)
                metrics.rate_limited(api_method, retry_after(error.response.headers))
            raise
        except Exception:
            outcome = "unreachable"
            raise
        finally:
            metrics.slack_call(api_method, outcome, time.monotonic() - started)


def counted(client: WebClient) -> WebClient:
    """`client` itself when its calls are counted, else a `SlackClient` with its token, address and retries (Bolt
    gives each request a plain client of its own)."""
    if isinstance(client, SlackClient):
        return client
    return SlackClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=dict(client.headers or {}),
        team_id=(client.default_params or {}).get("team_id"),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers or []),
    )


class OnceClient(SlackClient):
    """A client that never sends a call twice: it waits out a 429 (Slack did nothing, so trying again is safe)
    and retries nothing else. Slack may have posted a message before its answer got lost (a 5xx, a dropped
    connection), so every message meant to go out once is sent with one of these (bot/delivery/posting.py checks)."""

    def __init__(self, *, retry_handlers: list[RetryHandler] | None = None, **kwargs: Any) -> None:
        handlers: list[RetryHandler] = (
            [CountedRateLimits(max_retry_count=3)] if retry_handlers is None else list(retry_handlers)
        )
        if not _waits_out_rate_limits_only(handlers):
            raise TypeError("a OnceClient retries 429s only: another retry handler could send a message twice")
        super().__init__(retry_handlers=handlers, **kwargs)


def _waits_out_rate_limits_only(handlers: list[RetryHandler]) -> bool:
    return all(isinstance(handler, RateLimitErrorRetryHandler) for handler in handlers)


def never_resends(client: object) -> bool:
    """A `OnceClient` whose retry handlers (a list anyone could append to) still wait out 429s only."""
    return isinstance(client, OnceClient) and _waits_out_rate_limits_only(client.retry_handlers)


def require_once(client: object) -> None:
    """Refuse a client that could send a message twice (a TypeError: a mistake in the code, not in Slack)."""
    if not never_resends(client):
        raise TypeError(
            f"a message meant to go out once needs a OnceClient, not {type(client).__name__} (it may resend a "
            "post Slack took): use bot.slack.once_only(client)"
        )


def once_only(client: WebClient) -> OnceClient:
    """`client` itself when it never resends, else a `OnceClient` with its token and address (the request's
    client a Bolt listener gets retries 5xx)."""
    if never_resends(client):
        return client  # type: ignore[return-value]
    return OnceClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=dict(client.headers or {}),
        team_id=(client.default_params or {}).get("team_id"),
    )


def web_client(*, base_url: str, token: str | None = None, timeout: int = 10, resend: bool = True) -> WebClient:
    """A client that waits out rate limits (429 + Retry-After: Slack did nothing, so a retry is safe).

    With `resend=False` it is a `OnceClient`: it does not retry a lost connection or a 5xx either, since Slack
    may have posted the message before the answer got lost (bot/delivery/posting.py checks what Slack has before trying
    again instead).
    """
    if not resend:
        return OnceClient(token=token, base_url=base_url, timeout=timeout)
    handlers: list[RetryHandler] = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        CountedRateLimits(max_retry_count=3),
        ServerErrorRetryHandler(),
    ]
    return SlackClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def deliver(call: Callable[..., Any], /, **kwargs: Any) -> Delivery:
    """Make one Web API call, e.g. ``deliver(client.chat_postMessage, channel=…, text=…)``."""
    method = getattr(call, "__name__", "call")
    try:
        response = call(**kwargs)
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown_error"))
        outcome = classify(code)
        log.warning("slack refused a call", extra={"method": method, "error": code, "outcome": outcome.value})
        return Delivery(outcome, code)
    except (SlackRequestError, OSError) as error:
        log.warning("slack call failed", extra={"method": method, "error": type(error).__name__})
        return Delivery(Outcome.FAILED, type(error).__name__)
    return Delivery(Outcome.SENT, response=response.data if isinstance(response.data, dict) else None)


# Slack's own failures: the call may or may not have taken effect, and a later try may work
SERVER_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "unknown_error"})


def retryable(delivery: Delivery) -> bool:
    """Worth trying again later: a rate limit, Slack failing, or an answer that never came (the error is then
    the exception's name). Any other refusal (`invalid_blocks`, `missing_scope`…) will be the same next time."""
    if delivery.outcome is not Outcome.FAILED:
        return False
    error = delivery.error or ""
    return error == "ratelimited" or error in SERVER_ERRORS or not error.islower()


def classify(error_code: str) -> Outcome:
    if error_code in TARGET_ERRORS:
        return Outcome.TARGET_UNREACHABLE
    if error_code in INSTALLATION_ERRORS:
        return Outcome.INSTALLATION_DEAD
    return Outcome.FAILED


def join_channel(client: WebClient, channel_id: str) -> bool:
    """Join a public channel the bot is not in, to post there; False when Slack will not let it (a private
    channel, an admin's restriction) or says it is in already (then posting again would fail the same way)."""
    joined = deliver(client.conversations_join, channel=channel_id)
    if not joined.ok:
        log.warning("could not join a channel", extra={"channel": channel_id, "error": joined.error})
        return False
    response = joined.response or {}
    warnings = (response.get("response_metadata") or {}).get("warnings") or []
    if response.get("warning") == "already_in_channel" or "already_in_channel" in warnings:
        return False
    log.info("joined a channel to post in it", extra={"channel": channel_id})
    return True
