"""One Web API call from arrival to answer: injected faults, auth, rate limits, the method, the record, the hold."""

from __future__ import annotations

import sys
import traceback

from .args import MethodCall
from .errors import ApiError
from .faults import Fault, FaultPlan
from .methods import METHODS
from .recorder import ApiCall, Recorder
from .state import SlackState


class WebApi:
    """The fake's Web API, independent of HTTP so the order of checks is easy to read and to test."""

    def __init__(self, state: SlackState, recorder: Recorder, faults: FaultPlan) -> None:
        self.state = state
        self.recorder = recorder
        self.faults = faults

    def refuse(self, method: str, error: str) -> dict:
        """Record and answer a request whose body could not even be read."""
        body = {"ok": False, "error": error}
        self.recorder.record_call(ApiCall(method, {}, None, body, 200, self.state.clock()))
        return body

    def handle(
        self, method: str, args: dict, token: str | None, basic_auth: tuple[str, str] | None = None
    ) -> tuple[int, dict, dict[str, str], float | None]:
        """Answer a call as (HTTP status, JSON body, extra headers, seconds to hold the answer) and record it.

        The call is recorded as soon as it is done, before any hold: a held call has happened in Slack even
        though its client is still waiting to hear so. The hold is claimed before the record, so a test that
        sees the call knows which hold it took.
        """
        status, body, headers, team_id = self._answer(method, args, token, basic_auth)
        hold = self.faults.take_hold(method)
        self.recorder.record_call(ApiCall(method, args, token, body, status, self.state.clock(), team_id))
        if body.get("ok") and (lost := self.faults.take_lost(method)) is not None:
            # Slack did the work (it is recorded above), but the answer the client gets is an error
            return *_fault_answer(lost), hold
        return status, body, headers, hold

    def _answer(
        self, method: str, args: dict, token: str | None, basic_auth: tuple[str, str] | None
    ) -> tuple[int, dict, dict[str, str], str | None]:
        entry = METHODS.get(method)
        if entry is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}, None
        fault = self.faults.take(method)
        if fault is not None:
            return *_fault_answer(fault), None
        with self.state.lock:
            workspace = self.state.workspace_for_token(token) if token else None
        if entry.needs_token and workspace is None:
            return 200, {"ok": False, "error": "invalid_auth" if token else "not_authed"}, {}, None
        team_id = workspace.team_id if workspace else None
        fault = self.faults.over_limit(method, team_id)
        if fault is not None:
            return *_fault_answer(fault), team_id
        call = MethodCall(method, args, self.state, workspace, basic_auth, token)
        try:
            with self.state.lock:
                body = {"ok": True, **entry.handler(call)}
            return 200, body, {}, team_id
        except ApiError as error:
            return error.status, error.body(), {}, team_id
        except Exception:
            traceback.print_exc(file=sys.stderr)
            detail = traceback.format_exc(limit=3)
            return 500, {"ok": False, "error": "fatal_error", "detail": detail}, {}, team_id


def _fault_answer(fault: Fault) -> tuple[int, dict, dict[str, str]]:
    return fault.status, {"ok": False, "error": fault.error}, fault.headers()
