"""Links from Slack to the dashboard: the App Home, `/okr list`, `/okr dashboard` and the digest.

They exist only where people can follow them: the server was given its public address (PUBLIC_URL) and Sign in
with Slack's credentials, and the workspace has not turned the dashboard off. The address is the process's, set
once at start (`configure`), as the sandbox sets its page's address.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dashboard import templating
from storage.models import Workspace

_public_url: str | None = None


def configure(public_url: str | None) -> None:
    """Where this server's dashboard is reached (no trailing slash), or None: no links."""
    global _public_url
    _public_url = public_url.rstrip("/") if public_url else None


def public_url() -> str | None:
    return _public_url


@dataclass(frozen=True)
class Links:
    """Absolute addresses of the dashboard's pages."""

    base: str

    def overview(self, **query: object) -> str:
        return self.base + templating.overview_url(**query)

    def team(self, team_id: int) -> str:
        return self.base + templating.team_url(team_id)

    def network(self, *, team: int | None = None) -> str:
        return self.base + templating.network_url(team=team)


def links(*, enabled: bool) -> Links | None:
    """The links for a workspace whose dashboard setting is `enabled`; None when Slack should show none."""
    return Links(_public_url) if _public_url and enabled else None


def for_workspace(session: Session, *, workspace_id: int) -> Links | None:
    """The links for a workspace, reading its setting only when this server has a dashboard to link to."""
    if not _public_url:
        return None
    enabled = session.scalar(select(Workspace.dashboard_enabled).where(Workspace.id == workspace_id))
    return links(enabled=bool(enabled))
