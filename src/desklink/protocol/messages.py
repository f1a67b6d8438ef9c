"""Wire messages: one frozen struct per message type.

Every control message is a JSON object in a WebSocket *text* frame, tagged by
its ``t`` field. Binary frames are reserved for bulk channels (screen, files;
see :mod:`desklink.protocol.framing`). Decoding checks types and lengths and
turns anything wrong into :class:`~desklink.errors.ProtocolError` with a code
the peer can act on; it never raises anything else.

Client messages are split by endpoint (visitor, rep) so that each endpoint's
decoder knows exactly the types it accepts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol import limits

Disposition = Literal["resolved", "not_resolved", "escalated"]
PresenceStatus = Literal["online", "away"]
Sender = Literal["visitor", "rep", "system"]

ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_CLIENT_ID_CHARS)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=2**62)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_ID_CHARS)]
Text = str  # length is checked against the configured limit, not the constant


class Msg(msgspec.Struct, frozen=True, tag_field="t", forbid_unknown_fields=False):
    """Base of all wire messages."""


# --------------------------------------------------------------------------
# visitor -> server


class VHello(Msg, tag="hello", frozen=True):
    """First message on ``/ws/visitor``: the capability token and the last
    chat ``seq`` this help box has seen (0 for none)."""

    token: Annotated[str, msgspec.Meta(min_length=limits.MIN_TOKEN_CHARS, max_length=limits.MAX_TOKEN_CHARS)]
    last_seq: Seq = 0


class ChatSend(Msg, tag="chat.send", frozen=True):
    """A chat message. ``cid`` is the sender's own id for it: sending the
    same ``cid`` again (after a reconnect) never stores a duplicate.
    ``session_id`` is required from reps and ignored from visitors."""

    cid: ClientId
    text: Text
    session_id: str = ""


class Typing(Msg, tag="typing", frozen=True):
    on: bool
    session_id: str = ""


class Cancel(Msg, tag="cancel", frozen=True):
    """The visitor gives up before a rep accepted (stored as abandoned)."""


class Leave(Msg, tag="leave", frozen=True):
    """The visitor ends the conversation."""


class Ping(Msg, tag="ping", frozen=True):
    pass


# --------------------------------------------------------------------------
# files (visitor, rep and agent sockets; see :mod:`desklink.protocol.files`)

TransferId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
FileOffset = Annotated[int, msgspec.Meta(ge=0, le=limits.MAX_FILE_BYTES)]
FileName = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_FILE_NAME_CHARS)]
Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
Reason = Annotated[str, msgspec.Meta(max_length=limits.MAX_FILE_REASON_CHARS)]


class FileOffer(Msg, tag="file.offer", frozen=True):
    """The sender announces a file. ``cid`` is its own id for the offer (an
    offer sent again after a reconnect makes no second transfer). ``name``
    may hold a relative folder path (``logs/app.log``: a folder goes as its
    files); every receiving side sanitizes it. ``to``: ``chat`` (a download
    card in the conversation) or, from a rep, ``computer`` (straight to the
    visitor's computer through the agent, once the visitor accepts it).
    ``ask``: from an agent, the ``file.ask`` this answers. ``session_id`` is
    required from reps."""

    cid: ClientId
    name: FileName
    size: FileOffset
    mime: Annotated[str, msgspec.Meta(max_length=limits.MAX_FILE_MIME_CHARS)] = ""
    to: Literal["chat", "computer"] = "chat"
    ask: Annotated[str, msgspec.Meta(max_length=limits.MAX_ID_CHARS)] = ""
    session_id: str = ""


class FileResume(Msg, tag="file.resume", frozen=True):
    """The sender came back (reconnect, reload, restart): where to go on
    from. Answered with ``file.ack``."""

    id: TransferId


class FileAck(Msg, tag="file.ack", frozen=True):
    """The receiver holds every byte below ``acked`` and lets the sender go
    up to ``until``. From the server to an uploader, from an agent to the
    server while it receives."""

    id: TransferId
    acked: FileOffset
    until: FileOffset


class FileNak(Msg, tag="file.nak", frozen=True):
    """The chunk at ``offset`` was bad or out of order: send again from there."""

    id: TransferId
    offset: FileOffset


class FileEnd(Msg, tag="file.end", frozen=True):
    """Every byte was sent; the SHA-256 of the whole file (lowercase hex)."""

    id: TransferId
    sha256: Sha256Hex


class FilePause(Msg, tag="file.pause", frozen=True):
    """Pause (``on``) or go on (``on: false``) with a transfer; either party."""

    id: TransferId
    on: bool = True


class FileCancel(Msg, tag="file.cancel", frozen=True):
    id: TransferId
    reason: Reason = ""


class FileAccept(Msg, tag="file.accept", frozen=True):
    """Agent: the visitor takes the file. ``offset``: bytes of it the agent
    already holds from an earlier attempt (it resumes there)."""

    id: TransferId
    offset: FileOffset = 0


class FileRefuse(Msg, tag="file.refuse", frozen=True):
    """Agent: the visitor refuses the file ``id``, or picks nothing for the
    request ``ask``."""

    id: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    ask: Annotated[str, msgspec.Meta(max_length=limits.MAX_ID_CHARS)] = ""


class FileDone(Msg, tag="file.done", frozen=True):
    """Agent: the file is verified and saved (``saved_as``: its final name,
    as the visitor's computer shows it)."""

    id: TransferId
    saved_as: Annotated[str, msgspec.Meta(max_length=4096)] = ""


class FileFailed(Msg, tag="file.failed", frozen=True):
    """Agent: it could not take the file (disk full, permission denied, hash
    mismatch); nothing is left under the final name."""

    id: TransferId
    reason: Reason


class FileAsk(Msg, tag="file.ask", frozen=True):
    """Rep: ask the visitor to pick a file on their computer (agent)."""

    session_id: Id
    note: Annotated[str, msgspec.Meta(max_length=limits.MAX_FILE_REASON_CHARS)] = ""


class FilesRequest(Msg, tag="files.request", frozen=True):
    """Viewer: the rep asks for the files privilege."""


class FilesRelease(Msg, tag="files.release", frozen=True):
    """Viewer: the rep gives the files privilege back."""


class FilesRevoked(Msg, tag="files.revoked", frozen=True):
    """Agent: the visitor took the files privilege back."""


#: File messages each socket accepts (a file is sent and managed from any of them).
FileFromBrowser = FileOffer | FileResume | FileEnd | FilePause | FileCancel
FileFromAgent = FileOffer | FileResume | FileEnd | FilePause | FileCancel | FileAck | FileNak | FileAccept | FileRefuse | FileDone | FileFailed | FilesRevoked


VisitorIn = VHello | ChatSend | Typing | Cancel | Leave | Ping | FileFromBrowser


# --------------------------------------------------------------------------
# rep -> server


class RHello(Msg, tag="hello", frozen=True):
    """First message on ``/ws/rep`` (authenticated by cookie). ``resume``
    maps session ids to the last chat ``seq`` the console has seen."""

    resume: dict[str, Seq] = {}


class SetPresence(Msg, tag="presence", frozen=True):
    status: PresenceStatus


class Accept(Msg, tag="accept", frozen=True):
    request_id: Id


class End(Msg, tag="end", frozen=True):
    session_id: Id
    disposition: Disposition
    note: Text = ""


class ScreenRequest(Msg, tag="screen.request", frozen=True):
    """Ask the visitor to share their screen: makes a join code and shows the
    visitor how to run the agent."""

    session_id: Id


class Watch(Msg, tag="watch", frozen=True):
    """A supervisor (of the session's queue) or an admin watches a live
    conversation read-only; the visitor is told who watches."""

    session_id: Id


class Unwatch(Msg, tag="unwatch", frozen=True):
    session_id: Id


class Whisper(Msg, tag="whisper", frozen=True):
    """A note from a watcher to the rep holding the session (and other
    watchers); the visitor never sees it. ``cid`` makes a resend harmless."""

    session_id: Id
    cid: ClientId
    text: Text


class JoinChat(Msg, tag="join_chat", frozen=True):
    """A watcher joins the chat: their lines then reach the visitor."""

    session_id: Id


class TakeOver(Msg, tag="take_over", frozen=True):
    """A watcher becomes the rep holding the session."""

    session_id: Id


class HandoffList(Msg, tag="handoff.list", frozen=True):
    """Who a session could be transferred to or who invited: the reps online
    now and the queues (the console's Transfer and Invite dialog)."""


class Transfer(Msg, tag="transfer", frozen=True):
    """The rep holding a session offers it to one online rep (``to_rep_id``)
    or to a queue (``to_queue_id``), exactly one of them, with a note the
    visitor never sees. It stays theirs until someone accepts."""

    session_id: Id
    to_rep_id: int | None = None
    to_queue_id: int | None = None
    note: Text = ""


class Invite(Msg, tag="invite", frozen=True):
    """The rep holding a session asks an online colleague into its chat."""

    session_id: Id
    to_rep_id: int
    note: Text = ""


class HandoffAccept(Msg, tag="handoff.accept", frozen=True):
    """Take a transfer or an invitation offered to you (``id`` from its alert)."""

    session_id: Id
    id: Id


class HandoffDecline(Msg, tag="handoff.decline", frozen=True):
    session_id: Id
    id: Id


class LeaveChat(Msg, tag="leave_chat", frozen=True):
    """An invited rep leaves the chat they were asked into."""

    session_id: Id


RepIn = (
    RHello | ChatSend | Typing | SetPresence | Accept | End | ScreenRequest | Ping | FileFromBrowser | FileAsk
    | Watch | Unwatch | Whisper | JoinChat | TakeOver
    | HandoffList | Transfer | Invite | HandoffAccept | HandoffDecline | LeaveChat
)


# --------------------------------------------------------------------------
# agent -> server (``/ws/agent``; screen frames travel as binary frames)


class AHello(Msg, tag="hello", frozen=True):
    """First message of an agent: a join code, or the resume token it got in
    ``welcome`` when it reconnects within the grace period, or neither when
    the relay token it connected with names the session (a ticket from
    ``POST /api/relay/ticket``). ``kept``: what the visitor allowed that this
    agent process still holds (``view``, ``files``; never ``control``), for
    a relay node that never saw the session (the old one died): it resumes
    them without asking the visitor again."""

    code: Annotated[str, msgspec.Meta(max_length=limits.MAX_JOIN_CODE_CHARS)] = ""
    resume: Annotated[str, msgspec.Meta(max_length=limits.MAX_ID_CHARS)] = ""
    kept: Annotated[list[Literal["view", "files"]], msgspec.Meta(max_length=2)] = []
    version: Annotated[str, msgspec.Meta(max_length=limits.MAX_VERSION_CHARS)] = ""
    platform: Annotated[str, msgspec.Meta(max_length=limits.MAX_PLATFORM_CHARS)] = ""


class Consent(Msg, tag="consent", frozen=True):
    """The visitor's answer to what was asked (Allow or Deny): ``view`` for
    screen sharing, ``control`` for remote control. ``unavailable`` with
    ``control: false``: nobody was asked, because this computer has no way to
    inject input (no X display or no XTEST, Windows, macOS)."""

    view: bool | None = None
    control: bool | None = None
    files: bool | None = None
    unavailable: bool = False


class Monitor(msgspec.Struct, frozen=True):
    """One screen the rep may pick; index 0 is every monitor at once."""

    index: Annotated[int, msgspec.Meta(ge=0, le=limits.MAX_MONITORS)]
    width: Annotated[int, msgspec.Meta(ge=1, le=limits.MAX_SCREEN_SIDE)]
    height: Annotated[int, msgspec.Meta(ge=1, le=limits.MAX_SCREEN_SIDE)]
    primary: bool = False


class ScreenInfo(Msg, tag="screen.info", frozen=True):
    monitors: Annotated[list[Monitor], msgspec.Meta(max_length=limits.MAX_MONITORS)]
    selected: Annotated[int, msgspec.Meta(ge=0, le=limits.MAX_MONITORS)]


#: Why a visitor's browser stopped sharing (``screen.stop {why}``): its Stop
#: button, the browser's own "Stop sharing" bar (the captured track ended),
#: the page being closed or left.
StopWhy = Literal["", "stop_button", "browser_bar", "page_closed"]


class StopSharing(Msg, tag="screen.stop", frozen=True):
    """Stop sharing now (the visitor's Stop button or Ctrl+C; the rep's stop).
    ``why`` from a browser share: which of its stops it was."""

    why: StopWhy = ""


class ScreenStats(Msg, tag="screen.stats", frozen=True):
    """The agent's median time from capture to the rep's acknowledgement
    (decoded and drawn), over its recent frames: the viewer shows it as the
    screen's latency."""

    rtt_ms: Annotated[float, msgspec.Meta(ge=0, le=limits.MAX_RTT_MS)]


class ControlRevoked(Msg, tag="control.revoked", frozen=True):
    """The visitor took control back (indicator button or hotkey)."""


# --------------------------------------------------------------------------
# control, annotation, clipboard (viewer <-> agent through the relay)

Coord = Annotated[int, msgspec.Meta(ge=0, le=limits.MAX_COORD)]


class Ev(msgspec.Struct, frozen=True, tag_field="k", forbid_unknown_fields=False, omit_defaults=True):
    """Base of input events."""


class EvMove(Ev, tag="move", frozen=True):
    x: Coord
    y: Coord


class EvButton(Ev, tag="button", frozen=True):
    b: Annotated[int, msgspec.Meta(ge=1, le=3)]
    down: bool
    x: Coord
    y: Coord


class EvWheel(Ev, tag="wheel", frozen=True):
    dx: Annotated[int, msgspec.Meta(ge=-limits.MAX_WHEEL_NOTCHES, le=limits.MAX_WHEEL_NOTCHES)] = 0
    dy: Annotated[int, msgspec.Meta(ge=-limits.MAX_WHEEL_NOTCHES, le=limits.MAX_WHEEL_NOTCHES)] = 0
    x: Coord = 0
    y: Coord = 0


class EvKey(Ev, tag="key", frozen=True):
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_KEY_CHARS)]
    down: bool
    code: Annotated[str, msgspec.Meta(max_length=limits.MAX_KEY_CHARS)] = ""


