"""This node's screen sessions: found by support session id or by an agent's
resume token, ticked, and forgotten once stopped and empty.

The registry is apart from the sessions so that a later relay-node design
can own sessions on relay nodes while web nodes only look them up.
"""

from __future__ import annotations

import secrets

from desklink.relay.effects import Effects
from desklink.relay.policy import Policy
from desklink.relay.session import ScreenSession


class Relay:
    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.sessions: dict[str, ScreenSession] = {}

    def open(self, session_id: str, request_id: str, rep_id: int, now: float) -> tuple[ScreenSession, Effects]:
        """The support session's screen, created on first use. A stopped or
        refused one starts over in place (its viewers stay connected for the
        next try) once its agent has gone."""
        existing = self.sessions.get(session_id)
        if existing is None:
            existing = self.sessions[session_id] = ScreenSession(session_id, request_id, rep_id, self.policy)
            return existing, Effects()
        if existing.ended is not None and existing.agent is None:
            return existing, existing.restart(now)
        return existing, Effects()

    def get(self, session_id: str) -> ScreenSession | None:
        return self.sessions.get(session_id)

    def by_resume_token(self, token: str) -> ScreenSession | None:
        """The session an agent may resume with ``token``: one still asking or
        sharing (a stopped or refused one is over)."""
        for s in self.sessions.values():
            if s.ended is None and secrets.compare_digest(s.resume_token, token):
                return s
        return None

    def end_session(self, session_id: str, now: float) -> Effects:
        """The support session ended: stop its screen and close its sockets."""
        screen = self.sessions.get(session_id)
        return screen.stop("session_ended", now) if screen is not None else Effects()

    def tick(self, now: float) -> Effects:
        """Dead agent links, grace periods run out; idle sessions forgotten."""
        fx = Effects()
        for s in list(self.sessions.values()):
            fx.extend(s.tick(now))
        for sid in [sid for sid, s in self.sessions.items() if s.idle()]:
            del self.sessions[sid]
        return fx

    def statistics(self) -> dict[str, int]:
        screens = self.sessions.values()
        return {
            "sessions": len(self.sessions),
            "sharing": sum(1 for s in screens if s.sharing),
            "bytes_in": sum(s.bytes_in for s in screens),
            "frames_in": sum(s.frames_in for s in screens),
        }
