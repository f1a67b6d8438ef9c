"""One screen session on the relay: pairs the visitor's agent with the
viewers of its support session. Sans-I/O: messages in, :class:`Effects` out.

Theory of operation
-------------------
A :class:`ScreenSession` exists for as long as a support session shares (or
is about to share) its screen, plus the grace period after the agent drops.
Its parts each live in their own module: who is connected
(:mod:`.pairing`), each viewer's frame window (:mod:`.window`), the
annotation board (:mod:`.board`), the clipboard gate (:mod:`.clipboard`);
what the visitor allows is the privileges table
(:mod:`desklink.protocol.privileges`).

Rules:

1. Nothing flows without its privilege: frames only while ``view`` is
   granted (earlier ones are dropped and counted), input only while
   ``control`` is granted, and only from the primary viewer within the
   input rate. Anything refused raises a :class:`~desklink.errors.DeskLinkError`
   for the adapter to answer with, and reaches nobody.
2. The primary viewer (the rep holding the session) alone acts on the
   visitor's computer; watchers only look. Only the primary's acks pace the
   agent (see :mod:`.pairing`); a slow watcher misses frames and catches up
   with a key frame (see :mod:`.window`).
3. A viewer joining, or asking, gets a key frame, the cursor and the strokes.
4. Either side can stop; so can the support session ending and the agent's
   link staying lost past the grace period. Everyone is told at once, and
   every privilege ends.
5. What is forwarded is the validated message, re-encoded: unknown fields a
   peer sent never travel or get stored.
6. Every privilege change, sharing start and stop, watcher joining or
   leaving, clipboard crossing (size only) and annotation message (a
   finished stroke, an undo, a clear) is an :class:`Audit` event.
7. No silent watching: the visitor's side (the agent, or the help box that
   shares) is told who watches besides the rep, by name and role, whenever
   that changes (``screen.watchers``), and in the welcome of an agent that
   joins or comes back.
"""

from __future__ import annotations

from typing import Literal

from desklink.errors import Forbidden, LimitExceeded, ProtocolError
from desklink.protocol import codes
from desklink.protocol.events import Actor, EventKind
from desklink.protocol.framing import Channel, encode_frame
from desklink.protocol.messages import (
    Annotate,
    Clipboard,
    ClipboardAllow,
    Consent,
    ControlRelease,
    ControlRequest,
    ControlRevoked,
    EvRelease,
    FilesRelease,
    FilesRequest,
    FilesRevoked,
    Input,
    Ping,
    ScreenAck,
    ScreenInfo,
    ScreenRecord,
    ScreenRefresh,
    ScreenSelect,
    ScreenStats,
    StopSharing,
    encode_annotate,
)
from desklink.protocol.outbox import Priority
from desklink.protocol.privileges import Change, Privilege, Privileges
from desklink.protocol.ratelimit import TokenBucket
from desklink.protocol.server_messages import (
    AgentWelcome,
    ControlAsk,
    ControlEnd,
    ControlStatus,
    Ended,
    FilesAsk,
    FilesEnd,
    MonitorView,
    Named,
    Out,
    RecordingPolicy,
    ScreenRecording,
    ScreenState,
    ScreenStatsOut,
    ScreenWatchers,
    Source,
    Status,
    Watcher,
    WatcherRole,
    encode_out,
)
from desklink.relay.board import Board
from desklink.relay.clipboard import ClipboardGate
from desklink.relay.inbound import AgentIntro, AgentMessage, ViewerMessage
from desklink.relay.effects import Audit, Close, Deliver, Effects, Record, RecordKind
from desklink.relay.pairing import Seats, Viewer
from desklink.relay.policy import Policy
from desklink.relay.words import (
    AGENT_TOOK_OVER,
    BROWSER_NO_FILES,
    BROWSER_PAGE_GONE,
    BROWSER_STOPS,
    BROWSER_VIEW_ONLY,
    RECORDING_NEEDS_SHARING,
    RECORDING_NOT_ON_REQUEST,
    RECORDING_REQUIRED,
    WATCHERS_ONLY_LOOK,
)