class EvText(Ev, tag="text", frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=limits.MAX_TEXT_EVENT_CHARS)]


class EvRelease(Ev, tag="release", frozen=True):
    pass


InputEvent = EvMove | EvButton | EvWheel | EvKey | EvText | EvRelease


class Input(Msg, tag="input", frozen=True):
    events: Annotated[list[InputEvent], msgspec.Meta(min_length=1, max_length=limits.MAX_INPUT_EVENTS_PER_MESSAGE)]


class ControlRequest(Msg, tag="control.request", frozen=True):
    """The rep asks for mouse and keyboard control."""


class ControlRelease(Msg, tag="control.release", frozen=True):
    """The rep hands control back."""


Point = tuple[Coord, Coord]


class Annotate(Msg, tag="annotate", frozen=True):
    op: Literal["stroke", "undo", "clear"]
    id: Annotated[str, msgspec.Meta(max_length=limits.MAX_ID_CHARS)] = ""
    tool: Literal["pen", "arrow", "rect", "highlighter"] = "pen"
    color: Annotated[str, msgspec.Meta(pattern="^#[0-9a-fA-F]{6}$")] = "#e11d48"
    width: Annotated[int, msgspec.Meta(ge=1, le=limits.MAX_STROKE_WIDTH)] = 4
    points: Annotated[list[Point], msgspec.Meta(max_length=limits.MAX_STROKE_POINTS)] = []
    fade_s: Annotated[float, msgspec.Meta(ge=0, le=limits.MAX_FADE_S)] = 0


