"""The screen relay: pairs one agent with the viewers of its session.

Theory of operation
-------------------
A :class:`ScreenSession` lives on the node the agent connected to, for as
long as the session shares its screen (plus a grace period after the agent
drops, so it can come back without asking consent again). It holds the
agent's socket, the viewers' sockets and the visitor's consent.

Rules:

1. Nothing flows before consent. Frames an agent sends before the visitor's
   Allow are dropped and counted; the viewer is told ``asking``.
2. The session's rep is the *primary* viewer: only its acks reach the agent,
   so the agent's window follows the rep's link. Other viewers (a supervisor
   watching) get each frame only while their own window has room; when they
   fall behind, frames are skipped for them and, once they catch up, a key
   frame is asked for. A slow watcher therefore never slows the rep.
3. A viewer joining, or asking for a refresh, gets a key frame.
4. Either side can stop: the agent (visitor's Stop, Ctrl+C), the rep, the
   session ending. Everyone is told at once.
5. Control is ``view`` until the visitor allows it. Input passes only from
   the primary viewer, only while control is ``granted``, and only within
   the input rate; anything else is refused with an error to the viewer and
   never reaches the agent. Control ends (back to ``view``) when the visitor
   takes it back, the rep gives it back, the agent drops, or sharing stops.
6. Annotations go both ways (the rep draws in the viewer, the visitor on
   their own screen) and either side can clear them all. They are kept
   (bounded) for viewers who join later and for an agent that comes back
   after a dropped link; clipboard text crosses only in the directions
   policy allows.

The adapters (``server/ws_agent.py``, ``server/ws_viewer.py``) are thin; the
decisions are here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from desklink.errors import Forbidden, LimitExceeded, ProtocolError, TooLarge
from desklink.protocol.framing import Channel, encode_frame
from desklink.protocol.ratelimit import TokenBucket
from desklink.protocol.screen import DEFAULT_WINDOW

State = Literal["waiting_agent", "asking", "sharing", "denied", "stopped"]
Control = Literal["view", "asking", "granted"]


@dataclass(frozen=True)
class Policy:
    """The session's limits and clipboard policy (from the settings)."""

    input_events_per_s: int = 400
    max_strokes: int = 500
    annotations_per_minute: int = 600
    max_clipboard_chars: int = 16_000
    clipboard_to_visitor: bool = True
    clipboard_from_visitor: bool = True


ScreenKind = Literal["frame", "cursor", "pointer"]


class Peer(Protocol):
    def send(self, message: dict[str, Any]) -> None: ...

    def send_text(self, text: str) -> None: ...

    def send_screen(self, data: bytes, kind: ScreenKind) -> None: ...


@dataclass(eq=False)
class Viewer:
    peer: Peer
    user_id: int
    name: str
    primary: bool
    in_flight: list[int] = field(default_factory=list)
    needs_key: bool = True
    skipped: int = 0
    received: int = 0


