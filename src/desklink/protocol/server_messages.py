"""What the server sends: one frozen struct per message type.

The counterpart of :mod:`desklink.protocol.messages` (what clients send).
Messages that travel both ways unchanged (``screen.ack``, ``annotate``,
``clipboard``, ``input``...) use the client's struct in both directions, so
the relay forwards exactly what it validated, re-encoded, never the text it
received.

Fields that a message carries only for some receivers are ``UNSET`` by
default and then left out of the JSON (``ended`` has a ``disposition`` for
reps, none for visitors).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from desklink.protocol import limits
from desklink.protocol.messages import (
    Annotate,
    Clipboard,
    Input,
    Msg,
    Ping,
    FileAck,
    FileCancel,
    FileEnd,
    FileNak,
    FilePause,
    ScreenAck,
    ScreenRefresh,
    ScreenSelect,
)
from desklink.protocol.privileges import Privilege, PrivilegeState

Status = Literal["waiting_agent", "asking", "sharing", "denied", "stopped"]
ControlStatus = Literal["view", "asking", "granted"]
#: Who stopped sharing, or ended control: the visitor, the rep, the support
#: session ending, the agent's link lost past the grace period, or DeskLink.
StopBy = Literal["visitor", "rep", "session_ended", "agent_lost", "system"]
#: Who shares the screen: the native agent (view, control, drawing on the
#: real screen) or the visitor's browser (``/ws/share``: view only).
Source = Literal["agent", "browser"]
#: A queue's screen recording policy (``queues.recording``): ``always`` records
#: from the moment sharing starts (sharing stops if recording fails);
#: ``on_request`` when the rep holding the session presses Record;
#: ``never``.
RecordingPolicy = Literal["always", "on_request", "never"]
RECORDING_POLICIES: tuple[RecordingPolicy, ...] = ("always", "on_request", "never")
#: What the visitor is told before sharing, per policy (the agent's consent
#: question and the help box's offer say the same; web/widget/screen-offer.js
#: keeps a copy). Nothing under ``never``: nothing is recorded.
RECORDING_NOTICE: dict[RecordingPolicy, str] = {
    "always": "This session's screen will be recorded.",
    "on_request": "The support rep may record the screen; you will see when.",
}


class Out(msgspec.Struct, frozen=True, tag_field="t", omit_defaults=True):
    """Base of server messages. ``omit_defaults`` leaves ``UNSET`` fields out."""


class Error(Out, tag="error", frozen=True):
    code: str
    message: str
    ref: str | UnsetType = UNSET


class Pong(Out, tag="pong", frozen=True):
    pass


# --------------------------------------------------------------------------
# to the agent


class AgentLimits(msgspec.Struct, frozen=True):
    """The limits an agent must keep, from the server's settings (so the
    agent has no copies of them)."""

    max_message_bytes: int
    max_screen_frame_bytes: int
    max_clipboard_chars: int
    max_stroke_points: int
    screen_window: int
    #: The agent sends ``ping`` at least this often; the server closes a
    #: link it has not heard from for ``link_timeout_s``.
    ping_interval_s: float
    link_timeout_s: float
    #: A browser share's bounds (``/ws/share``; agents need not read them).
    browser_max_chunk_bytes: int = limits.BROWSER_SHARE_MAX_CHUNK_BYTES
    browser_chunks_per_s: int = limits.BROWSER_SHARE_CHUNKS_PER_S
    #: File legs (protocol/files.py): largest chunk data, credit window.
    file_chunk_bytes: int = limits.FILE_CHUNK_BYTES
    file_window_bytes: int = limits.FILE_WINDOW_BYTES


class Named(msgspec.Struct, frozen=True):
    name: str


#: A watcher's role, as the visitor reads it ("Sue (supervisor) is watching").
WatcherRole = Literal["rep", "supervisor", "admin"]


class Watcher(msgspec.Struct, frozen=True):
    """Someone other than the rep holding the session who sees the screen."""

    name: str
    role: WatcherRole

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})"


class ScreenWatchers(Out, tag="screen.watchers", frozen=True):
    """To the agent (and the help box's share): who watches the screen besides
    the rep holding the session, each once, sent whenever that changes (the
    welcome carries who watches on joining). No silent watching: the
    visitor's side shows it while it lasts. ``rep`` names the rep holding
    the session when that changed (a transfer or a supervisor's take-over),
    so the visitor's side names the right person; absent otherwise."""

    watchers: list[Watcher]
    rep: Named | None = None


def watching_words(watchers: list[Watcher]) -> str:
    """"Sue (supervisor) is watching", "Sue (supervisor) and Bob (admin) are
    watching"; empty when nobody watches. The help box words it alike
    (web/widget/format.js watchingWords)."""
    labels = [w.label for w in watchers]
    if not labels:
        return ""
    if len(labels) == 1:
        return f"{labels[0]} is watching"
    return f"{', '.join(labels[:-1])} and {labels[-1]} are watching"


class AgentWelcome(Out, tag="welcome", frozen=True):
    session_id: str
    provider: str
    rep: Named
    visitor: Named
    #: What the visitor is asked for now (derived from the privileges table).
    asks: list[Privilege]
    resume: str
    #: True when this agent came back and keeps the consent it had.
    resumed: bool
    limits: AgentLimits
    #: The queue's recording policy, for the consent wording ("this screen
    #: will be / may be recorded").
    recording: RecordingPolicy = "never"
    #: Who watches besides the rep now (later changes: ``screen.watchers``).
    watchers: list[Watcher] = msgspec.field(default_factory=list)


class ScreenRecording(Out, tag="screen.recording", frozen=True):
    """To the agent (and the help box): the screen is being recorded now
    (``on``) or no longer; ``error``: recording failed, in words."""

    on: bool
    policy: RecordingPolicy = "never"
    error: str | None = None


class ControlAsk(Out, tag="control.ask", frozen=True):
    """The rep asks for control: ask the visitor."""

    rep: str


class ControlEnd(Out, tag="control.end", frozen=True):
    """Control ended by the rep or DeskLink: release everything."""

    by: str


class Ended(Out, tag="ended", frozen=True):
    """To the agent: sharing is over (``by``). To help box and console: the
    support session ended (``session_id``; reps also get ``disposition``)."""

    by: str
    session_id: str | UnsetType = UNSET
    disposition: str | None | UnsetType = UNSET


# --------------------------------------------------------------------------
# to the viewer


class MonitorView(msgspec.Struct, frozen=True):
    index: int
    width: int
    height: int
    primary: bool = False


class ClipboardState(msgspec.Struct, frozen=True):
    """May clipboard text cross now, in each direction: the policy and the
    visitor's own switch (off until the visitor turns it on)."""

    from_visitor: bool
    to_visitor: bool


class ScreenState(Out, tag="screen.state", frozen=True):
    session_id: str
    status: Status
    #: Is the visitor's agent connected right now?
    agent: bool
    monitors: list[MonitorView]
    selected: int
    watchers: list[str]
    by: str | None
    control: ControlStatus
    control_by: str | None
    privileges: dict[Privilege, PrivilegeState]
    clipboard: ClipboardState
    #: While the agent's link is lost and the relay still waits for it to come
    #: back: the seconds left when this was sent; None otherwise.
    grace_left_s: float | None
    #: Who shares: the agent, or the visitor's browser (view only).
    source: Source = "agent"
    #: Why sharing stopped, in words for the rep, when there is more to say
    #: than ``by`` (a browser share's page closed, a malformed chunk).
    reason: str | None = None
    #: Is the screen being recorded now, and the queue's policy (the viewer
    #: offers Record / Stop recording under ``on_request``).
    recording: bool = False
    recording_policy: RecordingPolicy = "never"
    #: Why recording failed, in words, when it did.
    recording_error: str | None = None


class ScreenStatsOut(Out, tag="screen.stats", frozen=True):
    rtt_ms: float


# --------------------------------------------------------------------------
# files (see protocol/files.py)

FileStatus = Literal[
    "offered", "uploading", "paused", "ready", "delivering", "delivered", "refused", "cancelled", "failed", "expired"
]


class FileState(Out, tag="file.state", frozen=True):
    """Where one transfer stands, to both parties of its session (and to the
    sender as the answer to its ``file.offer``, with the offer's ``cid``).
    Every card in the help box and the console is drawn from these."""

    id: int
    session_id: str
    name: str
    size: int
    mime: str
    #: Who sends: ``visitor`` (help box or agent) or ``rep``; ``by``: their name.
    sender: Literal["visitor", "rep"]
    by: str
    #: ``chat`` (download card) or ``computer`` (to the visitor's agent).
    to: Literal["chat", "computer"]
    #: From the agent (``agent``) or a browser (``browser``).
    via: Literal["agent", "browser"]
    status: FileStatus
    #: Bytes the server holds (upload leg) and the agent holds (delivery leg).
    received: int
    delivered: int
    #: SHA-256 of the whole file, once verified; empty before.
    sha256: str
    #: Why it failed, was refused or cancelled, in words.
    reason: str
    #: Path of the download (an attachment), once ``ready``; empty before.
    download: str
    #: Seconds since the epoch when it was offered.
    created: float
    #: Bytes a second over the last few seconds, and seconds left (None: unknown).
    rate: float = 0.0
    eta_s: float | None = None
    cid: str | UnsetType = UNSET
    #: Who paused it, while ``paused``.
    paused_by: str | UnsetType = UNSET


class FileOfferOut(Out, tag="file.offer", frozen=True):
    """To the agent: the rep sends this file to the visitor's computer; ask
    the visitor (accept with a destination, or refuse)."""

    id: int
    name: str
    size: int
    mime: str
    rep: str


class FileAskOut(Out, tag="file.ask", frozen=True):
    """To the agent: the rep asks the visitor to pick a file to send."""

    ask: str
    rep: str
    note: str = ""


class FilesAsk(Out, tag="files.ask", frozen=True):
    """To the agent: the rep asks for the files privilege; ask the visitor."""

    rep: str


class FilesEnd(Out, tag="files.end", frozen=True):
    """To the agent: the files privilege ended (by the rep or DeskLink)."""

    by: str


#: What the server may send to an agent, for the agent's decoder.
ToAgent = (
    AgentWelcome
    | ScreenAck
    | ScreenRefresh
    | ScreenSelect
    | ControlAsk
    | ControlEnd
    | Input
    | Annotate
    | Clipboard
    | Ended
    | ScreenRecording
    | ScreenWatchers
    | Error
    | Pong
    | Ping
    | FileOfferOut
    | FileAskOut
    | FileState
    | FilesAsk
    | FilesEnd
    | FileAck
    | FileNak
    | FileEnd
    | FilePause
    | FileCancel
)

_to_agent = msgspec.json.Decoder(ToAgent)
_encoder = msgspec.json.Encoder()


def decode_to_agent(data: str | bytes) -> Any:
    """Parse a server message on the agent's side. Raises
    ``msgspec.ValidationError``/``DecodeError`` for anything it does not know;
    the agent logs and ignores those (a newer server may send more)."""
    return _to_agent.decode(data)


def encode_out(message: Out | Msg) -> str:
    return _encoder.encode(message).decode("utf-8")

