"""The agent's logic, sans-I/O: what the visitor allowed, what to send next.

Theory of operation
-------------------
:class:`AgentSession` takes what the server sent (text, decoded into the
protocol's structs) and the visitor's answers, and returns :data:`Action`\\ s
for the shell (``agent/client.py``) to carry out: ask the visitor, inject
input, put text on the clipboard, paint a stroke, stop. Everything it wants
to send waits in a priority :class:`~desklink.protocol.outbox.Outbox`:
consent and control answers first, then the pointer (latest wins), then
screen frames (in parts no larger than the server's message limit), then
bulk data. The shell's writer sends from it one message at a time and
awaits each send, so order holds and every failure is seen.

Rules:

1. Nothing is captured before the visitor allows view; input is injected
   only while the visitor's own yes to control holds here
   (:class:`~desklink.protocol.privileges.Privileges`, the same table the
   relay keeps), and never while the visitor is using the mouse or keyboard
   or drawing.
2. An agent that reconnects with its resume token and is told ``resumed``
   keeps view without asking again (rule 4 of the privileges table);
   control always ends with the link.
3. Frames follow the server's window (:class:`~desklink.protocol.screen.FlowControl`):
   while it is full, nothing is captured, so the next frame holds every
   change since the last one sent.
4. Limits (message size, clipboard, ping interval) come from the server's
   ``welcome``; before it, the protocol's defaults apply.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass, field
from typing import Any

import msgspec

from desklink import __version__
from desklink.errors import Refused
from desklink.protocol import limits
from desklink.protocol.framing import Channel, split_frame
from desklink.protocol.messages import (
    AHello,
    Annotate,
    Clipboard,
    ClipboardAllow,
    Consent,
    ControlRevoked,
    FileAck,
    FileCancel,
    FileEnd,
    FileNak,
    FilePause,
    FilesRevoked,
    Input,
    InputEvent,
    Monitor,
    Msg,
    Ping,
    ScreenAck,
    ScreenInfo,
    ScreenRefresh,
    ScreenSelect,
    ScreenStats,
    StopSharing,
    encode,
)
from desklink.protocol.outbox import Outbox, Priority
from desklink.protocol.privileges import ASK_WORDING, Privilege, Privileges
from desklink.protocol.screen import FlowControl
from desklink.protocol.server_messages import (
    AgentLimits,
    AgentWelcome,
    ControlAsk,
    ControlEnd,
    Ended,
    Error,
    FileAskOut,
    FileOfferOut,
    FilesAsk,
    FilesEnd,
    FileState,
    RecordingPolicy,
    ScreenRecording,
    ScreenWatchers,
    Watcher,
    decode_to_agent,
    watching_words,
)

log = logging.getLogger("desklink.agent")

#: Messages waiting to be sent, per priority class. Screen frames are bounded
#: by the window (times their parts), control by what a person can do; a
#: socket that cannot take this many is dead.
OUTBOX_LIMIT = 4096
#: Latency is the median over this many of the latest acknowledged frames,
#: reported about once a second.
STATS_FRAMES = 30
STATS_INTERVAL_S = 1.0

DEFAULT_LIMITS = AgentLimits(
    max_message_bytes=limits.MAX_MESSAGE_BYTES,
    max_screen_frame_bytes=limits.MAX_SCREEN_FRAME_BYTES,
    max_clipboard_chars=limits.MAX_CLIPBOARD_CHARS,
    max_stroke_points=limits.MAX_STROKE_POINTS,
    screen_window=limits.SCREEN_WINDOW,
    ping_interval_s=limits.AGENT_PING_INTERVAL_S,
    link_timeout_s=limits.AGENT_LINK_TIMEOUT_S,
)


# ------------------------------------------------------------------ actions
@dataclass(frozen=True)
class AskVisitor:
    """Ask the visitor for ``privilege``; answer with :meth:`AgentSession.answer`."""

    privilege: Privilege
    rep: str
    provider: str
    #: The queue's recording policy, for the wording of a view question
    #: (protocol RECORDING_NOTICE); "never" for the other privileges.
    recording: RecordingPolicy = "never"

    @property
    def what(self) -> str:
        return ASK_WORDING[self.privilege]


@dataclass(frozen=True)
class StartSharing:
    """View is allowed: show the indicator naming the rep, start capturing."""

    rep: str


@dataclass(frozen=True)
class Inject:
    events: list[InputEvent]


@dataclass(frozen=True)
class ReleaseAll:
    """Let go of every key and button the agent pressed."""


@dataclass(frozen=True)
class ControlChanged:
    granted: bool


@dataclass(frozen=True)
class SetClipboard:
    text: str


@dataclass(frozen=True)
class Paint:
    """Put an annotation from the rep on the visitor's screen."""

    stroke: Annotate