def encode_annotate(msg: Annotate) -> str:
    """The canonical text of an annotation, as the relay forwards and keeps
    it: a stroke with every field, an undo with its id, a clear bare."""
    if msg.op == "stroke":
        return encode(msg)
    if msg.op == "undo":
        return encode({"t": "annotate", "op": "undo", "id": msg.id})
    return encode({"t": "annotate", "op": "clear"})


class Clipboard(Msg, tag="clipboard", frozen=True):
    text: str


class ClipboardAllow(Msg, tag="clipboard.allow", frozen=True):
    """The visitor's own switches for the clipboard, from the agent: may the
    rep's text reach this computer, may this computer's clipboard reach the
    rep. Both are off until the visitor turns them on."""

    to_visitor: bool
    from_visitor: bool


AgentIn = (
    AHello
    | Consent
    | ScreenInfo
    | StopSharing
    | ScreenStats
    | ControlRevoked
    | Annotate
    | Clipboard
    | ClipboardAllow
    | Ping
    | FileFromAgent
)


# --------------------------------------------------------------------------
# viewer -> server (``/ws/viewer?session=<id>``)


class ScreenAck(Msg, tag="screen.ack", frozen=True):
    """The frame ``seq`` (and every one before it) is on the viewer's canvas."""

    seq: Annotated[int, msgspec.Meta(ge=1, le=2**32 - 1)]


