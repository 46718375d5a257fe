"""Files people share: how Slack describes them on a message, and serving their bytes at ``url_private_download``.

Like Slack, the bytes go only to a request whose ``Authorization: Bearer`` token belongs to the file's workspace.
Any other request is redirected (302) to the workspace's sign-in page, an HTML page answered with 200: a client
that follows redirects gets HTML instead of the file, as people meet it when a token lacks ``files:read``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from .faults import Fault
from .state import HostedFile, SlackState

FILES_PATH = "/files-pri/"
SIGN_IN_PATH = "/signin"
# extension -> (filetype, mimetype, pretty_type), as Slack names them
FILETYPES = {
    "csv": ("csv", "text/csv", "CSV"),
    "tsv": ("tsv", "text/tab-separated-values", "TSV"),
    "txt": ("text", "text/plain", "Plain Text"),
    "json": ("json", "application/json", "JSON"),
    "png": ("png", "image/png", "PNG"),
    "pdf": ("pdf", "application/pdf", "PDF"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel Spreadsheet"),
}
SIGN_IN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in | Slack</title></head><body>Sign in</body></html>"


@dataclass(frozen=True)
class Served:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]
    file_id: str | None = None


def filetype_of(name: str, filetype: str | None) -> tuple[str, str, str]:
    """(filetype, mimetype, pretty_type) of a file called ``name``; ``filetype`` overrides the extension."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if filetype is None:
        return FILETYPES.get(extension, ("binary", "application/octet-stream", "Binary"))
    known = next((entry for entry in FILETYPES.values() if entry[0] == filetype), None)
    return known or (filetype, "application/octet-stream", filetype.upper())


def file_object(record: HostedFile, state: SlackState) -> dict:
    """The file as Slack lists it in a message's ``files`` (and in files.info)."""
    ws = state.workspace(record.team_id)
    where = f"{state.base_url}{FILES_PATH}{record.team_id}-{record.file_id}"
    name = quote(record.name)
    _filetype, _mimetype, pretty = filetype_of(record.name, record.filetype)
    return {
        "id": record.file_id,
        "created": record.created,
        "timestamp": record.created,
        "name": record.name,
        "title": record.title,
        "mimetype": record.mimetype,
        "filetype": record.filetype,
        "pretty_type": pretty,
        "user": record.user_id,
        "user_team": record.team_id,
        "editable": False,
        "size": len(record.content),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": True,
        "url_private": f"{where}/{name}",
        "url_private_download": f"{where}/download/{name}",
        "permalink": f"https://{ws.domain}.slack.com/files/{record.user_id}/{record.file_id}/{name}",
    }


def serve(state: SlackState, path: str, token: str | None, fault: Fault | None = None) -> Served:
    """Answer a GET of ``/files-pri/<team>-<file>/[download/]<name>`` or of the sign-in page.

    A queued ``files.download`` fault with an HTTP error status answers that status; any other fault answers as
    for a token Slack does not accept (the redirect to sign in).
    """
    if path == SIGN_IN_PATH:
        return Served(200, SIGN_IN_PAGE, "text/html; charset=utf-8", {})
    team_id, _, file_id = path.removeprefix(FILES_PATH).split("/", 1)[0].rpartition("-")
    with state.lock:
        record = state.files.get(file_id)
        ws = state.workspace_for_token(token) if token else None
    if fault is not None and fault.status >= 400:
        return Served(fault.status, fault.error.encode(), "text/plain; charset=utf-8", fault.headers(), file_id)
    if fault is not None or ws is None or (record is not None and record.team_id != ws.team_id):
        location = f"{state.base_url}{SIGN_IN_PATH}?redir={quote(unquote(path))}"
        return Served(302, b"", "text/html; charset=utf-8", {"Location": location}, file_id or None)
    if record is None or record.team_id != team_id:
        return Served(404, b"File not found", "text/plain; charset=utf-8", {}, file_id or None)
    disposition = f"attachment; filename*=UTF-8''{quote(record.name)}"
    return Served(200, record.content, record.mimetype, {"Content-Disposition": disposition}, file_id)