class ScreenSession:
    def __init__(
        self, session_id: str, rep_id: int, *, window: int = DEFAULT_WINDOW, grace_s: float = 60.0, policy: Policy | None = None
    ) -> None:
        self.policy = policy or Policy()
        self.control: Control = "view"
        self.control_by: str | None = None
        self.input_bucket = TokenBucket(self.policy.input_events_per_s, 1.0)
        self.strokes: dict[str, str] = {}  # id -> the annotate message, oldest first
        self.annotation_buckets = {
            side: TokenBucket(self.policy.annotations_per_minute, 60.0) for side in ("agent", "viewers")
        }
        self.inputs_forwarded = 0
        self.inputs_refused = 0
        self.session_id = session_id
        self.rep_id = rep_id
        self.window = window
        self.grace_s = grace_s
        self.state: State = "waiting_agent"
        self.agent: Peer | None = None
        self.viewers: list[Viewer] = []
        self.monitors: list[dict[str, Any]] = []
        self.selected = 0
        self.resume_token = secrets.token_urlsafe(16)
        self.agent_gone_at: float | None = None
        self.stopped_by = ""
        self.cursor_shape: bytes | None = None  # the last shape, for viewers who join later
        self.frames_in = 0
        self.frames_dropped_before_consent = 0
        self.bytes_in = 0

    def restart(self) -> None:
        """Start over after a stop or a refusal: a new agent must join with a
        new code and ask for consent again."""
        self.state = "waiting_agent"
        self.stopped_by = ""
        self.control, self.control_by = "view", None
        self.strokes.clear()
        self.resume_token = secrets.token_urlsafe(16)
        self.agent_gone_at = None
        for v in self.viewers:
            v.needs_key = True
            v.in_flight.clear()
        self._broadcast_status()

    # ------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        return {
            "t": "screen.state",
            "session_id": self.session_id,
            "status": self.state,
            "agent": self.agent is not None,
            "monitors": self.monitors,
            "selected": self.selected,
            "watchers": [v.name for v in self.viewers if not v.primary],
            "by": self.stopped_by or None,
            "control": self.control,
            "control_by": self.control_by,
        }

    def _broadcast_status(self) -> None:
        message = self.status()
        for v in self.viewers:
            v.peer.send(message)

    # -------------------------------------------------------------- agent
    def attach_agent(self, agent: Peer, *, resumed: bool) -> None:
        self.agent = agent
        self.agent_gone_at = None
        if not resumed or self.state not in ("sharing",):
            self.state = "asking"
        for v in self.viewers:
            v.needs_key = True
            v.in_flight.clear()
        self._broadcast_status()
        if self.state == "sharing":
            agent.send({"t": "screen.refresh"})
            for raw in self.strokes.values():  # the agent's screen lost them when it dropped
                agent.send_text(raw)

    def detach_agent(self, agent: Peer, now: float) -> None:
        if self.agent is not agent:
            return
        self.agent = None
        self.agent_gone_at = now
        if self.control != "view":  # the agent releases everything on its side
            self.control, self.control_by = "view", "system"
        self._broadcast_status()

    def consent(self, allowed: bool) -> None:
        if self.state != "asking":
            return
        self.state = "sharing" if allowed else "denied"
        self._broadcast_status()
        if allowed and self.agent is not None and self.viewers:
            self.agent.send({"t": "screen.refresh"})

    def set_monitors(self, monitors: list[dict[str, Any]], selected: int) -> None:
        self.monitors = monitors
        self.selected = selected
        self._broadcast_status()

    def frame(self, payload: bytes, seq: int, key: bool) -> None:
        """A screen message from the agent (already validated)."""
        self.frames_in += 1
        self.bytes_in += len(payload)
        if self.state != "sharing":
            self.frames_dropped_before_consent += 1
            return
        data = encode_frame(Channel.SCREEN, payload)
        for v in self.viewers:
            if v.needs_key and not key:
                v.skipped += 1
                continue
            if len(v.in_flight) >= self.window:
                v.skipped += 1
                v.needs_key = True
                continue
            v.needs_key = False
            v.in_flight.append(seq)
            v.received += 1
            v.peer.send_screen(data, "frame")

    def pointer(self, payload: bytes, *, shape: bool) -> None:
        """A cursor shape (never dropped) or a position (latest wins) from the
        agent; neither is acknowledged."""
        if self.state != "sharing":
            return
        data = encode_frame(Channel.SCREEN, payload)
        if shape:
            self.cursor_shape = data
        for v in self.viewers:
            v.peer.send_screen(data, "cursor" if shape else "pointer")

    # ------------------------------------------------------------- control
    def request_control(self, viewer: Viewer) -> None:
        if not viewer.primary:
            raise Forbidden("only the rep holding the session can take control")
        if self.state != "sharing" or self.agent is None:
            raise ProtocolError("control needs an agent that is sharing", code="bad_state")
        if self.control != "view":
            return
        self.control, self.control_by = "asking", None
        self.agent.send({"t": "control.ask", "rep": viewer.name})
        self._broadcast_status()

    def control_consent(self, allowed: bool) -> None:
        if self.control != "asking":
            return
        if allowed:
            self.control, self.control_by = "granted", None
        else:
            self.control, self.control_by = "view", "visitor"
        self._broadcast_status()

    def end_control(self, by: str) -> None:
        """The rep gave control back, or the visitor took it."""
        if self.control == "view":
            return
        self.control, self.control_by = "view", by
        if self.agent is not None and by != "visitor":
            self.agent.send({"t": "control.end", "by": by})
        self._broadcast_status()

    def input(self, viewer: Viewer, raw: str, events: int, now: float) -> None:
        """Forward the viewer's ``input`` message as it came (already
        validated), or refuse it: never a partial forward."""
        if not viewer.primary or self.control != "granted" or self.agent is None:
            self.inputs_refused += events
            raise Forbidden("remote control is not granted")
        for _ in range(events):
            if not self.input_bucket.take(now):
                self.inputs_refused += events
                raise LimitExceeded(
                    f"more than {self.policy.input_events_per_s} input events a second; dropped",
                    retry_after=self.input_bucket.retry_after(now),
                )
        self.inputs_forwarded += events
        self.agent.send_text(raw)

    # ---------------------------------------------------------- annotation
    def annotate(
        self, raw: str, op: str, stroke_id: str, *, from_agent: bool, source: Any = None, now: float | None = None
    ) -> None:
        if self.state != "sharing":
            raise ProtocolError("annotation needs a screen that is being shared", code="bad_state")
        now = time.monotonic() if now is None else now
        bucket = self.annotation_buckets["agent" if from_agent else "viewers"]
        if not bucket.take(now):
            raise LimitExceeded(
                f"more than {self.policy.annotations_per_minute} annotation messages a minute; dropped",
                retry_after=bucket.retry_after(now),
            )
        if op == "clear":
            self.strokes.clear()
        elif op == "undo":
            self.strokes.pop(stroke_id, None)
        else:
            self.strokes.pop(stroke_id, None)
            self.strokes[stroke_id] = raw
            while len(self.strokes) > self.policy.max_strokes:
                self.strokes.pop(next(iter(self.strokes)))
        if not from_agent and self.agent is not None:
            self.agent.send_text(raw)
        for v in self.viewers:
            if v.peer is not source:
                v.peer.send_text(raw)

    # ----------------------------------------------------------- clipboard
    def clipboard(self, text: str, *, from_agent: bool) -> None:
        if len(text) > self.policy.max_clipboard_chars:
            raise TooLarge(f"clipboard text over {self.policy.max_clipboard_chars} characters")
        message = {"t": "clipboard", "text": text}
        if from_agent:
            if not self.policy.clipboard_from_visitor:
                raise Forbidden("policy does not allow the visitor's clipboard to reach the rep")
            for v in self.viewers:
                if v.primary:
                    v.peer.send(message)
            return
        if not self.policy.clipboard_to_visitor:
            raise Forbidden("policy does not allow clipboard text to reach the visitor")
        if self.agent is None or self.state != "sharing":
            raise ProtocolError("no agent to receive the clipboard", code="bad_state")
        self.agent.send(message)

    def agent_stats(self, rtt_ms: float) -> None:
        message = {"t": "screen.stats", "rtt_ms": round(rtt_ms, 1)}
        for v in self.viewers:
            v.peer.send(message)

    def stop(self, by: str) -> None:
        if self.state == "stopped":
            return
        self.state = "stopped"
        self.stopped_by = by
        if self.control != "view":
            self.control, self.control_by = "view", by
        if self.agent is not None:
            self.agent.send({"t": "ended", "by": by})
        self._broadcast_status()

    def expired(self, now: float) -> bool:
        return self.agent is None and self.agent_gone_at is not None and now - self.agent_gone_at > self.grace_s

    # ------------------------------------------------------------- viewers
    def add_viewer(self, peer: Peer, user_id: int, name: str) -> Viewer:
        viewer = Viewer(peer, user_id, name, primary=user_id == self.rep_id)
        self.viewers.append(viewer)
        peer.send(self.status())
        if self.cursor_shape is not None and self.state == "sharing":
            peer.send_screen(self.cursor_shape, "cursor")
        for raw in self.strokes.values():
            peer.send_text(raw)
        self._broadcast_status()
        self.request_key()
        return viewer

    def remove_viewer(self, viewer: Viewer) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)
            if viewer.primary and self.control == "granted" and self.agent is not None:
                # The rep's link dropped mid-control: nothing may stay pressed.
                # Control itself stays, so a quick reconnect needs no new consent.
                self.agent.send({"t": "input", "events": [{"k": "release"}]})
            self._broadcast_status()

    def ack(self, viewer: Viewer, seq: int) -> None:
        if seq in viewer.in_flight:
            del viewer.in_flight[: viewer.in_flight.index(seq) + 1]
        if self.agent is None:
            return
        if viewer.primary or not any(v.primary for v in self.viewers):
            self.agent.send({"t": "screen.ack", "seq": seq})
        if viewer.needs_key and not viewer.in_flight:
            self.request_key()

    def request_key(self) -> None:
        if self.agent is not None and self.state == "sharing":
            self.agent.send({"t": "screen.refresh"})

    def select(self, monitor: int) -> bool:
        if not any(m.get("index") == monitor for m in self.monitors):
            return False
        if self.agent is not None:
            self.agent.send({"t": "screen.select", "monitor": monitor})
        return True

    def statistics(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "frames_in": self.frames_in,
            "bytes_in": self.bytes_in,
            "dropped_before_consent": self.frames_dropped_before_consent,
            "viewers": [{"name": v.name, "received": v.received, "skipped": v.skipped} for v in self.viewers],
            "control": self.control,
            "inputs_forwarded": self.inputs_forwarded,
            "inputs_refused": self.inputs_refused,
        }