class ScreenRefresh(Msg, tag="screen.refresh", frozen=True):
    """Send a key frame (the whole screen)."""


class ScreenSelect(Msg, tag="screen.select", frozen=True):
    """The rep picks a monitor from the last ``screen.info`` (0: all of them)."""

    monitor: Annotated[int, msgspec.Meta(ge=0, le=limits.MAX_MONITORS)]


class ScreenRecord(Msg, tag="screen.record", frozen=True):
    """The rep holding the session starts (``on``) or stops recording; only
    under the queue's ``on_request`` policy."""

    on: bool


ViewerIn = (
    ScreenAck
    | ScreenRefresh
    | ScreenSelect
    | StopSharing
    | Input
    | ControlRequest
    | ControlRelease
    | Annotate
    | Clipboard
    | Ping
    | FilesRequest
    | FilesRelease
    | ScreenRecord
)


# --------------------------------------------------------------------------
# server -> clients (documented here; built as dicts by the server for speed)

SERVER_TYPES: dict[str, str] = {
    "welcome": "first reply to hello: who you are and the current state",
    "error": "code, message, and the offending message type if known",
    "queue": "visitor: position in queue and expected wait",
    "alert": "rep: a new request in one of your queues",
    "alert.withdrawn": "rep: a request is no longer open (taken, abandoned, expired) or its queue no longer yours (queue_left)",
    "offline.changed": "rep: an offline message of one of your queues was left or answered; read GET /api/offline again",
    "access": "rep: an admin changed your role, name or queues; the user and queues as they are now",
    "accepted": "rep: you won the request; the new session",
    "joined": "visitor: a rep joined (display name)",
    "chat": "a stored chat message with its seq",
    "typing": "the other side is typing or stopped",
    "ended": "a session ended (by whom, disposition for reps)",
    "closed": "visitor: the request closed without a session (abandoned, expired)",
    "presence": "rep: your presence status as the server holds it",
    "pong": "reply to ping",
    "screen.offer": "a join code and how to run the agent (visitor and rep)",
    "screen.state": "viewer: where screen sharing stands (waiting_agent, asking, sharing, denied, stopped)",
    "screen.ack": "agent: the primary viewer has shown frame seq",
    "screen.refresh": "agent: send a key frame",
    "screen.select": "agent: capture this monitor",
    "screen.stats": "viewer: the agent's capture-to-drawn latency",
    "screen.watchers": "agent (and a browser share): who watches besides the rep, by name and role, on each change",
    "control.ask": "agent: the rep asks for control; ask the visitor",
    "control.end": "agent: control ended (by the rep, the visitor or the system); release everything",
    "input": "agent: the rep's input events, in order, only while control is granted",
    "annotate": "agent and viewer: a stroke, an undo or a clear",
    "clipboard": "agent and viewer: clipboard text",
    "watching": "rep (supervisor): you now watch a session; its view, whispers and who else watches",
    "unwatched": "rep (supervisor): you stopped watching a session (or it ended, or you took it over)",
    "whisper": "rep: a watcher's note about a session; never sent to the visitor",
    "watchers": "visitor and rep: who watches the chat, by name and role, on each change",
    "chat_joined": "rep (supervisor): you may now chat with the visitor of a watched session",
    "taken_over": "rep: a supervisor took your session over, or a colleague accepted your transfer (you no longer hold it); visitor: the new rep's name",
    "handoff.targets": "rep: the reps online now and the queues, for a transfer or an invitation",
    "handoff.alert": "rep: a colleague offers you (or your queue) a session, or invites you into its chat; with the note and the chat history",
    "handoff.withdrawn": "rep: a transfer or invitation offered to you is no longer open (taken, declined, expired)",
    "handoff.result": "rep: how your transfer or invitation ended (accepted, declined, expired)",
}

