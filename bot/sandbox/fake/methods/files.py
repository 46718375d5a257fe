"""The two-step external upload (files_upload_v2): ask for a URL, POST the bytes there, then complete."""

from __future__ import annotations

from ..args import MethodCall
from ..errors import ApiError
from ..state import PendingUpload
from .registry import method


@method("files.getUploadURLExternal")
def files_get_upload_url_external(call: MethodCall) -> dict:
    filename, length = call.get("filename"), call.get("length")
    if not filename or length is None:
        raise ApiError("invalid_arguments", messages=["[ERROR] filename and length are required"])
    try:
        size = int(length)
    except (TypeError, ValueError):
        raise ApiError("invalid_arguments", messages=["[ERROR] length must be an integer"]) from None
    file_id = call.state.ids.new("F")
    call.state.pending_uploads[file_id] = PendingUpload(file_id, str(filename), size, call.ws.team_id)
    return {"upload_url": f"{call.state.base_url}/upload/{file_id}", "file_id": file_id}


def _uploaded(call: MethodCall, item: object) -> tuple[PendingUpload, str]:
    file_id = item.get("id") if isinstance(item, dict) else None
    pending = call.state.pending_uploads.get(file_id or "")
    if pending is None or pending.team_id != call.ws.team_id or pending.content is None:
        raise ApiError("file_not_found")
    title = item.get("title") if isinstance(item, dict) else None
    return pending, title or pending.filename


@method("files.completeUploadExternal")
def files_complete_upload_external(call: MethodCall) -> dict:
    items = call.json("files", "invalid_arguments")
    if not isinstance(items, list) or not items:
        raise ApiError("invalid_arguments", messages=["[ERROR] files must be a non-empty array"])
    channel_id = call.get("channel_id") or (str(call.get("channels") or "").split(",")[0] or None)
    if channel_id:
        call.state.postable_channel(channel_id, call.ws)
        if call.get("thread_ts"):
            call.state.message(channel_id, call.get("thread_ts"))
    done = [_uploaded(call, item) for item in items]
    files = []
    for pending, title in done:
        del call.state.pending_uploads[pending.file_id]
        call.state.uploads.append(
            {
                "file_id": pending.file_id,
                "filename": pending.filename,
                "title": title,
                "channel_id": channel_id,
                "content": pending.content,
                "initial_comment": call.get("initial_comment"),
                "thread_ts": call.get("thread_ts"),
            }
        )
        files.append(
            {
                "id": pending.file_id,
                "name": pending.filename,
                "title": title,
                "size": len(pending.content or b""),
            }
        )
    if channel_id:
        call.state.bot_message(
            call.ws,
            channel_id,
            text=call.get("initial_comment") or "",
            blocks=None,
            thread_ts=call.get("thread_ts"),
            files=files,
        )
    return {"files": files}
