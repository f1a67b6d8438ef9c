"""The agent's connection to the server: a thin shell around
:class:`~desklink.agent.session.AgentSession`.

Theory of operation
-------------------
One outbound WebSocket to ``/ws/agent`` on the server's normal port (wss
under TLS), so no firewall or NAT changes. The shell connects, hands every
message it receives to the session core, carries out the actions the core
returns (ask the visitor, inject, paint, put text on the clipboard), and
runs four tasks per connection: the *reader*, the *writer* (sends the core's
outbox one message at a time, most urgent first, awaiting each send), the
*clock* (keep-alive pings, latency reports, and a deadline on hearing from
the server, so a link that died without a close is noticed within seconds)
and the *capture loop* (grab and encode on a worker thread whenever the
core's window allows).

Started with the web node's address and a join code (no ``--relay-token``),
the agent first asks the web node for its relay ticket
(:mod:`desklink.agent.relay_link`) and connects to the relay node it names.
If the connection drops, the agent reconnects with exponential backoff and
jitter (asking the web node again first, so it follows the session to
another relay node when its own died) and says ``hello {resume, kept}``;
within the server's grace period, or at a new relay node, it carries on
without asking the visitor again. Stop (the indicator's button,
Ctrl+C, the rep, or the session ending) stops capture at once and the agent
exits.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote
from typing import Any

import msgspec
import websockets

from desklink.agent.file_link import FileLink
from desklink.agent.relay_link import TicketUnavailable, after_close, ask_ticket
from desklink.agent.session import (
    Action,
    AgentSession,
    AskVisitor,
    ControlChanged,
    FileEvent,
    FilesChanged,
    Hurry,
    Inject,
    Paint,
    RecordingChanged,
    ReleaseAll,
    SetClipboard,
    StartSharing,
    WatchersChanged,
    Stop,
)
from desklink.agent.ui import UI, Ask
from desklink.errors import CaptureError, DeskLinkError, LinkDead, Refused, Stopped
from desklink.protocol import limits
from desklink.protocol.messages import Annotate, EvButton, EvKey, EvMove, EvRelease, EvText, EvWheel, Monitor
from desklink.protocol.screen import Cursor, Pointer
from desklink.protocol.server_messages import RECORDING_NOTICE

log = logging.getLogger("desklink.agent")

#: Reconnect back-off bounds, seconds (with up to 50 % jitter).
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
#: Give up reconnecting after this long (the server's grace period is 60 s).
RECONNECT_GIVE_UP_S = 60.0
#: What the visitor reads while the agent finds its relay again.
RECONNECTING = "the connection to the support server was lost; reconnecting…"
#: After injecting input, look at the screen again this soon (seconds), so
#: the rep sees the effect without waiting for the next frame tick; twice,
#: because applications take a moment to draw.
INPUT_RECAPTURE_S = (0.006, 0.02)
#: How often the agent looks at the visitor's own mouse and keyboard while
#: the rep is in control, seconds.
LOCAL_POLL_S = 0.05
#: How often the clock task runs, seconds.
CLOCK_S = 0.25
#: Largest message the agent accepts from the server (annotations with the
#: most points are the largest, about 30 KB).
MAX_INCOMING_BYTES = 1 << 20
#: How long the first answer (welcome) may take, and the goodbye at a stop.
WELCOME_TIMEOUT_S = 15.0
FLUSH_AT_STOP_S = 2.0


#: What both sides are told when the rep asks for control and this computer
#: has no input backend (instead of "the visitor declined").
CONTROL_UNAVAILABLE = "remote control is not available on this computer"

#: A line under the consent question, per privilege.
CONSENT_NOTES = {
    "view": "Your clipboard stays private unless you click Share clipboard on that bar.",
    "files": "You choose each file: nothing is saved or sent unless you accept or pick it.",
}


def ws_url(server: str, relay_token: str = "") -> str:
    """The agent socket's URL for a server address as a visitor types it:
    ``https://host``, ``http://host:port``, or a bare ``host`` (TLS); with
    the relay token a relay node asks for (docs/protocol.md, *Relay nodes
    and relay tokens*)."""
    server = server.strip().rstrip("/")
    query = "?token=" + quote(relay_token, safe="") if relay_token else ""
    for scheme, ws_scheme in (("https://", "wss://"), ("http://", "ws://"), ("wss://", "wss://"), ("ws://", "ws://")):
        if server.startswith(scheme):
            return ws_scheme + server[len(scheme) :] + "/ws/agent" + query
    return "wss://" + server + "/ws/agent" + query


def _offered(capture: Any, monitors: list[Any]) -> list[Monitor]:
    """What the rep may pick from (``screen.info``): the real monitors, then
    every monitor at once when there are several and the whole desktop is
    within the protocol's picture size."""
    offered = [Monitor(m.index, m.width, m.height, m.primary) for m in monitors][: limits.MAX_MONITORS]
    whole = capture.combined()
    if whole is not None and max(whole.width, whole.height) <= limits.MAX_SCREEN_SIDE and len(offered) < limits.MAX_MONITORS:
        offered.append(Monitor(whole.index, whole.width, whole.height, False))
    return offered