@dataclass(frozen=True)
class Hurry:
    """Capture again now (input, a key-frame request, a monitor change)."""


@dataclass(frozen=True)
class Stop:
    reason: str


@dataclass(frozen=True)
class RecordingChanged:
    """The screen is being recorded now (``on``) or no longer; ``error``:
    recording failed, in words. The indicator shows it while it lasts."""

    on: bool
    error: str | None = None


@dataclass(frozen=True)
class WatchersChanged:
    """Someone besides the rep started or stopped watching the screen: the
    indicator shows ``words`` ("Sue (supervisor) is watching"; empty when
    nobody does); ``joined`` and ``left`` name who changed, with their role."""

    words: str
    joined: list[str]
    left: list[str]


@dataclass(frozen=True)
class FilesChanged:
    """The files privilege was granted (True) or ended: show or close the
    file windows; when it ends, every transfer stops (``why`` says why)."""

    granted: bool
    why: str = ""


@dataclass(frozen=True)
class FileEvent:
    """A ``file.*`` message for the transfer manager (``agent/files.py``);
    only while the visitor's yes to files holds."""

    msg: Any


Action = (
    AskVisitor
    | StartSharing
    | Inject
    | ReleaseAll
    | ControlChanged
    | SetClipboard
    | Paint
    | Hurry
    | Stop
    | FilesChanged
    | FileEvent
    | RecordingChanged
    | WatchersChanged
)
#: The file messages handed on as :class:`FileEvent`.
FILE_MESSAGES = (FileOfferOut, FileAskOut, FileAck, FileNak, FileEnd, FilePause, FileCancel, FileState)


