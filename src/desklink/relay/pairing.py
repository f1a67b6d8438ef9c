"""Who is in a screen session: the agent's seat, the viewers, which viewer is
primary, the resume token, and whether the agent's link is alive.

The session's rep is the *primary* viewer: only the primary's acks pace the
agent, and only the primary acts on the visitor's computer (control, input,
drawing, clipboard, choosing the monitor, stopping). Other viewers (a
supervisor watching) only look. When no primary is connected, the oldest
watcher's acks pace the agent, so the picture never freezes for them.

The agent's link is alive while the relay hears from it: the agent pings at
least every ``ping_interval_s``, and a link silent for ``link_timeout_s`` is
dead even if the network never said so. An agent that is gone may come back
with the resume token within the grace period.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from desklink.protocol.server_messages import Watcher, WatcherRole
from desklink.relay.window import FrameWindow


@dataclass(eq=False)
class Viewer:
    endpoint: object
    user_id: int
    name: str
    primary: bool
    window: FrameWindow
    #: Shown to the visitor while this viewer watches ("Sue (supervisor)").
    role: WatcherRole = "supervisor"


class Seats:
    def __init__(self, rep_id: int) -> None:
        self.rep_id = rep_id
        self.viewers: list[Viewer] = []
        self.agent: object | None = None
        self.agent_seen_at = 0.0
        self.agent_gone_at: float | None = None
        #: Has an agent ever joined this round (since the code was made)?
        self.agent_joined = False
        self.resume_token = secrets.token_urlsafe(16)

    # ------------------------------------------------------------- viewers
    def add_viewer(self, endpoint: object, user_id: int, name: str, window: int, role: WatcherRole) -> Viewer:
        viewer = Viewer(endpoint, user_id, name, user_id == self.rep_id, FrameWindow(window), role)
        self.viewers.append(viewer)
        return viewer

    def remove_viewer(self, viewer: Viewer) -> bool:
        if viewer in self.viewers:
            self.viewers.remove(viewer)
            return True
        return False

    def primary(self) -> Viewer | None:
        return next((v for v in self.viewers if v.primary), None)

    def watchers(self) -> list[Viewer]:
        return [v for v in self.viewers if not v.primary]

    def watching(self) -> list[Watcher]:
        """Who watches, as the visitor is told: each person once, however
        many viewers they opened, in the order they came."""
        seen: dict[int, Watcher] = {}
        for v in self.watchers():
            seen.setdefault(v.user_id, Watcher(v.name, v.role))
        return list(seen.values())

    def paces_agent(self, viewer: Viewer) -> bool:
        """Do ``viewer``'s acks reach the agent?"""
        if viewer.primary:
            return True
        return self.primary() is None and bool(self.viewers) and self.viewers[0] is viewer

    # --------------------------------------------------------------- agent
    def attach_agent(self, endpoint: object, now: float) -> None:
        self.agent = endpoint
        self.agent_seen_at = now
        self.agent_gone_at = None
        self.agent_joined = True

    def detach_agent(self, endpoint: object, now: float) -> bool:
        if self.agent is not endpoint:
            return False
        self.agent = None
        self.agent_gone_at = now
        return True

    def seen(self, now: float) -> None:
        self.agent_seen_at = now

    def link_silent(self, now: float, timeout_s: float) -> bool:
        return self.agent is not None and now - self.agent_seen_at > timeout_s

    def grace_left(self, now: float, grace_s: float) -> float | None:
        if self.agent is not None or self.agent_gone_at is None:
            return None
        return max(0.0, grace_s - (now - self.agent_gone_at))

    def restart(self) -> None:
        """A new round: a new agent must join with a new code."""
        self.agent_gone_at = None
        self.agent_joined = False
        self.resume_token = secrets.token_urlsafe(16)
        for v in self.viewers:
            v.window.restart()