_visitor_decoder = msgspec.json.Decoder(VisitorIn)
_rep_decoder = msgspec.json.Decoder(RepIn)
_agent_decoder = msgspec.json.Decoder(AgentIn)
_viewer_decoder = msgspec.json.Decoder(ViewerIn)


def _tags(union: Any) -> frozenset[str]:
    return frozenset(m.__struct_config__.tag for m in union.__args__)


_KNOWN_TAGS: dict[int, frozenset[str]] = {
    id(_visitor_decoder): _tags(VisitorIn),
    id(_rep_decoder): _tags(RepIn),
    id(_agent_decoder): _tags(AgentIn),
    id(_viewer_decoder): _tags(ViewerIn),
}


class _TagOnly(msgspec.Struct):
    t: object = None


_tag_decoder = msgspec.json.Decoder(_TagOnly)


def _classify(decoder: msgspec.json.Decoder[Any], data: str | bytes, detail: str) -> ProtocolError:
    """Tell an unknown or missing type from a bad field by looking at ``t``
    itself (never at the error text, which quotes the peer's own values)."""
    try:
        tag = _tag_decoder.decode(data).t
    except Exception:
        return ProtocolError(detail)
    known = _KNOWN_TAGS.get(id(decoder), frozenset())
    if tag is None:
        return ProtocolError("message has no type field 't'", code="bad_type")
    if not isinstance(tag, str) or tag not in known:
        return ProtocolError(f"unknown message type {str(tag)[:40]!r}", code="bad_type")
    return ProtocolError(detail)