@dataclass
class AgentSession:
    code: str
    #: The visitor's hard switches from the command line (--no-clipboard-*):
    #: when False, that direction stays off whatever the indicator says.
    clipboard_in_allowed: bool = True
    clipboard_out_allowed: bool = True
    limits: AgentLimits = DEFAULT_LIMITS
    resume: str = ""
    provider: str = ""
    rep: str = ""
    privileges: Privileges = field(default_factory=Privileges)
    flow: FlowControl = field(default_factory=FlowControl)
    outbox: Outbox[str | bytes] = field(default_factory=lambda: Outbox(OUTBOX_LIMIT))
    #: The visitor's clipboard switches in the indicator (off until turned on).
    clipboard_in: bool = False
    clipboard_out: bool = False
    key_wanted: bool = True
    select: int | None = None
    drawing: bool = False
    paused_until: float = 0.0
    injected: int = 0
    refused: int = 0
    welcomed: bool = False
    #: The queue's recording policy (from the welcome), and whether the
    #: screen is being recorded now (``screen.recording``).
    recording_policy: RecordingPolicy = "never"
    recording: bool = False
    #: Who watches besides the rep (the welcome, then ``screen.watchers``).
    watchers: list[Watcher] = field(default_factory=list)
    _next_ping: float = 0.0
    _next_stats: float = 0.0
    _stats_acked: int = 0

    # ------------------------------------------------------------ the link
    def hello(self) -> str:
        """The first message of a connection: the resume token once there is
        one, with what the visitor allowed that this process keeps (a relay
        node that never saw the session resumes those: see
        ``relay/moved.py``); else the join code (empty when a relay ticket
        took it)."""
        hello = AHello(version=__version__, platform=platform.platform()[:64])
        if self.resume:
            kept: list[Any] = [p for p in ("view", "files") if self.privileges[p] == "suspended"]
            hello = msgspec.structs.replace(hello, resume=self.resume, kept=kept)
        else:
            hello = msgspec.structs.replace(hello, code=self.code)
        return encode(hello)

    def connected(self, now: float) -> None:
        """A new connection: nothing of the old one is in flight any more."""
        self.outbox = Outbox(OUTBOX_LIMIT)
        self.flow = FlowControl(self.limits.screen_window)
        self.key_wanted = True
        self.welcomed = False
        self._next_ping = now + self.limits.ping_interval_s
        self._next_stats = now + STATS_INTERVAL_S

    def disconnected(self) -> list[Action]:
        """The link dropped: every privilege ends (view may resume)."""
        was_control = self.privileges.granted("control")
        self.privileges.apply_all("drop")
        return [ReleaseAll(), ControlChanged(False)] if was_control else [ReleaseAll()]

    # ----------------------------------------------------------- receiving
    def receive(self, text: str | bytes, now: float) -> list[Action]:
        """One message from the server. Unknown or malformed ones are logged
        and ignored (a newer server may send more)."""
        try:
            msg = decode_to_agent(text)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            log.warning("ignored a server message: %s", exc)
            return []
        return self.receive_message(msg, now)

    def receive_message(self, msg: Any, now: float) -> list[Action]:
        if isinstance(msg, AgentWelcome):
            return self._welcome(msg, now)
        if not self.welcomed:
            if isinstance(msg, Error):
                raise Refused(msg.message)
            raise Refused("the server did not welcome the agent")
        if isinstance(msg, ScreenAck):
            self.flow.acked(msg.seq, now)
            return []
        if isinstance(msg, ScreenRefresh):
            self.key_wanted = True
            return [Hurry()]
        if isinstance(msg, ScreenSelect):
            self.select = msg.monitor
            self.key_wanted = True
            return [Hurry()]
        if isinstance(msg, ControlAsk):
            if not self.privileges.can("control", "ask"):
                return []
            self.privileges.apply("control", "ask")
            return [AskVisitor("control", msg.rep, self.provider)]
        if isinstance(msg, ControlEnd):
            return self._end_control("release")
        if isinstance(msg, FilesAsk):
            if not self.privileges.can("files", "ask"):
                return []
            self.privileges.apply("files", "ask")
            return [AskVisitor("files", msg.rep, self.provider)]
        if isinstance(msg, FilesEnd):
            if not self.privileges.can("files", "release"):
                return []
            self.privileges.apply("files", "release")
            why = "sharing stopped" if msg.by in ("stop", "ended", "session_ended") else "the support rep stopped file sharing"
            return [FilesChanged(False, why)]
        if isinstance(msg, FILE_MESSAGES):
            return [FileEvent(msg)] if self.privileges.granted("files") else []
        if isinstance(msg, ScreenRecording):
            return self._recording(msg)
        if isinstance(msg, ScreenWatchers):
            return self._rep_changed(msg.rep.name if msg.rep else "") + self._watchers(msg.watchers)
        if isinstance(msg, Input):
            return self._inject(msg.events, now)
        if isinstance(msg, Annotate):
            return [Paint(msg)]
        if isinstance(msg, Clipboard):
            if self.clipboard_in and self.clipboard_in_allowed and len(msg.text) <= self.limits.max_clipboard_chars:
                return [SetClipboard(msg.text)]
            return []
        if isinstance(msg, Ended):
            self.privileges.apply_all("stop")
            reason = {"rep": "the support rep stopped sharing", "session_ended": "the support session ended"}.get(
                msg.by, "sharing ended"
            )
            return [ReleaseAll(), Stop(reason)]
        if isinstance(msg, Error):
            log.warning("server said: %s", msg.message)
            ref = msg.ref if isinstance(msg.ref, str) else ""
            return [FileEvent(msg)] if ref.startswith("file.") and self.privileges.granted("files") else []
        return []  # Pong, Ping: the link is alive

    def _welcome(self, msg: AgentWelcome, now: float) -> list[Action]:
        """Each welcome says who watches now: what changed while the link was
        down is shown (before any question, so the visitor knows who sees)."""
        watchers = self._watchers(msg.watchers)
        return watchers + self._welcome_privileges(msg, now)

    def _welcome_privileges(self, msg: AgentWelcome, now: float) -> list[Action]:
        self.welcomed = True
        self.limits = msg.limits
        self.flow = FlowControl(msg.limits.screen_window)
        self.resume = msg.resume
        self.provider, self.rep = msg.provider, msg.rep.name
        self.recording_policy = msg.recording
        self._next_ping = now + msg.limits.ping_interval_s
        if msg.resumed and self.privileges["view"] == "suspended":
            self.privileges.apply_all("resume")
            self._send_clipboard_switches()
            files = [FilesChanged(True)] if self.privileges.granted("files") else []
            return [StartSharing(self.rep), *files]
        had_files = self.privileges["files"] != "off"
        self.privileges = Privileges()
        actions: list[Action] = []
        if self.recording:  # a new start: the old recording ended with the old sharing
            self.recording = False
            actions.append(RecordingChanged(False))
        for p in msg.asks:
            if self.privileges.can(p, "ask"):
                self.privileges.apply(p, "ask")
                actions.append(AskVisitor(p, self.rep, self.provider, self.recording_policy if p == "view" else "never"))
        if had_files:
            actions.append(FilesChanged(False, "the connection was lost for too long"))
        return actions

    # ------------------------------------------------------- the visitor
    def answer(self, privilege: Privilege, allowed: bool) -> list[Action]:
        """The visitor answered the consent question for ``privilege``."""
        if self.privileges[privilege] != "asking":
            return []
        self.privileges.apply(privilege, "allow" if allowed else "deny")
        if privilege == "view":
            self._push(Consent(view=allowed))
        elif privilege == "control":
            self._push(Consent(control=allowed))
        else:
            self._push(Consent(files=allowed))
        if privilege == "files":
            return [FilesChanged(allowed)]
        if privilege == "view":
            if not allowed:
                return [Stop("you declined")]
            self._send_clipboard_switches()
            return [StartSharing(self.rep)]
        return [ControlChanged(allowed)]

    def control_unavailable(self) -> list[Action]:
        """The rep asked for control but this computer cannot inject input:
        the visitor is not asked, and the rep is told why (not "declined")."""
        if self.privileges["control"] != "asking":
            return []
        self.privileges.apply("control", "deny")
        self._push(Consent(control=False, unavailable=True))
        return [ControlChanged(False)]

    def revoke_control(self) -> list[Action]:
        """The visitor takes control back (indicator button or hotkey)."""
        if self.privileges["control"] not in ("asking", "granted"):
            return []
        actions = self._end_control("revoke")
        self._push(ControlRevoked())
        return actions

    def revoke_files(self) -> list[Action]:
        """The visitor takes file sharing back (the files window)."""
        if self.privileges["files"] not in ("asking", "granted", "suspended"):
            return []
        self.privileges.apply("files", "revoke")
        self._push(FilesRevoked())
        return [FilesChanged(False, "you stopped file sharing")]

    def send_file_message(self, msg: Msg) -> None:
        """A ``file.*`` message from the transfer manager (ahead of frames)."""
        self._push(msg)

    def send_file_message_after_chunks(self, msg: Msg) -> None:
        """``file.end``: in the bulk queue, behind the chunks it ends."""
        if not self.outbox.push(encode(msg), Priority.BULK):
            raise OverflowError("the connection to the server is not taking messages")

    def send_file_chunk(self, chunk: bytes) -> None:
        """An encoded file chunk: in parts of the server's message size,
        behind every screen frame (the parts of one chunk stay together: the
        bulk class is one queue)."""
        for part in split_frame(Channel.FILE, chunk, self.limits.max_message_bytes):
            self._push_bytes(part, Priority.BULK)

    def local_input(self, now: float, pause_s: float) -> None:
        """The visitor used their own mouse or keyboard: remote input waits."""
        self.paused_until = now + pause_s

    def set_drawing(self, on: bool) -> list[Action]:
        """Draw mode on or off: the rep's input is held meanwhile, and
        anything held down is let go."""
        self.drawing = on
        return [ReleaseAll()] if on else []

    def set_clipboard_switches(self, *, incoming: bool, outgoing: bool) -> None:
        """The visitor turned clipboard sharing on or off in the indicator."""
        self.clipboard_in = incoming and self.clipboard_in_allowed
        self.clipboard_out = outgoing and self.clipboard_out_allowed
        self._send_clipboard_switches()

    def clipboard_changed(self, text: str) -> None:
        """The visitor copied something: it goes to the rep only while sharing
        with the outgoing switch on."""
        if self.clipboard_out and self.privileges.granted("view") and text:
            self._push(Clipboard(text[: self.limits.max_clipboard_chars]))

    def send_annotate(self, stroke: Annotate) -> None:
        """The visitor drew or cleared."""
        if self.privileges.granted("view"):
            self._push(stroke)

    def stop(self) -> None:
        """The visitor stops sharing (Stop button, Ctrl+C): tell the server,
        unless sharing is already over (the server stopped it)."""
        if all(state == "off" for _, state in self.privileges):
            return
        self.privileges.apply_all("stop")
        self._push(StopSharing())

    # ----------------------------------------------------------- capture
    def may_capture(self) -> bool:
        """Is a capture wanted now (view granted, window open or key wanted)?"""
        return self.privileges.granted("view") and (self.flow.can_send() or self.key_wanted)

    def take_key_wanted(self) -> bool:
        wanted, self.key_wanted = self.key_wanted, False
        if wanted:
            self.flow.reset()
        return wanted

    def send_info(self, monitors: list[Monitor], selected: int) -> None:
        self._push(ScreenInfo(monitors=monitors, selected=selected))

    def send_frame(self, payload: bytes, seq: int, now: float) -> None:
        """A screen frame: queued in parts behind every control message."""
        self.flow.take_seq()
        self.flow.sent(seq, now)
        for part in split_frame(Channel.SCREEN, payload, self.limits.max_message_bytes):
            self._push_bytes(part, Priority.SCREEN)

    def send_cursor(self, payload: bytes) -> None:
        """A cursor shape: never dropped, ahead of frames."""
        self._push_bytes(bytes((Channel.SCREEN,)) + payload, Priority.CONTROL)

    def send_pointer(self, payload: bytes) -> None:
        """A pointer position: the latest replaces any not yet sent."""
        self.outbox.replace(bytes((Channel.SCREEN,)) + payload, Priority.POINTER)

    def tick(self, now: float) -> None:
        """Keep-alive pings and the latency report, when due."""
        if now >= self._next_ping:
            self._next_ping = now + self.limits.ping_interval_s
            self._push(Ping())
        if now >= self._next_stats:
            self._next_stats = now + STATS_INTERVAL_S
            if self.flow.frames_acked > self._stats_acked:  # an idle screen sends nothing at all
                self._stats_acked = self.flow.frames_acked
                recent = sorted(self.flow.rtts[-STATS_FRAMES:])
                self._push(ScreenStats(rtt_ms=round(recent[len(recent) // 2] * 1000, 1)))

    def data_to_send(self) -> str | bytes | None:
        """The next message to send, most urgent first; None when nothing waits."""
        return self.outbox.pop()

    # ------------------------------------------------------------ helpers
    def _inject(self, events: list[InputEvent], now: float) -> list[Action]:
        if not self.privileges.granted("control"):
            self.refused += len(events)
            return []
        if self.drawing or now < self.paused_until:
            kept = [e for e in events if type(e).__name__ == "EvRelease"]
            self.refused += len(events) - len(kept)
            return [Inject(kept)] if kept else []
        self.injected += len(events)
        return [Inject(list(events))]

    def _recording(self, msg: ScreenRecording) -> list[Action]:
        """Recording began or ended. The server says so again after a resume:
        only a change (or a failure) is shown."""
        if msg.policy != "never":
            self.recording_policy = msg.policy
        if msg.on == self.recording and msg.error is None:
            return []
        self.recording = msg.on
        return [RecordingChanged(msg.on, msg.error)]

    def _rep_changed(self, rep: str) -> list[Action]:
        """Another rep holds the session now (a transfer or a take-over):
        while sharing, the indicator names them (StartSharing again only
        renames it)."""
        if not rep or rep == self.rep:
            return []
        self.rep = rep
        return [StartSharing(rep)] if self.privileges.granted("view") else []

    def _watchers(self, watchers: list[Watcher]) -> list[Action]:
        """Only a change is shown; each person once, with their role."""
        before = {w.label for w in self.watchers}
        after = {w.label for w in watchers}
        self.watchers = list(watchers)
        if before == after:
            return []
        joined = [w.label for w in watchers if w.label not in before]
        left = sorted(before - after)
        return [WatchersChanged(watching_words(watchers), joined, left)]

    def _end_control(self, event: str) -> list[Action]:
        if self.privileges["control"] == "off":
            return [ReleaseAll()]
        self.privileges.apply("control", event)  # type: ignore[arg-type]
        return [ReleaseAll(), ControlChanged(False)]

    def _send_clipboard_switches(self) -> None:
        self._push(ClipboardAllow(to_visitor=self.clipboard_in, from_visitor=self.clipboard_out))

    def _push(self, msg: Msg) -> None:
        if not self.outbox.push(encode(msg), Priority.CONTROL):
            raise OverflowError("the connection to the server is not taking messages")

    def _push_bytes(self, data: bytes, priority: Priority) -> None:
        if not self.outbox.push(data, priority):
            raise OverflowError("the connection to the server is not taking messages")
