"""The browser sandbox: a Slack-like page in front of the fake Slack, with the real bot behind signed HTTP.

`GET /` is the page (who you are and where you are live in its address: `/?as=ben&in=team-rocket`). The page
polls `GET /panes` for what changed and sends what the person does to `POST /api/…`; each action is carried out
as Slack would (a slash command, an event, an interaction payload, all signed and sent to the bot), then the
answer waits until the bot has stopped calling Slack, so the page redraws once with the outcome.

The page is for one machine: it listens on 127.0.0.1 only and has no sign-in.
"""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote
from wsgiref.types import StartResponse, WSGIEnvironment

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bot.commands import BACKLOG_SHORTCUT
from bot.sandbox import forms
from bot.sandbox.driver import SlackRefused
from bot.sandbox.fake.errors import ApiError
from bot.sandbox.session import JUMPS, MOMENT_WORDS, Sandbox
from bot.sandbox.web import pages
from bot.sandbox.web.blocks import render_blocks, render_message_body
from bot.sandbox.web.mrkdwn import plain_to_html
from bot.web import DASHBOARD_PATH

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
MAX_UPLOAD = 5 * 1024 * 1024  # a backlog CSV is a few kilobytes
MAX_TEXT = 40_000  # Slack's own limit on a message
ACTION_HEADER = "X-Sandbox-Page"  # what the page's script sends with every action


class Refused(Exception):
    """Something the person asked for that cannot be done, in words for them."""