class Relay:
    """This node's screen sessions, by session id."""

    def __init__(self, *, window: int, grace_s: float, policy: Policy | None = None) -> None:
        self.window = window
        self.grace_s = grace_s
        self.policy = policy or Policy()
        self.sessions: dict[str, ScreenSession] = {}

    def open(self, session_id: str, rep_id: int) -> ScreenSession:
        """The session's screen, created on first use. A stopped or denied one
        starts over in place (its viewers stay connected for the next try)."""
        existing = self.sessions.get(session_id)
        if existing is None:
            existing = self.sessions[session_id] = ScreenSession(
                session_id, rep_id, window=self.window, grace_s=self.grace_s, policy=self.policy
            )
        elif existing.state in ("stopped", "denied") and existing.agent is None:
            existing.restart()
        return existing

    def get(self, session_id: str) -> ScreenSession | None:
        return self.sessions.get(session_id)

    def by_resume_token(self, token: str) -> ScreenSession | None:
        for s in self.sessions.values():
            if secrets.compare_digest(s.resume_token, token) and s.state in ("asking", "sharing"):
                return s
        return None

    def sweep(self, now: float | None = None) -> list[ScreenSession]:
        """Stop sessions whose agent has been gone past the grace period."""
        now = time.monotonic() if now is None else now
        gone = [s for s in self.sessions.values() if s.expired(now) and s.state != "stopped"]
        for s in gone:
            s.stop("agent_lost")
        for sid in [sid for sid, s in self.sessions.items() if s.state == "stopped" and not s.viewers and s.agent is None]:
            del self.sessions[sid]
        return gone

    def end_session(self, session_id: str, by: str) -> None:
        screen = self.sessions.get(session_id)
        if screen is not None:
            screen.stop(by)