@dataclass
class AgentOptions:
    server: str
    code: str
    #: Frame-rate cap. The agent reaches ~40 fps on a full-screen scroll at a
    #: third of a core (bench/screen.py); the cap keeps bandwidth bounded.
    fps: float = 40.0
    monitor: int | None = None
    #: Video mode (agent/encode/video.py): regions changing at video rates
    #: go as H.264 when PyAV is installed (``--no-video``: never).
    video: bool = True
    capture_factory: Callable[[], Any] | None = None
    #: The visitor's hard switches for each clipboard direction (the
    #: indicator's Clipboard button turns sharing on within these).
    clipboard_in: bool = True  # rep -> this computer
    clipboard_out: bool = True  # this computer -> rep
    #: Local input pauses remote input this long, seconds.
    local_pause_s: float = 0.5
    input_factory: Callable[[], tuple[Any, Any]] | None = None
    #: Where files from the rep are saved unless the visitor picks another
    #: folder (default: the Downloads folder), and where resume records live
    #: (default: XDG_STATE_HOME/desklink).
    files_dir: Path | None = None
    #: The relay token when ``server`` is a relay node (``--relay-token``).
    relay_token: str = ""
    state_dir: Path | None = None


@dataclass
class AgentStats:
    frames: int = 0
    key_frames: int = 0
    bytes: int = 0
    rtts: list[float] = field(default_factory=list)