class SandboxWeb:
    """The WSGI application of the browser sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(
            render_blocks=render_blocks,
            render_message_body=render_message_body,
            plain=plain_to_html,
            quick_reactions=pages.QUICK_REACTIONS,
            jumps=JUMPS,
            emoji=pages.emoji_character,
        )
        self.routes = Map(
            [
                Rule("/", endpoint="page", methods=["GET"]),
                Rule("/panes", endpoint="panes", methods=["GET"]),
                Rule("/files/<file_id>/<path:name>", endpoint="file", methods=["GET"]),
                Rule("/api/<action>", endpoint="act", methods=["POST"]),
            ]
        )
        self.wsgi = SharedDataMiddleware(self._dispatch, {"/static": str(HERE / "static")})

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or ""
        if path == DASHBOARD_PATH or path.startswith(DASHBOARD_PATH + "/"):
            # the sandbox workspace's dashboard, signed in through the fake Slack's OpenID pages
            return self.sandbox.dashboard(environ, start_response)
        return self.wsgi(environ, start_response)

    def _dispatch(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_UPLOAD + 64 * 1024
        try:
            endpoint, args = self.routes.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as error:  # the page's script reads an action's refusal as JSON with words
            response = _http_refusal(error) if request.path.startswith("/api/") else error
        except Exception:
            log.exception("the sandbox page failed on %s %s", request.method, request.path)
            response = _json({"ok": False, "error": "Something went wrong in the sandbox; its log says what."}, 500)
        return response(environ, start_response)

    # who and where ---------------------------------------------------------------------------------------------

    def _person(self, request: Request) -> tuple[str, str]:
        """The person the page acts as (`as`, ada by default) as (name, Slack id)."""
        name = (request.values.get("as") or "ada").lower()
        user_id = self.sandbox.user_id(name)
        if user_id is None:
            name, user_id = "ada", self.sandbox.people["ada"][0]  # one of the sandbox's people from the start
        return name, user_id

    def _context(self, request: Request) -> dict[str, Any]:
        name, user_id = self._person(request)
        here = pages.place(self.sandbox, user_id, request.values.get("in"))
        tab = "home" if here.is_app and request.values.get("tab", "home") == "home" else "messages"
        thread = request.values.get("thread") or None
        return {
            "me": name,
            "user_id": user_id,
            "here": here,
            "tab": tab,
            "thread": thread,
            "viewer": pages.viewer(self.sandbox, user_id),
        }

    # pages -----------------------------------------------------------------------------------------------------

    def on_page(self, request: Request) -> Response:
        context = self._context(request)
        panes = self._panes(context)
        html = self.templates.get_template("page.html.j2").render(
            **context,
            panes=panes,
            people=sorted(self.sandbox.people),
            places=pages.places(self.sandbox, context["user_id"]),
            commands=pages.commands_catalogue(),
            moment_words=MOMENT_WORDS,
        )
        return Response(html, content_type="text/html; charset=utf-8", headers=_NO_STORE)

    def on_panes(self, request: Request) -> Response:
        """What each part of the page shows now, with a fingerprint each; parts the page already shows are left out."""
        context = self._context(request)
        panes = self._panes(context)
        known = set(request.args.getlist("v"))
        changed = {name: pane for name, pane in panes.items() if pane["v"] not in known}
        return _json({"panes": changed})

    def _panes(self, context: dict[str, Any]) -> dict[str, dict]:
        sandbox, user_id, here = self.sandbox, context["user_id"], context["here"]
        render = self.templates.get_template
        if here.is_app and context["tab"] == "home":
            home = sandbox.fake.home(user_id)
            main = render("_home.html.j2").render(**context, home=home)
        else:
            shown = pages.conversation(sandbox, user_id, here.channel_id)
            hidden = max(0, len(shown) - pages.SHOWN_MESSAGES)
            main = render("_messages.html.j2").render(**context, shown=shown[hidden:], hidden=hidden)
        thread = ""
        if context["thread"]:
            shown = pages.conversation(sandbox, user_id, here.channel_id, thread_ts=context["thread"])
            thread = render("_thread.html.j2").render(**context, shown=shown)
        form = pages.open_form(sandbox, user_id)
        modal = render("_modal.html.j2").render(**context, form=form)
        bar = render("_clock.html.j2").render(**context, clock=pages.clock_bar(sandbox, user_id))
        panes = {"main": main, "thread": thread, "clock": bar}
        result = {name: {"v": pages.version(name, html), "html": Markup(html)} for name, html in panes.items()}
        # a form is redrawn only when the bot changes it, never under the person's typing
        result["modal"] = {"v": pages.version("modal", form["key"] if form else ""), "html": Markup(modal)}
        return result

    def on_file(self, request: Request, file_id: str, name: str) -> Response:
        """A file shared in the sandbox (a chart the bot posted, an export, a CSV): images shown, the rest
        downloaded."""
        record = self.sandbox.fake.hosted_file(file_id)
        if record is None:
            raise NotFound()
        filename, content = record
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        inline = kind.startswith("image/") and kind != "image/svg+xml"
        disposition = "inline" if inline else "attachment"
        return Response(
            content,
            content_type=kind,
            headers={
                "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename, safe='')}",
                "X-Content-Type-Options": "nosniff",
                **_NO_STORE,
            },
        )

    # actions ---------------------------------------------------------------------------------------------------

    def on_act(self, request: Request, action: str) -> Response:
        handler = getattr(self, f"do_{action}", None)
        if handler is None:
            return _json({"ok": False, "error": f"The sandbox has no action called {action[:40]!r}."}, status=404)
        if request.headers.get(ACTION_HEADER) != "1" or not _local(request.host):
            # only the page itself acts: another site the person visits cannot post here (a cross-site form cannot
            # set this header), nor can a name that merely resolves to this machine
            return _json({"ok": False, "error": "Only the sandbox's own page can act here."}, status=403)
        context = self._context(request)
        try:
            notice = handler(request, context)
        except (Refused, forms.Refused) as refusal:
            return _json({"ok": False, "error": str(refusal)}, status=400)
        except SlackRefused as refusal:
            return _json({"ok": False, "error": f"Slack refused the bot's answer: {refusal}"}, status=502)
        except (ApiError, LookupError) as error:
            log.info("sandbox action %s refused: %s", action, error)
            return _json(
                {"ok": False, "error": f"That is no longer there ({error}). The page has been redrawn."}, status=409
            )
        return _json({"ok": True, "notice": notice or ""})

    def do_type(self, request: Request, context: dict[str, Any]) -> str | None:
        text = request.form.get("text", "")
        if len(text) > MAX_TEXT:
            raise Refused(f"That message is {len(text):,} characters long; Slack takes up to {MAX_TEXT:,}.")
        if not text.strip():
            return None
        thread = request.form.get("thread") or None
        if thread and text.lstrip().startswith("/"):
            raise Refused("Slash commands are typed in the channel's message box, not in a thread.")
        self.sandbox.type(context["user_id"], context["here"].channel_id, text, thread_ts=thread)
        return None

    def do_react(self, request: Request, context: dict[str, Any]) -> str | None:
        ts, name = request.form.get("ts", ""), request.form.get("emoji", "").strip(":").strip()
        if not name or len(name) > 100 or not all(c.isalnum() or c in "_+-" for c in name):
            raise Refused("Pick an emoji by its short name, such as white_check_mark.")
        user_id, channel_id = context["user_id"], context["here"].channel_id
        message = self.sandbox.fake.message(channel_id, ts)
        mine = any(r["name"] == name and user_id in r.get("users", []) for r in message.get("reactions") or [])
        with self.sandbox.lock:
            send = self.sandbox.driver.unreact if mine else self.sandbox.driver.react
            send(user_id, channel_id, ts, name)
            self.sandbox.settle()
        return None

    def do_shortcut(self, request: Request, context: dict[str, Any]) -> str | None:
        with self.sandbox.lock:
            here, ts = context["here"].channel_id, request.form.get("ts", "")
            self.sandbox.driver.message_shortcut(BACKLOG_SHORTCUT, user=context["user_id"], channel=here, ts=ts)
            self.sandbox.settle()
        return None

    def do_action(self, request: Request, context: dict[str, Any]) -> str | None:
        """A button, menu item or select used in a message, a reply only you see, the Home tab or a form."""
        form, user_id = request.form, context["user_id"]
        action_id, block_id = form.get("action_id", ""), form.get("block_id") or None
        value = form.get("value")
        with self.sandbox.lock:
            fake, driver = self.sandbox.fake, self.sandbox.driver
            if form.get("view_id"):
                view = fake.view_payload(form["view_id"])
                if view.get("type") == "modal":
                    fake.set_view_state(view["id"], self._typed_state(view, form))
                driver.click(
                    user=user_id,
                    action_id=action_id,
                    value=value,
                    view_id=view["id"],
                    block_id=block_id,
                    selected_option=value or None,
                )
            else:
                driver.click(
                    user=user_id,
                    action_id=action_id,
                    value=value,
                    channel=context["here"].channel_id,
                    ts=form.get("ts", ""),
                    block_id=block_id,
                    selected_option=value or None,
                )
            self.sandbox.settle()
        return None

    def do_submit(self, request: Request, context: dict[str, Any]) -> str | None:
        user_id = context["user_id"]
        with self.sandbox.lock:
            fake = self.sandbox.fake
            stack = fake.open_views(user_id)
            if not stack or stack[-1]["id"] != request.form.get("view_id"):
                raise Refused("That form is no longer open.")
            view = fake.view_payload(stack[-1]["id"])
            self.sandbox.driver.submit_view(view["id"], user=user_id, values=self._typed_state(view, request.form))
            self.sandbox.settle()
        return None

    def do_close(self, request: Request, context: dict[str, Any]) -> str | None:
        with self.sandbox.lock:
            stack = self.sandbox.fake.open_views(context["user_id"])
            if stack and stack[-1]["id"] == request.form.get("view_id"):
                self.sandbox.driver.close_view(stack[-1]["id"], user=context["user_id"])
                self.sandbox.settle()
        return None

    def do_home(self, request: Request, context: dict[str, Any]) -> str | None:
        with self.sandbox.lock:
            self.sandbox.driver.open_home(context["user_id"])
            self.sandbox.settle()
        return None

    def do_upload(self, request: Request, context: dict[str, Any]) -> str | None:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise Refused("Choose a file to share.")
        content = upload.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            raise Refused(f"That file is over {MAX_UPLOAD // (1024 * 1024)} MB; the sandbox takes smaller ones.")
        name = Path(upload.filename).name[:200] or "file"
        with self.sandbox.lock:
            self.sandbox.fake.share_file(
                context["here"].channel_id, context["user_id"], name, content, text=request.form.get("text", "")
            )
        return f"Shared {name}."

    def do_person(self, request: Request, context: dict[str, Any]) -> str | None:
        try:
            self.sandbox.add_person(request.form.get("name", ""), request.form.get("zone", "").strip() or "UTC")
        except ValueError as error:
            raise Refused(str(error)) from None
        return f"{request.form.get('name', '').strip().lower()} joined the workspace and every channel."

    def do_zone(self, request: Request, context: dict[str, Any]) -> str | None:
        zone = request.form.get("zone", "").strip()
        try:
            self.sandbox.set_zone(context["user_id"], zone)
        except ValueError as error:
            raise Refused(str(error)) from None
        self.sandbox.settle()
        return f"Your Slack time zone is now {zone}."

    def do_time(self, request: Request, context: dict[str, Any]) -> str | None:
        to = request.form.get("to", "next")
        if to not in JUMPS:
            raise Refused(f"Jump to one of: {', '.join(JUMPS)}.")
        moment, report = self.sandbox.jump(to)
        if moment is None:
            wanted = {
                "next": "Nothing is scheduled yet",
                "checkin": "No check-in is planned yet",
                "reset": "No reset is planned yet",
                "end": "No cycle end is planned yet",
            }[to]
            return f"{wanted}: create a team and commit an objective whose key results have owners first."
        zone = context["viewer"].zone
        sent = ", ".join(f"{what} {count}" for what, count in sorted(report.items())) or "nothing to send"
        return f"It is now {moment.when.astimezone(zone):%A %d %B, %H:%M}: {moment.what} ({sent})."

    def do_afresh(self, request: Request, context: dict[str, Any]) -> str | None:
        self.sandbox.afresh()
        return "The sandbox starts afresh: no teams, no messages, and the clock back to now."

    def _typed_state(self, view: dict, form: MultiDict[str, str]) -> dict:
        """The form's fields as the page sent them (`f:BLOCK_ID`, and every field shown listed in `fields`)."""
        typed: dict[str, list[str]] = {block_id: [] for block_id in form.getlist("fields")}
        typed |= {key[2:]: form.getlist(key) for key in form if key.startswith("f:")}
        people = {name: user_id for name, (user_id, _r, _a) in self.sandbox.people.items()}
        return forms.state_values(view, typed, people=people, channels=dict(self.sandbox.channels))


_NO_STORE = {"Cache-Control": "no-store"}


def _local(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in ("localhost", "127.0.0.1", "[::1]")


def _http_refusal(error: HTTPException) -> Response:
    if error.code == 413:
        words = f"That is over {MAX_UPLOAD // (1024 * 1024)} MB; the sandbox takes smaller files."
    else:
        words = f"The sandbox cannot do that ({error.code} {error.name})."
    return _json({"ok": False, "error": words}, status=error.code or 400)


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json", headers=_NO_STORE)