_AUDIT_OF_EVENT = {
    "ask": "privilege_asked",
    "allow": "privilege_granted",
    "deny": "privilege_refused",
    "revoke": "privilege_revoked",
    "release": "privilege_released",
    "drop": "privilege_revoked",
    "stop": "privilege_revoked",
    "resume": "privilege_granted",
}
_CONTROL_STATUS: dict[str, ControlStatus] = {"off": "view", "asking": "asking", "granted": "granted", "suspended": "view"}


class ScreenSession:
    def __init__(self, session_id: str, request_id: str, rep_id: int, policy: Policy) -> None:
        self.session_id = session_id
        self.request_id = request_id
        self.policy = policy
        self.seats = Seats(rep_id)
        self.privileges = Privileges()
        self.board = Board(max_strokes=policy.max_strokes, per_minute=policy.annotations_per_minute)
        self.clipboard = ClipboardGate(
            max_chars=policy.max_clipboard_chars,
            policy_to_visitor=policy.clipboard_to_visitor,
            policy_from_visitor=policy.clipboard_from_visitor,
        )
        self.input_bucket = TokenBucket(policy.input_events_per_s, 1.0)
        self.ended: Literal["denied", "stopped"] | None = None
        self.stopped_by = ""
        self.stop_reason: str | None = None
        self.source: Source = "agent"
        self.control_by: str | None = None
        #: A new agent replaced one that dropped with files allowed: files is
        #: asked again once view is allowed (see attach_agent).
        self.reasking_files = False
        self.rep_name = ""
        self.monitors: list[MonitorView] = []
        self.selected = 0
        self.cursor_shape: bytes | None = None  # the last shape, for viewers who join later
        self.frames_in = 0
        self.bytes_in = 0
        self.frames_dropped_before_consent = 0
        #: Sharing just started and the agent's first frame, a key frame,
        #: is still to come: a refresh asked meanwhile would send a second.
        self.key_coming = False
        self.inputs_forwarded = 0
        self.inputs_refused = 0
        #: The queue's recording policy (the adapter sets it from the store
        #: before the agent joins); ``recording``: the tap is open.
        self.recording_policy: RecordingPolicy = "never"
        self.recording = False
        self.recording_error: str | None = None
        #: Who the agent was last told watches (``screen.watchers``).
        self.told_watchers: list[Watcher] = []

    # ------------------------------------------------------------ state
    @property
    def rep_id(self) -> int:
        return self.seats.rep_id

    @property
    def agent(self) -> object | None:
        return self.seats.agent

    @property
    def viewers(self) -> list[Viewer]:
        return self.seats.viewers

    @property
    def resume_token(self) -> str:
        return self.seats.resume_token

    def status(self) -> Status:
        if self.ended is not None:
            return self.ended
        view = self.privileges["view"]
        if view == "asking":
            return "asking"
        if view in ("granted", "suspended"):
            return "sharing"
        return "waiting_agent"

    @property
    def sharing(self) -> bool:
        return self.ended is None and self.privileges.granted("view")

    def state(self, now: float) -> ScreenState:
        return ScreenState(
            session_id=self.session_id,
            status=self.status(),
            agent=self.seats.agent is not None,
            monitors=list(self.monitors),
            selected=self.selected,
            watchers=[v.name for v in self.seats.watchers()],
            by=self.stopped_by or None,
            control=_CONTROL_STATUS[self.privileges["control"]],
            control_by=self.control_by,
            privileges=dict(self.privileges.states),
            clipboard=self.clipboard.state(),
            grace_left_s=self._grace_left(now),
            source=self.source,
            reason=self.stop_reason,
            recording=self.recording,
            recording_policy=self.recording_policy,
            recording_error=self.recording_error,
        )

    def _grace_left(self, now: float) -> float | None:
        if self.ended is not None:
            return None
        left = self.seats.grace_left(now, self.policy.agent_grace_s)
        return None if left is None else round(left, 1)

    # --------------------------------------------------------- helpers
    def _broadcast(self, fx: Effects, now: float) -> Effects:
        text = encode_out(self.state(now))
        fx.deliveries += [Deliver(v.endpoint, text) for v in self.seats.viewers]
        self._tap(fx, "event", text.encode(), now)
        return fx

    # -------------------------------------------------------- recording
    def _tap(self, fx: Effects, kind: RecordKind, data: bytes, now: float) -> None:
        """The recording tap: what viewers got, once, while recording."""
        if self.recording:
            fx.records.append(Record(self.session_id, self.request_id, kind, data, now))

    def _start_recording(self, fx: Effects, actor: Actor, actor_id: int | None, now: float) -> None:
        if self.recording or not self.sharing:
            return
        self.recording = True
        self.recording_error = None
        fx.records.append(Record(self.session_id, self.request_id, "start", b"", now))
        self._audit(fx, "recording_started", actor, actor_id, {"policy": self.recording_policy})
        self._to_agent(fx, ScreenRecording(on=True, policy=self.recording_policy))
        if self.cursor_shape is not None:
            self._tap(fx, "cursor", self.cursor_shape, now)
        self._refresh(fx)  # the recording opens with a key frame

    def _stop_recording(self, fx: Effects, by: str, actor: Actor, actor_id: int | None, now: float) -> None:
        if not self.recording:
            return
        self.recording = False
        last = encode_out(self.state(now)).encode()  # the recording ends on the state viewers see next
        fx.records.append(Record(self.session_id, self.request_id, "event", last, now))
        fx.records.append(Record(self.session_id, self.request_id, "stop", b"", now))
        self._audit(fx, "recording_stopped", actor, actor_id, {"by": by})
        self._to_agent(fx, ScreenRecording(on=False, policy=self.recording_policy))

    def request_key_frame(self) -> Effects:
        """The recorder opened a segment after the screen changed: ask the
        agent for a key frame (viewers get it too; it is one frame)."""
        fx = Effects()
        self._refresh(fx)
        return fx

    def recording_failed(self, error: str, now: float) -> Effects:
        """The recording's storage failed (``error`` in words). Everyone is
        told; under ``always`` sharing stops (recording was required), under
        ``on_request`` recording stops and sharing goes on."""
        fx = Effects()
        if not self.recording:
            return fx
        self.recording = False
        self.recording_error = error
        self._audit(fx, "recording_failed", "system", None, {"error": error})
        self._to_agent(fx, ScreenRecording(on=False, policy=self.recording_policy, error=error))
        if self.recording_policy == "always":
            return fx.extend(self.stop("system", now, reason=f"{RECORDING_REQUIRED}: {error}"))
        return self._broadcast(fx, now)

    def _to_agent(
        self, fx: Effects, message: Out | Input | Annotate | Clipboard | ScreenAck | ScreenRefresh | ScreenSelect
    ) -> None:
        if self.seats.agent is not None:
            fx.deliveries.append(Deliver(self.seats.agent, encode_out(message)))

    def _tell_watchers(self, fx: Effects) -> None:
        """Tell the agent who watches when that changed since it was last
        told (the welcome tells a joining agent)."""
        watching = self.seats.watching()
        if self.seats.agent is None or watching == self.told_watchers:
            return
        self.told_watchers = watching
        self._to_agent(fx, ScreenWatchers(watchers=watching))

    def _refresh(self, fx: Effects) -> None:
        if self.sharing and not self.key_coming:
            self._to_agent(fx, ScreenRefresh())

    def _audit_changes(self, fx: Effects, changes: list[Change], actor: Actor, actor_id: int | None) -> None:
        for c in changes:
            if c.before == c.after:
                continue
            kind = _AUDIT_OF_EVENT[c.event]
            data: dict[str, object] = {"privilege": c.privilege}
            if c.event in ("drop", "stop", "resume"):
                data["because"] = c.event
            self._audit(fx, kind, actor, actor_id, data)  # type: ignore[arg-type]

    def _audit(
        self, fx: Effects, kind: EventKind, actor: Actor, actor_id: int | None = None, data: dict[str, object] | None = None
    ) -> None:
        fx.audits.append(Audit(self.request_id, kind, actor, actor_id, data or {}))

    def _viewer_actor(self, viewer: Viewer) -> Actor:
        return "rep" if viewer.primary else "watcher"

    def _primary(self, viewer: Viewer) -> None:
        if not viewer.primary:
            raise Forbidden(WATCHERS_ONLY_LOOK)

    # ------------------------------------------------------------ agent
    def attach_agent(self, endpoint: object, intro: AgentIntro, now: float, *, resumed: bool) -> Effects:
        """An agent joined with a code (``resumed`` False) or came back with
        the resume token. The welcome goes first; a resumed agent that still
        holds the visitor's yes carries on, any other is asked."""
        fx = Effects()
        previous = self.seats.agent
        if previous is not None and previous is not endpoint and self.source == "browser":
            # The visitor ran the agent while the browser shared: the agent
            # takes over (and is asked for view like any new agent).
            fx.deliveries.append(Deliver(previous, encode_out(Ended(by="visitor"))))
            fx.closes.append(Close(previous, codes.CLOSE_NORMAL, AGENT_TOOK_OVER))
            self._audit_changes(fx, self.privileges.apply_all("stop"), "visitor", None)
        self.seats.attach_agent(endpoint, now)
        self.source = intro.source
        self.rep_name = intro.rep_name
        self.clipboard.reset()
        for v in self.seats.viewers:
            v.window.restart()
        kept = False
        if resumed and self.privileges["view"] == "suspended":
            self._audit_changes(fx, self.privileges.apply_all("resume"), "visitor", None)
            kept = True
        else:
            if not resumed and self.privileges["view"] == "suspended":
                # A new agent process (the visitor restarted it) replaces one
                # whose link dropped: the old yes does not carry over (rule 4).
                # Files that were allowed are asked for again once the
                # visitor allows view, so transfers waiting for this
                # computer can resume where they were.
                self.reasking_files = self.privileges["files"] == "suspended"
                self._audit_changes(fx, self.privileges.apply_all("stop"), "system", None)
        if not kept and self.privileges.can("view", "ask"):
            self._audit_changes(fx, self.privileges.apply("view", "ask"), "rep", self.rep_id)
        welcome = AgentWelcome(
            session_id=self.session_id,
            provider=intro.provider,
            rep=Named(intro.rep_name),
            visitor=Named(intro.visitor_name),
            asks=self.privileges.asking(),
            resume=self.seats.resume_token,
            resumed=kept,
            limits=intro.limits,
            recording=self.recording_policy,
            watchers=self.seats.watching(),
        )
        self.told_watchers = welcome.watchers
        fx.deliveries.append(Deliver(endpoint, encode_out(welcome)))
        if self.recording:
            fx.deliveries.append(Deliver(endpoint, encode_out(ScreenRecording(on=True, policy=self.recording_policy))))
        self._audit(fx, "agent_resumed" if resumed else "agent_joined", "visitor")
        if kept:
            self._refresh(fx)
            for stroke in self.board.strokes():  # the agent's screen lost them when it dropped
                fx.deliveries.append(Deliver(endpoint, encode_annotate(stroke)))
        return self._broadcast(fx, now)

    def detach_agent(self, endpoint: object, now: float, *, lost: bool = False) -> Effects:
        """The agent's socket closed (or its link went silent: ``lost``)."""
        fx = Effects()
        if not self.seats.detach_agent(endpoint, now):
            return fx
        if self.ended is None and self.source == "browser":
            # A page cannot come back with its consent: the share is over.
            return self.stop("visitor", now, reason=BROWSER_PAGE_GONE)
        if self.ended is None:
            was_control = self.privileges["control"] != "off"
            self._audit_changes(fx, self.privileges.apply_all("drop"), "system", None)
            if was_control:
                self.control_by = "system"
            reason = "no answer" if lost else "disconnected"
            self._audit(fx, "agent_lost", "system", None, {"reason": reason})
        return self._broadcast(fx, now)

    def receive_agent_frame(self, payload: bytes, seq: int, key: bool, now: float) -> Effects:
        """A validated screen frame from the agent."""
        fx = Effects()
        self.seats.seen(now)
        self.frames_in += 1
        self.bytes_in += len(payload)
        if not self.sharing:
            self.frames_dropped_before_consent += 1
            return fx
        if self.key_coming:
            self.key_coming = False
            if not key:  # not the key frame expected after all: ask for one
                self._refresh(fx)
        data = encode_frame(Channel.SCREEN, payload)
        for v in self.seats.viewers:
            if v.window.offer(seq, key, now):
                fx.deliveries.append(Deliver(v.endpoint, data, Priority.SCREEN, "frame"))
        self._tap(fx, "screen", data, now)
        return fx

    def receive_agent_pointer(self, payload: bytes, *, shape: bool, now: float) -> Effects:
        """A cursor shape (never dropped) or position (latest wins); neither is acked."""
        fx = Effects()
        self.seats.seen(now)
        if not self.sharing:
            return fx
        data = encode_frame(Channel.SCREEN, payload)
        if shape:
            self.cursor_shape = data
        for v in self.seats.viewers:
            if shape:
                fx.deliveries.append(Deliver(v.endpoint, data, Priority.CONTROL, "cursor"))
            else:
                fx.deliveries.append(Deliver(v.endpoint, data, Priority.POINTER, "pointer"))
        self._tap(fx, "cursor" if shape else "pointer", data, now)
        return fx

    def receive_agent(self, msg: AgentMessage, now: float) -> Effects:
        """A control message from the agent (already validated)."""
        self.seats.seen(now)
        fx = Effects()
        if isinstance(msg, Ping):
            return fx
        if isinstance(msg, Consent):
            return self._consent(msg, now)
        if isinstance(msg, ScreenInfo):
            self.monitors = [MonitorView(m.index, m.width, m.height, m.primary) for m in msg.monitors]
            self.selected = msg.selected
            return self._broadcast(fx, now)
        if isinstance(msg, StopSharing):
            return self.stop("visitor", now, reason=BROWSER_STOPS.get(msg.why))
        if isinstance(msg, ScreenStats):
            text = encode_out(ScreenStatsOut(rtt_ms=round(msg.rtt_ms, 1)))
            fx.deliveries += [Deliver(v.endpoint, text) for v in self.seats.viewers]
            return fx
        if isinstance(msg, ControlRevoked):
            if self.privileges["control"] in ("asking", "granted"):
                self._audit_changes(fx, self.privileges.apply("control", "revoke"), "visitor", None)
                self.control_by = "visitor"
                self._broadcast(fx, now)
            return fx
        if isinstance(msg, FilesRevoked):
            if self.privileges["files"] in ("asking", "granted", "suspended"):
                self._audit_changes(fx, self.privileges.apply("files", "revoke"), "visitor", None)
                self._broadcast(fx, now)
            return fx
        if isinstance(msg, Annotate):
            return self._annotate(msg, "agent", None, now)
        if isinstance(msg, Clipboard):
            self.clipboard.check("from_visitor", msg.text)
            primary = self.seats.primary()
            if primary is not None:
                fx.deliveries.append(Deliver(primary.endpoint, encode_out(Clipboard(msg.text))))
            self._audit(fx, "clipboard_crossed", "visitor", None, {"direction": "from_visitor", "chars": len(msg.text)})
            return fx
        if isinstance(msg, ClipboardAllow):
            self.clipboard.visitor_switches(to_visitor=msg.to_visitor, from_visitor=msg.from_visitor)
            return self._broadcast(fx, now)
        raise ProtocolError(f"{type(msg).__name__} is not an agent message", code="bad_type")

    def _consent(self, msg: Consent, now: float) -> Effects:
        fx = Effects()
        privilege: Privilege
        if msg.control is not None:
            privilege, allowed = "control", msg.control
        elif msg.view is not None:
            privilege, allowed = "view", msg.view
        elif msg.files is not None:
            privilege, allowed = "files", msg.files
        else:
            raise ProtocolError("consent needs view, control or files")
        if self.privileges[privilege] != "asking":
            raise ProtocolError(f"{privilege} was not asked for, or was already answered", code="bad_state")
        self._audit_changes(fx, self.privileges.apply(privilege, "allow" if allowed else "deny"), "visitor", None)
        if privilege == "control":
            # "unavailable": the agent has no input backend; nobody declined.
            self.control_by = None if allowed else "unavailable" if msg.unavailable else "visitor"
        elif privilege == "files":
            self.reasking_files = False  # a no leaves sharing as it was; the rep may ask again
        elif allowed:
            self._audit(fx, "sharing_started", "visitor")
            self.key_coming = True  # an agent starts sharing with a key frame: no refresh for it
            if self.recording_policy == "always":
                self._start_recording(fx, "system", None, now)
            if self.seats.viewers:
                self._refresh(fx)
            if self.reasking_files and self.privileges.can("files", "ask"):
                self._audit_changes(fx, self.privileges.apply("files", "ask"), "rep", self.rep_id)
                self._to_agent(fx, FilesAsk(rep=self.rep_name))
        else:
            self.ended = "denied"
            if self.seats.agent is not None:
                fx.closes.append(Close(self.seats.agent, codes.CLOSE_NORMAL, "visitor declined"))
        return self._broadcast(fx, now)

    # ---------------------------------------------------------- viewers
    def add_viewer(
        self, endpoint: object, user_id: int, name: str, now: float, role: WatcherRole = "supervisor"
    ) -> tuple[Viewer, Effects]:
        """A viewer joins: the rep holding the session (primary) or a watcher,
        whose ``role`` the visitor is shown (only supervisors and admins may
        watch: ``server/ws_viewer.py``)."""
        viewer = self.seats.add_viewer(endpoint, user_id, name, self.policy.window, role)
        fx = Effects()
        fx.deliveries.append(Deliver(endpoint, encode_out(self.state(now))))
        if self.cursor_shape is not None and self.sharing:
            fx.deliveries.append(Deliver(endpoint, self.cursor_shape, Priority.CONTROL, "cursor"))
        for stroke in self.board.strokes():
            fx.deliveries.append(Deliver(endpoint, encode_annotate(stroke)))
        if not viewer.primary:
            self._audit(fx, "watcher_joined", "watcher", user_id, {"name": name})
            self._tell_watchers(fx)
        self._broadcast(fx, now)
        self._refresh(fx)
        return viewer, fx

    def remove_viewer(self, viewer: Viewer, now: float) -> Effects:
        fx = Effects()
        if not self.seats.remove_viewer(viewer):
            return fx
        if viewer.primary and self.privileges.granted("control"):
            # The rep's link dropped mid-control: nothing may stay pressed.
            # Control itself stays, so a quick reconnect needs no new consent.
            self._to_agent(fx, Input(events=[EvRelease()]))
        if not viewer.primary:
            self._audit(fx, "watcher_left", "watcher", viewer.user_id, {"name": viewer.name})
            self._tell_watchers(fx)
        return self._broadcast(fx, now)

    def hand_over(self, rep_id: int, now: float, rep_name: str = "") -> tuple[list[object], Effects]:
        """A supervisor took the session over, or a colleague accepted its
        transfer: ``rep_id`` becomes the primary viewer (a viewer of theirs
        already open becomes primary) and the old rep's viewers leave the
        seats; returns their endpoints, for the adapter to close. Control the
        visitor gave the old rep ends (the visitor agreed to them, not to the
        new rep). The agent is told the new rep's name (``rep_name``, when
        known) with who watches. Idempotent."""
        fx = Effects()
        if rep_id == self.seats.rep_id:
            return [], fx
        old = [v for v in self.seats.viewers if v.primary]
        if self.privileges.can("control", "release"):
            self._to_agent(fx, Input(events=[EvRelease()]))
            self._audit_changes(fx, self.privileges.apply("control", "release"), "system", None)
            self.control_by = "system"
            self._to_agent(fx, ControlEnd(by="system"))
        self.seats.rep_id = rep_id
        for v in old:
            self.seats.remove_viewer(v)
        for v in self.seats.viewers:
            v.primary = v.user_id == rep_id
        if rep_name:
            self.rep_name = rep_name
            if self.seats.agent is not None:
                self.told_watchers = self.seats.watching()
                self._to_agent(fx, ScreenWatchers(watchers=self.told_watchers, rep=Named(rep_name)))
        self._tell_watchers(fx)
        self._broadcast(fx, now)
        return [v.endpoint for v in old], fx

    def receive_viewer(self, viewer: Viewer, msg: ViewerMessage, now: float) -> Effects:
        """A control message from a viewer (already validated)."""
        fx = Effects()
        if isinstance(msg, Ping):
            return fx
        if isinstance(msg, ScreenAck):
            wants_key = viewer.window.ack(msg.seq, now)
            if self.seats.paces_agent(viewer):
                self._to_agent(fx, ScreenAck(msg.seq))
            if wants_key:
                self._refresh(fx)
            return fx
        if isinstance(msg, ScreenRefresh):
            self._refresh(fx)
            return fx
        if isinstance(msg, Annotate):
            self._primary(viewer)
            return self._annotate(msg, "viewers", viewer, now)
        self._primary(viewer)
        if isinstance(msg, ScreenSelect):
            if not any(m.index == msg.monitor for m in self.monitors):
                raise Forbidden(f"there is no monitor {msg.monitor}")
            self._to_agent(fx, msg)
            return fx
        if isinstance(msg, StopSharing):
            return self.stop("rep", now, actor_id=viewer.user_id)
        if isinstance(msg, ControlRequest):
            if self.source == "browser":
                raise Forbidden(BROWSER_VIEW_ONLY)
            if not self.sharing or self.seats.agent is None:
                raise ProtocolError("control needs an agent that is sharing", code="bad_state")
            if self.privileges["control"] != "off":
                return fx
            self._audit_changes(fx, self.privileges.apply("control", "ask"), "rep", viewer.user_id)
            self.control_by = None
            self._to_agent(fx, ControlAsk(rep=viewer.name))
            return self._broadcast(fx, now)
        if isinstance(msg, ControlRelease):
            if self.privileges["control"] == "off":
                return fx
            self._audit_changes(fx, self.privileges.apply("control", "release"), "rep", viewer.user_id)
            self.control_by = "rep"
            self._to_agent(fx, ControlEnd(by="rep"))
            return self._broadcast(fx, now)
        if isinstance(msg, FilesRequest):
            return self._files_request(viewer, now)
        if isinstance(msg, ScreenRecord):
            if self.recording_policy != "on_request":
                raise Forbidden(RECORDING_NOT_ON_REQUEST)
            if msg.on:
                if not self.sharing:
                    raise ProtocolError(RECORDING_NEEDS_SHARING, code="bad_state")
                self._start_recording(fx, "rep", viewer.user_id, now)
            else:
                self._stop_recording(fx, "rep", "rep", viewer.user_id, now)
            return self._broadcast(fx, now)
        if isinstance(msg, FilesRelease):
            if self.privileges["files"] not in ("asking", "granted", "suspended"):
                return fx
            if self.privileges["files"] == "suspended":
                self._audit_changes(fx, self.privileges.apply("files", "revoke"), "rep", viewer.user_id)
            else:
                self._audit_changes(fx, self.privileges.apply("files", "release"), "rep", viewer.user_id)
            self._to_agent(fx, FilesEnd(by="rep"))
            return self._broadcast(fx, now)
        if isinstance(msg, Input):
            return self._input(msg, now)
        if isinstance(msg, Clipboard):
            self.clipboard.check("to_visitor", msg.text)
            if self.seats.agent is None or not self.sharing:
                raise ProtocolError("no agent to receive the clipboard", code="bad_state")
            self._to_agent(fx, Clipboard(msg.text))
            self._audit(fx, "clipboard_crossed", "rep", viewer.user_id, {"direction": "to_visitor", "chars": len(msg.text)})
            return fx
        raise ProtocolError(f"{type(msg).__name__} is not a viewer message", code="bad_type")

    def _files_request(self, viewer: Viewer, now: float) -> Effects:
        """The rep asks for the files privilege (primary only): the agent
        asks the visitor. A browser share has no agent to take files."""
        fx = Effects()
        if self.source == "browser":
            raise Forbidden(BROWSER_NO_FILES)
        if not self.sharing or self.seats.agent is None:
            raise ProtocolError("file access needs an agent that is sharing", code="bad_state")
        if self.privileges["files"] != "off":
            return fx
        self._audit_changes(fx, self.privileges.apply("files", "ask"), "rep", viewer.user_id)
        self._to_agent(fx, FilesAsk(rep=viewer.name))
        return self._broadcast(fx, now)

    def _input(self, msg: Input, now: float) -> Effects:
        """Forward the rep's input as validated, or refuse it whole."""
        events = len(msg.events)
        if not self.privileges.granted("control") or self.seats.agent is None:
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
        fx = Effects()
        self._to_agent(fx, msg)
        return fx

    def _annotate(self, msg: Annotate, side: Literal["agent", "viewers"], source: Viewer | None, now: float) -> Effects:
        if not self.sharing:
            raise ProtocolError("annotation needs a screen that is being shared", code="bad_state")
        self.board.spend(side, now)
        self.board.apply(msg)
        fx = Effects()
        # One event per message: a stroke goes out once, finished (never per
        # point), and the board's budget bounds how many arrive a minute.
        data: dict[str, object] = {"op": msg.op, "side": "rep" if side == "viewers" else "visitor"}
        if msg.op == "stroke":
            data["tool"] = msg.tool
        if source is None:
            self._audit(fx, "annotated", "visitor", None, data)
        else:
            self._audit(fx, "annotated", "rep", source.user_id, data)
        text = encode_annotate(msg)
        self._tap(fx, "event", text.encode(), now)
        if side == "viewers" and self.seats.agent is not None:
            fx.deliveries.append(Deliver(self.seats.agent, text))
        fx.deliveries += [Deliver(v.endpoint, text) for v in self.seats.viewers if v is not source]
        return fx

    # ---------------------------------------------------------- lifecycle
    def stop(self, by: str, now: float, *, actor_id: int | None = None, reason: str | None = None) -> Effects:
        """Stop sharing: the visitor, the rep, the support session ending
        (``session_ended``: everyone's socket closes) or the agent gone past
        the grace period (``agent_lost``). ``reason``: words for the rep
        when ``by`` alone does not say why (shown in ``screen.state``)."""
        fx = Effects()
        if self.ended == "stopped":
            return fx
        was_sharing = self.status() == "sharing"
        self.ended = "stopped"
        self.stopped_by = by
        self.stop_reason = reason
        actor: Actor = {"visitor": "visitor", "rep": "rep"}.get(by, "system")  # type: ignore[assignment]
        if self.privileges["control"] != "off":
            self.control_by = by
        self._audit_changes(fx, self.privileges.apply_all("stop"), actor, actor_id)
        if was_sharing:
            self._audit(fx, "sharing_stopped", actor, actor_id, {"by": by, "reason": reason} if reason else {"by": by})
        self._stop_recording(fx, by, actor, actor_id, now)
        agent = self.seats.agent
        if agent is not None:
            fx.deliveries.append(Deliver(agent, encode_out(Ended(by=by))))
            code = codes.CLOSE_ENDED if by == "session_ended" else codes.CLOSE_NORMAL
            fx.closes.append(Close(agent, code, "sharing stopped"))
        self._broadcast(fx, now)
        if by == "session_ended":
            fx.closes += [Close(v.endpoint, codes.CLOSE_ENDED, "the support session ended") for v in self.seats.viewers]
        return fx

    def restart(self, now: float) -> Effects:
        """Start over after a stop or a refusal: a new agent must join with a
        new code and ask for consent again; viewers stay connected."""
        self.ended = None
        self.stopped_by = ""
        self.stop_reason = None
        self.source = "agent"
        self.control_by = None
        self.reasking_files = False
        self.privileges = Privileges()
        self.board.clear()
        self.clipboard.reset()
        self.cursor_shape = None
        self.seats.restart()
        return self._broadcast(Effects(), now)

    def tick(self, now: float) -> Effects:
        """Time passing: an agent link silent past its deadline is dropped
        (and its socket closed); an agent gone past the grace period stops
        sharing."""
        fx = Effects()
        agent = self.seats.agent
        if agent is not None and self.seats.link_silent(now, self.policy.agent_link_timeout_s):
            fx.closes.append(Close(agent, codes.CLOSE_GOING_AWAY, "no answer from the agent"))
            fx.extend(self.detach_agent(agent, now, lost=True))
        if self.ended is None and self.seats.grace_left(now, self.policy.agent_grace_s) == 0.0:
            fx.extend(self.stop("agent_lost", now))
        return fx

    def idle(self) -> bool:
        """Stopped with nobody left: the registry may forget it."""
        return self.ended is not None and not self.seats.viewers and self.seats.agent is None

    def statistics(self) -> dict[str, object]:
        return {
            "state": self.status(),
            "frames_in": self.frames_in,
            "bytes_in": self.bytes_in,
            "dropped_before_consent": self.frames_dropped_before_consent,
            "viewers": [
                {"name": v.name, "received": v.window.received, "skipped": v.window.skipped} for v in self.seats.viewers
            ],
            "control": _CONTROL_STATUS[self.privileges["control"]],
            "inputs_forwarded": self.inputs_forwarded,
            "inputs_refused": self.inputs_refused,
        }
