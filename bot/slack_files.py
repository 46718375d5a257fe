"""Files people share in Slack: finding the CSV file someone just shared in a channel, and downloading it.

Slack hands a file's bytes only to a request carrying a token with `files:read`. Without one it does not answer
401: it redirects to, or answers with, its sign-in page (HTML, status 200). So a download that redirects or
answers HTML is a refusal, and the token is only ever sent to Slack's own hosts.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from slack_sdk import WebClient

from bot.errors import NotFound, OkrError, UsageError
from bot.slack import deliver

HISTORY_PAGE = 200
HISTORY_PAGES = 5  # a busy channel's last hour; the file is usually among the newest messages
CANNOT_READ_CHANNEL = ("not_in_channel", "channel_not_found")


@dataclass(frozen=True)
class SharedFile:
    id: str
    name: str
    size: int | None
    url: str  # url_private_download


def is_csv(file: dict) -> bool:
    return file.get("filetype") == "csv" or str(file.get("name") or "").lower().endswith(".csv")


def latest_csv(client: WebClient, *, channel_id: str, user_id: str, since: datetime) -> SharedFile | None:
    """The CSV file `user_id` shared most recently in the channel since `since`, if any."""
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = deliver(
            client.conversations_history,
            channel=channel_id,
            oldest=f"{since.timestamp():.6f}",
            limit=HISTORY_PAGE,
            cursor=cursor,
        )
        if not page.ok:
            raise _history_refused(page.error)
        body = page.response or {}
        for message in body.get("messages") or []:
            found = _csv_in(message, user_id)
            if found is not None:
                return found
        cursor = (body.get("response_metadata") or {}).get("next_cursor")
        if not body.get("has_more") or not cursor:
            return None
    return None


def _csv_in(message: dict, user_id: str) -> SharedFile | None:
    if message.get("user") != user_id:
        return None
    for file in message.get("files") or []:
        if not isinstance(file, dict) or not is_csv(file):
            continue
        url, size = file.get("url_private_download") or file.get("url_private"), file.get("size")
        if url:
            name = str(file.get("name") or "file.csv")[:80]
            return SharedFile(str(file.get("id")), name, size if isinstance(size, int) else None, url)
    return None


def _history_refused(error: str | None) -> OkrError:
    if error in CANNOT_READ_CHANNEL:
        return NotFound(
            "I can't read this channel's messages, so I can't see your file. Invite me with "
            "`/invite @okr-bot`, then type the command again."
        )
    if error == "missing_scope":
        return OkrError(
            "The bot lacks the permission to read this channel's files. Ask a workspace admin to "
            "reinstall it (it needs `files:read`)."
        )
    return OkrError(f"Slack would not show me this channel's messages ({error}). Please try again in a moment.")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect means Slack refused the token; following it would send the token on to the sign-in page."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def download(client: WebClient, file: SharedFile, *, max_bytes: int) -> bytes:
    """The file's bytes, read with the bot's token; at most `max_bytes` (a bigger file raises OkrError)."""
    if file.size is not None and file.size > max_bytes:
        raise _too_big(file, file.size, max_bytes)
    if not is_slack_hosted(file.url, client.base_url):
        raise OkrError(f"`{file.name}` is not stored in Slack, so I can't read it. Upload the file itself.")
    request = urllib.request.Request(file.url, headers={"Authorization": f"Bearer {client.token}"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=client.timeout) as response:
            if "text/html" in response.headers.get("Content-Type", ""):
                raise _refused(file)
            data = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        error.close()
        raise _refused(file) from None
    except OSError:  # URLError, timeouts, resets
        raise OkrError(f"I could not download `{file.name}` from Slack just now. Please try again.") from None
    if len(data) > max_bytes:
        raise _too_big(file, None, max_bytes)
    return data


def is_slack_hosted(url: str, api_url: str) -> bool:
    """Whether `url` is on the Web API's own site (files.slack.com for slack.com), over the same scheme."""
    wanted, found = urlsplit(api_url), urlsplit(url)
    site = (wanted.hostname or "").removeprefix("www.")
    host = found.hostname or ""
    return bool(site) and found.scheme == wanted.scheme and (host == site or host.endswith("." + site))


def _refused(file: SharedFile) -> OkrError:
    return OkrError(
        f"Slack would not let me download `{file.name}`. Ask a workspace admin to reinstall the bot "
        "(it needs the `files:read` permission), then try again."
    )


def _too_big(file: SharedFile, size: int | None, max_bytes: int) -> OkrError:
    limit = f"{max_bytes / (1024 * 1024):g} MB"
    what = f"is {size / (1024 * 1024):.1f} MB" if size is not None else f"is over {limit}"
    return UsageError(f"`{file.name}` {what}; I import files of up to {limit}. Split it into smaller files.")