class AgentClient:
    def __init__(self, options: AgentOptions, ui: UI) -> None:
        self.options = options
        self.ui = ui
        self.core = AgentSession(
            code=options.code, clipboard_in_allowed=options.clipboard_in, clipboard_out_allowed=options.clipboard_out
        )
        self.core.select = options.monitor
        self.stop_requested = asyncio.Event()
        self.stats = AgentStats()
        self.exit_reason = ""
        self._wake = asyncio.Event()  # the capture loop: an ack, a hurry, a stop
        self._send_wake = asyncio.Event()  # the writer: something to send
        self._sent_all = asyncio.Event()
        self._urgent = False
        self._sharing = asyncio.Event()
        self._last_heard = 0.0
        self._cursor_serial = -1
        self._cursor_pos = (-1, -1)
        self._origin = (0, 0)
        self._asks: set[asyncio.Task[None]] = set()
        self.injector: Any = None
        self.local: Any = None
        #: Annotation strokes on this screen (only with a window UI, which paints them).
        self.board: Any = None
        #: Strokes that came before the board (the relay's replay after a reconnect).
        self._early_strokes: list[dict[str, Any]] = []
        #: Where the agent connects: (server, relay token). Without
        #: ``--relay-token`` the web node names it (:meth:`_find_relay`).
        self._ticketed = not options.relay_token
        self._target: tuple[str, str] = (options.server, options.relay_token)
        self._reask = self._ticketed
        self._has_ticket = False
        #: The UI was told the link dropped and the agent is reconnecting.
        self._reconnecting = False
        self.file_link = FileLink(self.core, ui, options.server, kick=self._kick,
                                  files_dir=options.files_dir, state_dir=options.state_dir)
        self.files = self.file_link.files

    # ------------------------------------------------- state for the UI side
    @property
    def control(self) -> bool:
        return self.core.privileges.granted("control")

    @property
    def allowed(self) -> bool:
        return self.core.privileges["view"] in ("granted", "suspended")

    @property
    def drawing(self) -> bool:
        return self.core.drawing

    @drawing.setter
    def drawing(self, on: bool) -> None:
        self.core.drawing = on

    # ------------------------------------------------- called on the loop
    def request_stop(self) -> None:
        """Stop sharing now. Called on the loop (the UI's Stop button and the
        signal handlers get here through ``call_soon_threadsafe``)."""
        if not self.stop_requested.is_set() and not self.exit_reason:
            self.exit_reason = "stopped by you"
        self.stop_requested.set()
        self._wake.set()

    def request_revoke(self) -> None:
        """The visitor takes control back (indicator button or hotkey)."""
        self._run(self.core.revoke_control())

    def clipboard_changed(self, text: str) -> None:
        self.core.clipboard_changed(text)
        self._kick()

    def set_clipboard_sharing(self, on: bool) -> None:
        """The indicator's Clipboard button."""
        self.core.set_clipboard_switches(incoming=on, outgoing=on)
        self.ui.post("clipboard_sharing", self.core.clipboard_in or self.core.clipboard_out)
        self._kick()

    def send_annotate(self, msg: dict[str, Any]) -> None:
        """The visitor drew or cleared (from the UI thread, via the loop)."""
        if self.board is None:
            return
        try:
            stroke = msgspec.convert(msg, Annotate)
        except msgspec.ValidationError as exc:
            log.warning("not sending a malformed stroke: %s", exc)
            return
        self.core.send_annotate(stroke)
        self._kick()

    def set_drawing(self, on: bool) -> None:
        """The visitor's draw mode went on or off (from the UI thread, via the
        loop). While it is on, the rep's input is held, so the rep's clicks
        never become the visitor's strokes; anything held down is let go."""
        self._run(self.core.set_drawing(on))

    # ----------------------------------------------------------------- files
    def send_files(self, paths: list[str], ask: str = "") -> None:
        """The files window's "Send a file..." (see :class:`FileLink`)."""
        self.file_link.send_files(paths, ask)

    def pause_file(self, transfer_id: int, on: bool) -> None:
        self.file_link.pause(transfer_id, on)

    def cancel_file(self, key: str) -> None:
        self.file_link.cancel(key)

    def request_revoke_files(self) -> None:
        """The visitor stops file sharing (the files window's button)."""
        self._run(self.core.revoke_files())

    # ------------------------------------------------------------- running
    async def _find_relay(self) -> None:
        """With no ``--relay-token``, ask the web node (``--server``) where to
        share: with the join code the first time, then with the token the
        agent has (relay_link.py). Raises :class:`Stopped` on a refusal."""
        if not self._ticketed or not self._reask:
            return
        code, token = ("", self._target[1]) if self._target[1] else (self.core.code, "")
        try:
            found = await asyncio.to_thread(ask_ticket, self.options.server, code=code, token=token)
        except Refused as exc:
            raise Stopped(exc.message) from None
        if found.token:
            self.core.code = ""  # redeemed by the web node: the ticket names the session now
        if found.url != self._target[0] and self._target[1]:
            log.warning("the screen moves to relay node %s", found.node or found.url)
        self._target = (found.url, found.token)
        self._reask = False
        self._has_ticket = True

    async def run(self) -> str:
        """Join and share until stopped; returns why it ended."""
        started_gone: float | None = None
        delay = RECONNECT_MIN_S
        while True:
            try:
                await self._find_relay()
                await self._connect_once()
            except Stopped as stop:
                self.exit_reason = stop.reason
                break
            except (
                OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError, LinkDead, TicketUnavailable,
            ) as exc:
                rcvd = getattr(exc, "rcvd", None)
                code, why = getattr(rcvd, "code", None), getattr(rcvd, "reason", "") or ""
                decision = after_close(code, why)
                can_return = bool(self.core.resume or self._target[1]) or isinstance(exc, TicketUnavailable)
                if (
                    decision.final or (decision.needs_ticket and not (self._ticketed and self._target[1])) or not can_return
                    or self.stop_requested.is_set()
                ):
                    reason = why or str(exc) or type(exc).__name__
                    self.exit_reason = self.exit_reason or reason
                    break
                # Re-ask with the token the agent has (a single node gives none:
                # then the agent comes back to it with its resume token).
                self._reask = self._ticketed and (not self._has_ticket or (decision.reask and bool(self._target[1])))
                if decision.at_once:  # the node drains, or the session moved: come back at once
                    delay = RECONNECT_MIN_S
                now = time.monotonic()
                started_gone = started_gone or now
                if now - started_gone > RECONNECT_GIVE_UP_S:
                    self.exit_reason = "could not reach the server again"
                    break
                wait = delay * (1 + random.random() / 2)
                log.warning("connection lost (%s); reconnecting in %.1f s", exc, wait)
                self.ui.post("reconnecting", RECONNECTING)
                self._reconnecting = True
                try:
                    await asyncio.wait_for(self.stop_requested.wait(), wait)
                    self.exit_reason = "stopped by you"
                    break
                except TimeoutError:
                    pass
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            started_gone = None
        await self.file_link.close()
        self.ui.post("idle")
        self.ui.post("quit")
        return self.exit_reason

    async def _connect_once(self) -> None:
        url = ws_url(*self._target)
        async with websockets.connect(url, max_size=MAX_INCOMING_BYTES, open_timeout=15, ping_interval=None) as ws:
            now = time.monotonic()
            self.core.connected(now)
            self._sharing.clear()
            self._cursor_serial = -1  # a new connection gets the shape again
            await ws.send(self.core.hello())
            first = await asyncio.wait_for(ws.recv(), WELCOME_TIMEOUT_S)
            self._last_heard = time.monotonic()
            try:
                actions = self.core.receive(first, self._last_heard)
            except Refused as exc:
                raise Stopped(str(exc) or "the server refused the agent") from None
            if not self.core.welcomed:
                raise Stopped("the server refused the agent")
            if self._reconnecting and not self.core.privileges.granted("view"):
                self.ui.post("idle")  # not resumed: the bar that said "reconnecting" goes before any question
            self._reconnecting = False
            self.file_link.welcomed()
            tasks = [
                asyncio.create_task(self._writer(ws), name="agent-writer"),
                asyncio.create_task(self._reader(ws), name="agent-reader"),
                asyncio.create_task(self._clock(ws), name="agent-clock"),
                asyncio.create_task(self._watch_local(), name="agent-local-input"),
            ]
            try:
                self._run(actions)
                await self._until_sharing(tasks)
                await self._share(tasks)
            finally:
                self._run(self.core.disconnected())
                for task in (*tasks, *self._asks):
                    task.cancel()
                await asyncio.gather(*tasks, *self._asks, return_exceptions=True)
                self._asks.clear()

    async def _until_sharing(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wait for the visitor's answer (the tasks keep the link alive)."""
        sharing = asyncio.ensure_future(self._sharing.wait())
        stop = asyncio.ensure_future(self.stop_requested.wait())
        try:
            done, _ = await asyncio.wait({sharing, stop, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sharing.cancel()
            stop.cancel()
        self._raise_if_failed(tasks)
        if not self._sharing.is_set():
            await self._goodbye(tasks)  # the visitor's "no" (or Stop) reaches the server
            raise Stopped(self.exit_reason or "stopped by you")

    def _raise_if_failed(self, tasks: list[asyncio.Task[None]]) -> None:
        for task in tasks:
            if task.done() and not task.cancelled():
                exc = task.exception()
                if exc is not None:
                    raise exc
                raise websockets.ConnectionClosed(None, None)

    # ----------------------------------------------------------- the tasks
    async def _writer(self, ws: Any) -> None:
        """Send the core's outbox in priority order, one message at a time."""
        while True:
            item = self.core.data_to_send()
            if item is None:
                self._sent_all.set()
                self._send_wake.clear()
                await self._send_wake.wait()
                continue
            self._sent_all.clear()
            await ws.send(item)

    async def _reader(self, ws: Any) -> None:
        parts = self.file_link.reassembler()
        async for raw in ws:
            self._last_heard = time.monotonic()
            if isinstance(raw, bytes):
                self.file_link.receive_bytes(raw, parts)
                continue
            self._run(self.core.receive(raw, self._last_heard))
            self._wake.set()  # an ack may have opened the window

    async def _clock(self, ws: Any) -> None:
        while True:
            await asyncio.sleep(CLOCK_S)
            now = time.monotonic()
            if now - self._last_heard > self.core.limits.link_timeout_s:
                raise LinkDead("no answer from the server")
            self.core.tick(now)
            self.file_link.tick()
            self._kick()

    async def _watch_local(self) -> None:
        """While the rep is in control, the visitor's own input wins: it pauses
        remote input for a moment, and the Pause key takes control back."""
        while True:
            await asyncio.sleep(LOCAL_POLL_S)
            if not self.control or self.local is None:
                continue
            if self.local.hotkey():
                self.request_revoke()
            elif self.local.poll():
                self.core.local_input(time.monotonic(), self.options.local_pause_s)

    # ------------------------------------------------------------- actions
    def _kick(self) -> None:
        self._send_wake.set()

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, AskVisitor):
                task = asyncio.ensure_future(self._ask(action))
                self._asks.add(task)
                task.add_done_callback(self._asks.discard)
            elif isinstance(action, StartSharing):
                self.ui.post("sharing", action.rep)
                self._sharing.set()
            elif isinstance(action, Inject):
                self._inject(action)
            elif isinstance(action, ReleaseAll):
                if self.injector is not None:
                    self.injector.release_all()
            elif isinstance(action, ControlChanged):
                self.ui.post("control", action.granted)
            elif isinstance(action, SetClipboard):
                self.ui.post("set_clipboard", action.text)
            elif isinstance(action, Paint):
                self._annotate(msgspec.to_builtins(action.stroke))
            elif isinstance(action, Hurry):
                self._hurry()
            elif isinstance(action, FilesChanged):
                self.file_link.privilege(action)
            elif isinstance(action, FileEvent):
                self.file_link.event(action.msg)
            elif isinstance(action, RecordingChanged):
                self.ui.post("recording", action.on, action.error)
            elif isinstance(action, WatchersChanged):
                self.ui.post("watchers", action.words, action.joined, action.left)
            elif isinstance(action, Stop):
                if not self.exit_reason:
                    self.exit_reason = action.reason
                self.request_stop()
        self._kick()

    async def _ask(self, ask: AskVisitor) -> None:
        if ask.privilege == "control" and not self._input_available():
            self.ui.post("notice", f"{ask.rep} asked to control your computer: {CONTROL_UNAVAILABLE}.")
            self._run(self.core.control_unavailable())
            return
        allowed = await self._consent_dialog(
            ask.rep, ask.what, CONSENT_NOTES.get(ask.privilege, ""), RECORDING_NOTICE.get(ask.recording, "")
        )
        if allowed and ask.privilege == "control" and not self._input_available():
            self._run(self.core.control_unavailable())
            return
        self._run(self.core.answer(ask.privilege, allowed))

    def _input_available(self) -> bool:
        """Whether input can be injected here (opening the backend once;
        nothing is injected before the visitor allows control)."""
        try:
            self._open_input()
        except Exception as exc:  # no injector on this platform or display
            log.warning("%s: %s", CONTROL_UNAVAILABLE, exc)
            return False
        return True

    async def _consent_dialog(self, rep: str, what: str, note: str = "", recording: str = "") -> bool:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()

        def settle(allowed: bool) -> None:
            if not answer.done():
                answer.set_result(allowed)

        def reply(allowed: bool) -> None:
            loop.call_soon_threadsafe(settle, allowed)

        self.ui.post("ask", Ask(provider=self.core.provider, rep=rep, what=what, note=note, recording=recording), reply)
        return await answer

    def _open_input(self) -> None:
        if self.injector is None:
            if self.options.input_factory is not None:
                self.injector, self.local = self.options.input_factory()
            else:
                from desklink.agent.inputs import open_injector, open_local_input

                self.injector = open_injector()
                self.local = open_local_input(self.injector)
        self.injector.set_origin(*self._origin)

    def _inject(self, action: Inject) -> None:
        """Inject the rep's events in order (the core already checked the
        visitor's yes and that the visitor is not busy)."""
        inj = self.injector
        if inj is None:
            return
        for ev in action.events:
            try:
                if isinstance(ev, EvRelease):
                    inj.release_all()
                elif isinstance(ev, EvMove):
                    inj.move(ev.x, ev.y)
                elif isinstance(ev, EvButton):
                    inj.button(ev.b, ev.down, ev.x, ev.y)
                elif isinstance(ev, EvWheel):
                    inj.wheel(ev.dx, ev.dy, ev.x, ev.y)
                elif isinstance(ev, EvKey):
                    inj.key(ev.key, ev.code, ev.down)
                elif isinstance(ev, EvText):
                    inj.text(ev.text)
            except (ValueError, TypeError, DeskLinkError) as exc:
                log.warning("ignored an input event %r: %s", ev, exc)
        loop = asyncio.get_running_loop()
        for delay in INPUT_RECAPTURE_S:
            loop.call_later(delay, self._hurry)

    def _annotate(self, msg: dict[str, Any]) -> None:
        """Paint a stroke over the visitor's screen, after noting what lies
        beneath it so the captures sent to viewers leave it out."""
        if self.board is None:
            if getattr(self.ui, "supports_overlay", False):
                self._early_strokes = [*self._early_strokes, msg][-limits.MAX_STROKES :]
            return
        if self.board.apply(msg):
            self.board.beneath_from()
            self.ui.post("annotate", msg)

    def _replay_early_strokes(self) -> None:
        """Strokes that arrived before the board existed, in order. They show
        once the first capture has told the board what lies beneath them
        (the board then has a new version, and the overlay repaints)."""
        early, self._early_strokes = self._early_strokes, []
        for msg in early:
            self._annotate(msg)

    # ------------------------------------------------------------- sharing
    async def _share(self, tasks: list[asyncio.Task[None]]) -> None:
        from desklink.agent.capture import open_capture

        loop = asyncio.get_running_loop()
        capture = (self.options.capture_factory or open_capture)()
        core = self.core
        try:
            monitors = capture.monitors()
            primary = next((m.index for m in monitors if m.primary), monitors[0].index)
            try:
                capture.select(core.select if core.select is not None else primary)
            except CaptureError:  # --monitor names one this computer does not have
                capture.select(primary)
            chosen = core.select = capture.selected.index
            core.send_info(_offered(capture, monitors), chosen)
            self._kick()
            mon = capture.selected
            self._set_origin(mon)
            encoder = self._encoder(mon.width, mon.height)
            if getattr(self.ui, "supports_overlay", False):
                from desklink.agent.overlay import Board

                self.board = Board(mon.width, mon.height)
                self.ui.post("board", self.board, mon.left, mon.top)
                self._replay_early_strokes()  # same loop turn: nothing can come between
            interval = 1.0 / self.options.fps
            while not self.stop_requested.is_set():
                self._raise_if_failed(tasks)
                if core.select is not None and core.select != capture.selected.index:
                    try:
                        capture.select(core.select)
                    except CaptureError:  # the layout changed since the rep's list: keep capturing, send the new list
                        pass
                    listed = capture.monitors()
                    mon = capture.selected
                    core.select = mon.index
                    # The viewers' picker shows what is captured now (and a layout that changed meanwhile).
                    core.send_info(_offered(capture, listed), mon.index)
                    self._set_origin(mon)
                    encoder = self._encoder(mon.width, mon.height)
                    if self.board is not None:
                        self.board.reset(mon.width, mon.height)
                        self.ui.post("annotate_move", mon.left, mon.top)
                    core.key_wanted = True
                if not core.may_capture():
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), 1.0)
                    except TimeoutError:
                        pass
                    continue
                started = time.monotonic()
                key = core.take_key_wanted()
                frame, cursor, pointer = await loop.run_in_executor(None, self._build, capture, encoder, key)
                if cursor is not None:
                    core.send_cursor(cursor)
                if pointer is not None:
                    core.send_pointer(pointer)
                if frame is not None:
                    core.send_frame(frame.encode(), frame.seq, time.monotonic())
                    self.stats.frames += 1
                    self.stats.key_frames += int(frame.key)
                    self.stats.bytes += frame.payload_bytes
                self._kick()
                await self._pace(started + interval)
        finally:
            capture.close()
            self._early_strokes = []
            if self.board is not None:
                self.board = None
                self.ui.post("annotate_end")
        await self._goodbye(tasks)
        raise Stopped(self.exit_reason or "stopped by you")

    def _encoder(self, width: int, height: int) -> Any:
        from desklink.agent.encode.encoder import ScreenEncoder
        from desklink.agent.encode.motion import DEFAULT_VIDEO

        return ScreenEncoder(width, height, video=DEFAULT_VIDEO if self.options.video else None)

    async def _goodbye(self, tasks: list[asyncio.Task[None]]) -> None:
        """Tell the server sharing stopped, let the writer send it, close."""
        self.core.stop()
        self._sent_all.clear()
        self._kick()
        writer = tasks[0]
        if not writer.done():
            try:
                await asyncio.wait_for(self._sent_all.wait(), FLUSH_AT_STOP_S)
            except TimeoutError:
                log.warning("could not tell the server that sharing stopped")

    async def _pace(self, next_at: float) -> None:
        """Hold the frame rate at ``fps``: wait until ``next_at``. Acks only
        end the wait for a full window; input, a key-frame request, a monitor
        change or a stop end it at once (``_hurry``)."""
        while not self._urgent and not self.stop_requested.is_set():
            remaining = next_at - time.monotonic()
            if remaining <= 0:
                break
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                break
        self._urgent = False

    def _hurry(self) -> None:
        self._urgent = True
        self._wake.set()

    def _set_origin(self, mon: Any) -> None:
        self._origin = (mon.left, mon.top)
        if self.injector is not None:
            self.injector.set_origin(mon.left, mon.top)

    def _build(self, capture: Any, encoder: Any, key: bool) -> tuple[Any, bytes | None, bytes | None]:
        """Grab and encode one frame, and look at the pointer (worker thread).
        The frame is None when nothing changed; the cursor shape and the
        pointer position are None when they did not change."""
        pending = capture.cursor_request()  # its round trip overlaps the grab and the encoding
        frame = self._frame(capture, encoder, key)
        cursor, pointer = self._pointer(capture, pending())
        return frame, cursor, pointer

    def _pointer(self, capture: Any, cur: Any) -> tuple[bytes | None, bytes | None]:
        mon = capture.selected
        if cur is None:
            return None, None
        x = min(max(cur.x - mon.left, 0), mon.width - 1)
        y = min(max(cur.y - mon.top, 0), mon.height - 1)
        if cur.serial != self._cursor_serial and cur.w <= 256 and cur.h <= 256:
            self._cursor_serial, self._cursor_pos = cur.serial, (x, y)
            hot_x, hot_y = min(cur.hot_x, max(cur.w - 1, 0)), min(cur.hot_y, max(cur.h - 1, 0))
            return Cursor(x, y, cur.w, cur.h, hot_x, hot_y, cur.rgba).encode(), None
        if (x, y) != self._cursor_pos:
            self._cursor_pos = (x, y)
            return None, Pointer(x, y).encode()
        return None, None

    def _frame(self, capture: Any, encoder: Any, key: bool) -> Any:
        now = time.monotonic()
        capture_us = int(now * 1e6)
        seq = self.core.flow.next_seq
        if key:
            encoder.update(self._grab(capture), now)
            return encoder.key_frame(seq, now, capture_us)
        board = self.board
        if capture.changed() is False and not encoder.needs_key and not (board is not None and board.needs_grab):
            return encoder.next_frame(seq, now, capture_us)  # refinement of settled areas, if due
        encoder.update(self._grab(capture), now)
        return encoder.next_frame(seq, now, capture_us)

    def _grab(self, capture: Any) -> Any:
        """A capture with the annotation overlay left out (X11 cannot exclude
        a window from a grab, so its pixels are replaced by what lay beneath)."""
        image = capture.grab()
        board = self.board
        return board.mask(image) if board is not None else image
