"""The agent's connection to the server: join, consent, share, reconnect.

Theory of operation
-------------------
One outbound WebSocket to ``/ws/agent`` on the server's normal port (wss
under TLS), so no firewall or NAT changes. The agent joins with the code the
visitor was given, shows who asks for what, and captures nothing until the
visitor allows it.

Sharing is pull-like: the agent sends a frame only while fewer than
``window`` frames are unacknowledged (:class:`~desklink.protocol.screen.FlowControl`).
When the window is full it waits; the next capture then holds every change
since the last one sent, so a slow link gets fewer, fuller frames and never
a queue. Capturing and encoding run on a worker thread so the socket keeps
answering while a frame is built.

If the connection drops, the agent reconnects with exponential backoff and
jitter and says ``hello {resume}``; within the server's grace period it
carries on without asking again. Stop (the indicator's button, Ctrl+C, the
rep, or the session ending) stops capture at once and the agent exits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets

from desklink import __version__
from desklink.agent.ui import UI, Ask
from desklink.protocol import codes, limits
from desklink.protocol.framing import Channel, encode_frame
from desklink.protocol.screen import Cursor, FlowControl, Pointer

log = logging.getLogger("desklink.agent")

#: Reconnect back-off bounds, seconds (with up to 50 % jitter).
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0
#: Give up reconnecting after this long (the server's grace period is 60 s).
RECONNECT_GIVE_UP_S = 60.0
#: How often the agent tells the viewers its measured latency, seconds.
STATS_INTERVAL_S = 1.0
#: Latency is the median over this many of the latest acknowledged frames.
STATS_FRAMES = 30
#: Close codes after which reconnecting cannot help.
FINAL_CLOSE_CODES = frozenset({codes.CLOSE_AUTH, codes.CLOSE_ENDED, codes.CLOSE_LIMITED, codes.CLOSE_POLICY, codes.CLOSE_NORMAL})


def ws_url(server: str) -> str:
    server = server.rstrip("/")
    if server.startswith("https://"):
        return "wss://" + server[len("https://") :] + "/ws/agent"
    if server.startswith("http://"):
        return "ws://" + server[len("http://") :] + "/ws/agent"
    if server.startswith(("ws://", "wss://")):
        return server + "/ws/agent"
    return "https://" + server + "/ws/agent"


class Stopped(Exception):
    """Sharing ended; ``reason`` says why (for the exit message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: After injecting input, look at the screen again this soon (seconds), so
#: the rep sees the effect without waiting for the next frame tick; twice,
#: because applications take a moment to draw.
INPUT_RECAPTURE_S = (0.006, 0.02)
#: How often the agent looks at the visitor's own mouse and keyboard while
#: the rep is in control, seconds.
LOCAL_POLL_S = 0.05


@dataclass
class AgentOptions:
    server: str
    code: str
    #: Frame-rate cap. The agent reaches ~40 fps on a full-screen scroll at a
    #: third of a core (bench/screen.py); the cap keeps bandwidth bounded.
    fps: float = 40.0
    monitor: int | None = None
    capture_factory: Callable[[], Any] | None = None
    #: The visitor's switches for each clipboard direction.
    clipboard_in: bool = True  # rep -> this computer
    clipboard_out: bool = True  # this computer -> rep
    #: Local input pauses remote input this long, seconds.
    local_pause_s: float = 0.5
    input_factory: Callable[[], tuple[Any, Any]] | None = None


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
        self.stop_requested = asyncio.Event()
        self.resume = ""
        self.allowed = False
        self.stats = AgentStats()
        self.exit_reason = ""
        self._wake = asyncio.Event()
        self._urgent = False
        self._key_wanted = True
        self._select: int | None = options.monitor
        self._cursor_serial = -1
        self._cursor_pos = (-1, -1)
        self.flow = FlowControl()
        self._ws: Any = None
        self._provider = ""
        self._origin = (0, 0)
        # remote control: the agent's own consent state, independent of the relay's
        self.control = False
        self.injector: Any = None
        self.local: Any = None
        self.paused_until = 0.0
        self.injected = 0
        self.refused = 0
        #: Annotation strokes on this screen (only with a window UI, which paints them).
        self.board: Any = None
        #: Strokes that came before the board (the relay's replay after a reconnect).
        self._early_strokes: list[dict[str, Any]] = []
        #: The visitor is drawing on the screen: remote input is held meanwhile.
        self.drawing = False

    def request_stop(self) -> None:
        """Stop sharing now. Called on the loop (the UI's Stop button and the
        signal handlers get here through ``call_soon_threadsafe``)."""
        if not self.stop_requested.is_set() and not self.exit_reason:
            self.exit_reason = "stopped by you"
        self.stop_requested.set()
        self._wake.set()

    async def run(self) -> str:
        """Join and share until stopped; returns why it ended."""
        started_gone: float | None = None
        delay = RECONNECT_MIN_S
        while True:
            try:
                await self._connect_once()
            except Stopped as stop:
                self.exit_reason = stop.reason
                break
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake, TimeoutError) as exc:
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                if code in FINAL_CLOSE_CODES or not self.resume or self.stop_requested.is_set():
                    reason = getattr(getattr(exc, "rcvd", None), "reason", "") or str(exc) or type(exc).__name__
                    self.exit_reason = reason
                    break
                now = time.monotonic()
                started_gone = started_gone or now
                if now - started_gone > RECONNECT_GIVE_UP_S:
                    self.exit_reason = "could not reach the server again"
                    break
                wait = delay * (1 + random.random() / 2)
                log.warning("connection lost (%s); reconnecting in %.1f s", exc, wait)
                self.ui.post("idle")
                try:
                    await asyncio.wait_for(self.stop_requested.wait(), wait)
                    self.exit_reason = "stopped by you"
                    break
                except TimeoutError:
                    pass
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            started_gone = None
        self.ui.post("idle")
        self.ui.post("quit")
        return self.exit_reason

    async def _connect_once(self) -> None:
        async with websockets.connect(ws_url(self.options.server), max_size=2**22, open_timeout=15) as ws:
            hello: dict[str, Any] = {"t": "hello", "version": __version__, "platform": platform.platform()[:64]}
            if self.resume:
                hello["resume"] = self.resume
            else:
                hello["code"] = self.options.code
            await ws.send(json.dumps(hello))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if welcome.get("t") != "welcome":
                raise Stopped(welcome.get("message", "the server refused the agent"))
            self.resume = welcome["resume"]
            if not (welcome.get("resumed") and self.allowed):
                self.allowed = await self._ask(welcome)
                await ws.send(json.dumps({"t": "consent", "view": self.allowed}))
                if not self.allowed:
                    raise Stopped("you declined")
            self.flow.reset()
            self._key_wanted = True
            self._cursor_serial = -1  # a new connection gets the shape again
            self.ui.post("sharing", welcome["rep"]["name"])
            self._ws = ws
            receiver = asyncio.create_task(self._receive(ws))
            watcher = asyncio.create_task(self._watch_local())
            try:
                await self._share(ws, receiver)
            finally:
                self._ws = None
                self._end_control()  # nothing stays pressed, whatever ended it
                for task in (receiver, watcher):
                    task.cancel()
                await asyncio.gather(receiver, watcher, return_exceptions=True)

    async def _ask(self, welcome: dict[str, Any]) -> bool:
        self._provider = welcome.get("provider", "")
        return await self._consent_dialog(welcome["rep"]["name"], "see your screen")

    async def _consent_dialog(self, rep: str, what: str) -> bool:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bool] = loop.create_future()

        def reply(allowed: bool) -> None:
            loop.call_soon_threadsafe(lambda: answer.done() or answer.set_result(allowed))

        ask = Ask(provider=self._provider, rep=rep, what=what)
        self.ui.post("ask", ask, reply)
        stop = asyncio.ensure_future(self.stop_requested.wait())
        done, _ = await asyncio.wait({answer, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if answer in done:
            return answer.result()
        raise Stopped("stopped by you")

    async def _receive(self, ws: Any) -> None:
        async for raw in ws:
            if isinstance(raw, bytes):
                continue
            msg = json.loads(raw)
            t = msg.get("t")
            if t == "screen.ack":
                self.flow.acked(int(msg["seq"]), time.monotonic())
                self._wake.set()
            elif t == "screen.refresh":
                self._key_wanted = True
                self._hurry()
            elif t == "screen.select":
                self._select = int(msg["monitor"])
                self._key_wanted = True
                self._hurry()
            elif t == "control.ask":
                asyncio.ensure_future(self._ask_control(str(msg.get("rep", "The support rep"))))
            elif t == "control.end":
                self._end_control()
            elif t == "input":
                self._inject(msg.get("events", []))
            elif t == "annotate":
                self._annotate(msg)
            elif t == "clipboard":
                if self.options.clipboard_in and isinstance(msg.get("text"), str):
                    self.ui.post("set_clipboard", msg["text"])
            elif t == "ended":
                if not self.stop_requested.is_set():  # not the echo of our own stop
                    by = msg.get("by", "")
                    self.exit_reason = {"rep": "the support rep stopped sharing"}.get(by, "sharing ended")
                self.request_stop()
            elif t == "error":
                log.warning("server said: %s", msg.get("message"))

    # ------------------------------------------------------------ control
    async def _ask_control(self, rep: str) -> None:
        if self.control:
            return
        try:
            allowed = await self._consent_dialog(rep, "control your mouse and keyboard")
        except Stopped:
            return
        if allowed:
            try:
                self._open_input()
            except Exception as exc:  # no injector on this platform: say no
                log.warning("remote control is not available here: %s", exc)
                allowed = False
        self.control = allowed
        self.ui.post("control", allowed)
        if self._ws is not None:
            await self._ws.send(json.dumps({"t": "consent", "control": allowed}))

    def _open_input(self) -> None:
        if self.injector is None:
            if self.options.input_factory is not None:
                self.injector, self.local = self.options.input_factory()
            else:
                from desklink.agent.inputs import open_injector, open_local_input

                self.injector = open_injector()
                self.local = open_local_input(self.injector)
        self.injector.set_origin(*self._origin)

    def _inject(self, events: list[dict[str, Any]]) -> None:
        """Inject the rep's events in order: only while the visitor's yes
        holds here too, and not while the visitor is using the computer."""
        if not self.control or self.injector is None:
            self.refused += len(events)
            return
        paused = self.drawing or time.monotonic() < self.paused_until
        inj = self.injector
        for ev in events:
            k = ev.get("k")
            if k == "release":
                inj.release_all()
                continue
            if paused:
                self.refused += 1
                continue
            try:
                if k == "move":
                    inj.move(int(ev["x"]), int(ev["y"]))
                elif k == "button":
                    inj.button(int(ev["b"]), bool(ev["down"]), int(ev["x"]), int(ev["y"]))
                elif k == "wheel":
                    inj.wheel(int(ev.get("dx", 0)), int(ev.get("dy", 0)), int(ev.get("x", 0)), int(ev.get("y", 0)))
                elif k == "key":
                    inj.key(str(ev["key"]), str(ev.get("code", "")), bool(ev["down"]))
                elif k == "text":
                    inj.text(str(ev["text"]))
                self.injected += 1
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("ignored a malformed input event %r: %s", ev, exc)
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

    def send_annotate(self, msg: dict[str, Any]) -> None:
        """The visitor drew or cleared (from the UI thread, via the loop)."""
        if self._ws is not None and self.board is not None:
            asyncio.ensure_future(self._ws.send(json.dumps(msg)))

    def set_drawing(self, on: bool) -> None:
        """The visitor's draw mode went on or off (from the UI thread, via the
        loop). While it is on, the rep's input is held, so the rep's clicks
        never become the visitor's strokes; anything held down is let go."""
        self.drawing = on
        if on and self.injector is not None:
            self.injector.release_all()

    def _end_control(self) -> None:
        if self.injector is not None:
            self.injector.release_all()
        if self.control:
            self.control = False
            self.ui.post("control", False)

    def request_revoke(self) -> None:
        """The visitor takes control back (indicator button or hotkey)."""
        if not self.control:
            return
        self._end_control()
        if self._ws is not None:
            asyncio.ensure_future(self._ws.send(json.dumps({"t": "control.revoked"})))

    def clipboard_changed(self, text: str) -> None:
        """The visitor's clipboard changed (from the UI thread, via the loop)."""
        if self.options.clipboard_out and self._ws is not None and text:
            asyncio.ensure_future(self._ws.send(json.dumps({"t": "clipboard", "text": text[:16_000]})))

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
                self.paused_until = time.monotonic() + self.options.local_pause_s

    async def _share(self, ws: Any, receiver: asyncio.Task[None]) -> None:
        from desklink.agent.capture import open_capture
        from desklink.agent.encode.encoder import ScreenEncoder

        loop = asyncio.get_running_loop()
        capture = (self.options.capture_factory or open_capture)()
        try:
            monitors = capture.monitors()
            chosen = self._select or next((m.index for m in monitors if m.primary), monitors[0].index)
            capture.select(chosen)
            await ws.send(json.dumps({
                "t": "screen.info",
                "monitors": [{"index": m.index, "width": m.width, "height": m.height, "primary": m.primary} for m in monitors],
                "selected": chosen,
            }))
            mon = capture.selected
            self._set_origin(mon)
            encoder = ScreenEncoder(mon.width, mon.height)
            if getattr(self.ui, "supports_overlay", False):
                from desklink.agent.overlay import Board

                self.board = Board(mon.width, mon.height)
                self.ui.post("board", self.board, mon.left, mon.top)
                self._replay_early_strokes()  # same loop turn: nothing can come between
            interval = 1.0 / self.options.fps
            stats_due = time.monotonic() + STATS_INTERVAL_S
            stats_acked = 0
            while not self.stop_requested.is_set():
                if receiver.done():
                    receiver.result()  # re-raise why the socket closed
                    raise websockets.ConnectionClosed(None, None)
                if self._select is not None and self._select != capture.selected.index:
                    capture.select(self._select)
                    mon = capture.selected
                    self._set_origin(mon)
                    encoder = ScreenEncoder(mon.width, mon.height)
                    if self.board is not None:
                        self.board.reset(mon.width, mon.height)
                        self.ui.post("annotate_move", mon.left, mon.top)
                    self._key_wanted = True
                if not self.flow.can_send() and not self._key_wanted:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), 1.0)
                    except TimeoutError:
                        pass
                    continue
                started = time.monotonic()
                frame, pointer = await loop.run_in_executor(None, self._build, capture, encoder)
                if pointer is not None:
                    await ws.send(encode_frame(Channel.SCREEN, pointer))
                if frame is not None:
                    await ws.send(encode_frame(Channel.SCREEN, frame.encode()))
                    self.flow.take_seq()
                    self.flow.sent(frame.seq, time.monotonic())
                    self.stats.frames += 1
                    self.stats.key_frames += int(frame.key)
                    self.stats.bytes += frame.payload_bytes
                if time.monotonic() >= stats_due and self.flow.frames_acked > stats_acked:
                    stats_due = time.monotonic() + STATS_INTERVAL_S
                    stats_acked = self.flow.frames_acked  # an idle screen sends nothing at all
                    recent = sorted(self.flow.rtts[-STATS_FRAMES:])
                    await ws.send(json.dumps({"t": "screen.stats", "rtt_ms": round(recent[len(recent) // 2] * 1000, 1)}))
                await self._pace(started + interval)
        finally:
            capture.close()
            self._early_strokes = []
            if self.board is not None:
                self.board = None
                self.ui.post("annotate_end")
        await ws.send(json.dumps({"t": "screen.stop"}))
        await ws.close(codes.CLOSE_NORMAL, "visitor stopped sharing")
        raise Stopped(self.exit_reason or "stopped by you")

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

    def _build(self, capture: Any, encoder: Any) -> tuple[Any, bytes | None]:
        """Grab and encode one frame, and look at the pointer (worker thread).
        The frame is None when nothing changed; the pointer message is None
        when it neither moved nor changed shape."""
        pending = capture.cursor_request()  # its round trip overlaps the grab and the encoding
        frame = self._frame(capture, encoder)
        return frame, self._pointer(capture, pending())

    def _pointer(self, capture: Any, cur: Any) -> bytes | None:
        mon = capture.selected
        if cur is None:
            return None
        x = min(max(cur.x - mon.left, 0), mon.width - 1)
        y = min(max(cur.y - mon.top, 0), mon.height - 1)
        if cur.serial != self._cursor_serial and cur.w <= 256 and cur.h <= 256:
            self._cursor_serial, self._cursor_pos = cur.serial, (x, y)
            return Cursor(x, y, cur.w, cur.h, min(cur.hot_x, max(cur.w - 1, 0)), min(cur.hot_y, max(cur.h - 1, 0)), cur.rgba).encode()
        if (x, y) != self._cursor_pos:
            self._cursor_pos = (x, y)
            return Pointer(x, y).encode()
        return None

    def _frame(self, capture: Any, encoder: Any) -> Any:
        now = time.monotonic()
        capture_us = int(now * 1e6)
        seq = self.flow.next_seq
        if self._key_wanted:
            self._key_wanted = False
            self.flow.reset()
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
