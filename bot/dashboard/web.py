"""The dashboard's WSGI application, mounted at `/dashboard` by `okr-bot serve` (bot/web.py) and by the browser
sandbox.

Every page is a GET that reads; the only POST is signing out. So there is no write action to forge (no CSRF
surface): the session cookie is `SameSite=Lax`, which a cross-site POST does not carry, and signing out cannot be
forced either. Keep it so: anything that would change data belongs in Slack, behind the bot's checks.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from sqlalchemy import select
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.routing import IntegerConverter, Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from bot import clock, errors
from bot.dashboard import pages
from bot.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SIGN_IN_COOKIE,
    SIGN_IN_LIFETIME,
    Signer,
    Viewer,
    end_session,
    open_session,
    viewer_of,
)
from bot.dashboard.signin import SignedIn, SignInRefused, SlackSignIn
from bot.dashboard.templating import BASE, render
from bot.rituals.people import ensure_person
from storage.db import Database
from storage.models import Person, Workspace
from storage.slack_tables import OAuthStates

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
CALLBACK = f"{BASE}/signed-in"
GZIP_FROM = 2048  # bytes: smaller answers go as they are
SECURITY_HEADERS = {
    # the pages load their own stylesheets and scripts and nothing else; no other site may frame them
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self' https://slack.com; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class DashboardWeb:
    """`/dashboard/…`: pages for the signed-in, sign-in and sign-out for everyone."""

    def __init__(
        self,
        db: Database,
        *,
        sign_in: SlackSignIn | None,
        secret: str | None,
        public_url: str | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.sign_in = sign_in
        self.signer = Signer(secret) if secret else None
        self.public_url = public_url
        # sessions expire by the wall clock; the pages read the OKRs at the bot's time (bot/clock.py: the sandbox
        # moves it, OKR_CLOCK_START starts it elsewhere), as Slack's answers do
        self.wall = wall
        self.routes = Map(
            [
                Rule(BASE, endpoint="home", methods=["GET"]),
                Rule(f"{BASE}/", endpoint="overview", methods=["GET"]),
                Rule(f"{BASE}/teams/<id:team_id>", endpoint="team", methods=["GET"]),
                Rule(
                    f"{BASE}/teams/<id:team_id>/key-results/<id:key_result_id>",
                    endpoint="key_result",
                    methods=["GET"],
                ),
                Rule(
                    f"{BASE}/teams/<id:team_id>/cycles/<id:number>.<any(csv, json):fmt>",
                    endpoint="export",
                    methods=["GET"],
                ),
                Rule(f"{BASE}/network", endpoint="network", methods=["GET"]),
                Rule(f"{BASE}/sign-in", endpoint="sign_in_page", methods=["GET"]),
                Rule(f"{BASE}/sign-in/slack", endpoint="sign_in_start", methods=["GET"]),
                Rule(CALLBACK, endpoint="signed_in", methods=["GET"]),
                Rule(f"{BASE}/sign-out", endpoint="sign_out", methods=["POST"]),
            ],
            strict_slashes=False,
            converters={"id": _RowId},
        )
        self.wsgi = SharedDataMiddleware(self._dispatch, {f"{BASE}/static": str(HERE / "static")}, cache_timeout=3600)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Every answer, the static files' too, carries the security headers (and HSTS over HTTPS)."""
        extra = dict(SECURITY_HEADERS)
        if environ.get("wsgi.url_scheme") == "https" or (self.public_url or "").startswith("https://"):
            extra["Strict-Transport-Security"] = "max-age=31536000"

        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _value in headers}
            headers = headers + [(name, value) for name, value in extra.items() if name.lower() not in present]
            return start_response(status, headers, exc_info)

        return self.wsgi(environ, with_headers)

    def _dispatch(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = 16 * 1024  # nothing the dashboard takes is bigger than a sign-out
        try:
            endpoint, args = self.routes.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except MethodNotAllowed as error:
            response = self._problem(request, 405, "The dashboard only shows; nothing can be changed here.", error)
        except (NotFound, errors.NotFound) as error:
            response = self._problem(request, 404, "There is no such page in your workspace's dashboard.", error)
        except HTTPException as error:
            response = error.get_response(environ)
        except Exception:
            log.exception("a dashboard page failed", extra={"path": request.path[:200]})
            response = self._problem(request, 500, "Something went wrong on the dashboard's side; try again.", None)
        response.headers.setdefault("Cache-Control", "no-store")
        _compress(request, response)
        return response(environ, start_response)

    # who is looking ----------------------------------------------------------------------------------------------

    def _viewer(self, request: Request) -> Viewer | None:
        if self.signer is None:
            return None
        token = self.signer.session_token(request.cookies.get(SESSION_COOKIE))
        if token is None:
            return None
        with self.db.read() as session:
            return viewer_of(session, token=token, now=self.wall())

    def _secure(self, request: Request) -> bool:
        """Cookies say `Secure` whenever people reach the dashboard over HTTPS (directly, or behind a proxy that
        PUBLIC_URL names with https)."""
        return request.scheme == "https" or (self.public_url or "").startswith("https://")

    def _base_url(self, request: Request) -> str:
        return self.public_url or request.host_url.rstrip("/")

    def _signed_in_page(self, request: Request, render_page: Callable[[Viewer], Response]) -> Response:
        if self.sign_in is None:
            return self._not_set_up(request)
        viewer = self._viewer(request)
        if viewer is None:
            return redirect(f"{BASE}/sign-in?next={pages.quote_path(request.full_path)}", code=303)
        return render_page(viewer)

    # pages -------------------------------------------------------------------------------------------------------

    def on_home(self, request: Request) -> Response:
        return redirect(f"{BASE}/", code=308)

    def on_overview(self, request: Request) -> Response:
        return self._signed_in_page(
            request, lambda viewer: self._page(pages.overview(self.db, viewer, request.args, clock.now()))
        )

    def on_team(self, request: Request, team_id: int) -> Response:
        return self._signed_in_page(
            request, lambda viewer: self._page(pages.team(self.db, viewer, team_id, clock.now()))
        )

    def on_key_result(self, request: Request, team_id: int, key_result_id: int) -> Response:
        return self._signed_in_page(
            request, lambda viewer: self._page(pages.key_result(self.db, viewer, team_id, key_result_id, clock.now()))
        )

    def on_network(self, request: Request) -> Response:
        return self._signed_in_page(
            request, lambda viewer: self._page(pages.network(self.db, viewer, request.args, clock.now()))
        )

    def on_export(self, request: Request, team_id: int, number: int, fmt: str) -> Response:
        def download(viewer: Viewer) -> Response:
            filename, content_type, content = pages.export(self.db, viewer, team_id, number, fmt, clock.now())
            response = Response(content, content_type=content_type)
            response.headers.set("Content-Disposition", "attachment", filename=filename)
            return response

        return self._signed_in_page(request, download)

    def _page(self, page: pages.Page) -> Response:
        return Response(
            render(page.template, **page.context), status=page.status, content_type="text/html; charset=utf-8"
        )

    # signing in and out ------------------------------------------------------------------------------------------

    def on_sign_in_page(self, request: Request, refusal: str | None = None, status: int = 200) -> Response:
        if self.sign_in is None:
            return self._not_set_up(request)
        next_path = pages.safe_next(request.args.get("next"))
        if refusal is None and self._viewer(request) is not None:
            return redirect(next_path, code=303)
        html = render(
            "sign_in.html.j2",
            next_path=next_path,
            refusal=refusal,
            signed_out=request.args.get("signed_out") == "1",
            start_url=f"{BASE}/sign-in/slack",
        )
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    def on_sign_in_start(self, request: Request) -> Response:
        if self.sign_in is None or self.signer is None:
            return self._not_set_up(request)
        started = self.sign_in.start(redirect_uri=self._base_url(request) + CALLBACK)
        response = redirect(started.url, code=303)
        cookie = self.signer.sign_in_cookie(
            state=started.state, nonce=started.nonce, next_path=pages.safe_next(request.args.get("next"))
        )
        self._set_cookie(request, response, SIGN_IN_COOKIE, cookie, max_age=int(SIGN_IN_LIFETIME.total_seconds()))
        return response

    def on_signed_in(self, request: Request) -> Response:
        if self.sign_in is None or self.signer is None:
            return self._not_set_up(request)
        started = self.signer.sign_in(request.cookies.get(SIGN_IN_COOKIE))
        code, state = request.args.get("code", ""), request.args.get("state", "")
        try:
            if request.args.get("error"):
                raise SignInRefused("You cancelled signing in with Slack.")
            if started is None or not code or not state or len(code) > 500 or len(state) > 200:
                raise SignInRefused("This sign-in link is incomplete or has expired. Sign in again.")
            who = self.sign_in.finish(
                code=code,
                state=state,
                expected_state=started["state"],
                nonce=started["nonce"],
                redirect_uri=self._base_url(request) + CALLBACK,
                now=self.wall(),
            )
            token = self._open_session(who)
        except SignInRefused as refusal:
            response = self.on_sign_in_page(request, refusal=str(refusal), status=403)
            response.delete_cookie(SIGN_IN_COOKIE, path=BASE)
            return response
        response = redirect(pages.safe_next(started["next"]), code=303)
        response.delete_cookie(SIGN_IN_COOKIE, path=BASE)
        self._set_cookie(
            request,
            response,
            SESSION_COOKIE,
            self.signer.session_cookie(token),
            max_age=int(SESSION_LIFETIME.total_seconds()),
        )
        return response

    def _open_session(self, who: SignedIn) -> str:
        """A session for a person of an installed workspace whose dashboard is on; SignInRefused otherwise."""
        assert self.signer is not None
        with self.db.transaction() as session:
            # the workspace itself, or (an org-wide install) its Enterprise Grid organisation
            found = session.scalars(
                select(Workspace).where(Workspace.slack_team_id.in_([who.team_id, who.enterprise_id or who.team_id]))
            ).all()
            workspace = next((w for w in found if w.slack_team_id == who.team_id), found[0] if found else None)
            name = who.team_name or who.team_id
            if workspace is None or workspace.uninstalled_at is not None:
                raise SignInRefused(f"The OKR bot is not installed in {name}, so it has no dashboard for it.")
            if not workspace.dashboard_enabled:
                raise SignInRefused(
                    f"An admin of {name} turned the dashboard off (`/okr dashboard on` turns it back on)."
                )
            person = session.scalar(
                select(Person).where(Person.workspace_id == workspace.id, Person.user_id == who.user_id)
            )
            if person is not None and person.deactivated:
                raise SignInRefused(f"Your account in {name} is deactivated.")
            if person is None:
                # known from now on, so that Slack's word that they left (user_change, users.list) reaches their row
                # and ends their session on the next page
                person = ensure_person(session, workspace_id=workspace.id, user_id=who.user_id, now=self.wall())
            if not person.name:
                person.name = who.name  # as Slack's userInfo names them, until Slack's profile says otherwise
            if who.team_name and not workspace.name:
                workspace.name = who.team_name[:200]
            return open_session(session, workspace=workspace, user_id=who.user_id, name=who.name, now=self.wall())

    def on_sign_out(self, request: Request) -> Response:
        if self.signer is not None:
            token = self.signer.session_token(request.cookies.get(SESSION_COOKIE))
            if token is not None:
                with self.db.transaction() as session:
                    end_session(session, token=token)
        response = redirect(f"{BASE}/sign-in?signed_out=1", code=303)
        response.delete_cookie(SESSION_COOKIE, path=BASE, secure=self._secure(request), httponly=True, samesite="Lax")
        return response

    def _set_cookie(self, request: Request, response: Response, name: str, value: str, *, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path=BASE, secure=self._secure(request), httponly=True, samesite="Lax"
        )

    # when there is nothing to show -------------------------------------------------------------------------------

    def _not_set_up(self, request: Request) -> Response:
        html = render("not_set_up.html.j2", callback=self._base_url(request) + CALLBACK)
        return Response(html, status=503, content_type="text/html; charset=utf-8")

    def _problem(self, request: Request, status: int, message: str, error: Exception | None) -> Response:
        html = render("problem.html.j2", status=status, message=message)
        response = Response(html, status=status, content_type="text/html; charset=utf-8")
        if isinstance(error, MethodNotAllowed):
            response.headers["Allow"] = ", ".join(error.valid_methods or ["GET"])
        return response


class _RowId(IntegerConverter):
    """A row's id or a cycle's number in an address: 1 to 2³¹−1, what the database's integer columns hold (a larger
    number is no page, not a database error)."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=2**31 - 1)


def _compress(request: Request, response: Response) -> None:
    """A page of 200 teams is about 3 MB of HTML and gzips to a twentieth of it (in about 10 ms), for browsers that
    say they take gzip."""
    if (
        "gzip" not in request.headers.get("Accept-Encoding", "")
        or response.direct_passthrough
        or response.headers.get("Content-Encoding")
        or not (response.mimetype or "").startswith(("text/", "application/json"))
    ):
        return
    body = response.get_data()
    if len(body) < GZIP_FROM:
        return
    response.set_data(gzip.compress(body, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")


def dashboard_for(settings: Any, db: Database) -> DashboardWeb:
    """The dashboard of a server with these settings: sign-in needs the app's client id and secret."""
    sign_in = None
    if settings.dashboard_sign_in:
        sign_in = SlackSignIn(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            api_url=settings.slack_api_url,
            state_store=OAuthStates(expiration_seconds=600, engine=db.engine),
        )
    return DashboardWeb(db, sign_in=sign_in, secret=settings.slack_client_secret, public_url=settings.public_url)