def _decode(decoder: msgspec.json.Decoder[Any], data: str | bytes, max_bytes: int) -> Any:
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > max_bytes:
        raise TooLarge(f"message of {size} bytes is over the limit of {max_bytes}")
    try:
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _classify(decoder, data, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("message is nested too deeply") from None
    except (UnicodeError, ValueError) as exc:
        raise ProtocolError(f"message is not valid text: {type(exc).__name__}") from None


def decode_visitor(data: str | bytes, max_bytes: int = limits.MAX_MESSAGE_BYTES) -> Any:
    """Parse one visitor message; raises ``ProtocolError`` on anything wrong."""
    return _decode(_visitor_decoder, data, max_bytes)


def decode_rep(data: str | bytes, max_bytes: int = limits.MAX_MESSAGE_BYTES) -> Any:
    """Parse one rep message; raises ``ProtocolError`` on anything wrong."""
    return _decode(_rep_decoder, data, max_bytes)


def decode_agent(data: str | bytes, max_bytes: int = limits.MAX_MESSAGE_BYTES) -> Any:
    """Parse one agent control message; raises ``ProtocolError`` on anything wrong."""
    return _decode(_agent_decoder, data, max_bytes)


def decode_viewer(data: str | bytes, max_bytes: int = limits.MAX_MESSAGE_BYTES) -> Any:
    """Parse one viewer control message; raises ``ProtocolError`` on anything wrong."""
    return _decode(_viewer_decoder, data, max_bytes)


def check_text(field: str, value: str, max_chars: int, *, required: bool = True) -> str:
    """Normalise and bound a free-text field; raises ``TooLarge``/``ProtocolError``."""
    if len(value) > max_chars:
        raise TooLarge(f"{field} is {len(value)} characters; the limit is {max_chars}")
    stripped = value.strip()
    if required and not stripped:
        raise ProtocolError(f"{field} must not be empty")
    if "\x00" in stripped:
        raise ProtocolError(f"{field} must not contain NUL characters")
    return stripped


_encoder = msgspec.json.Encoder()


def encode(message: dict[str, Any] | Msg) -> str:
    """Encode a server message (a dict with ``t``) or a client struct."""
    return _encoder.encode(message).decode("utf-8")


def error(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"t": "error", "code": code, "message": message}
    if ref:
        out["ref"] = ref
    return out
