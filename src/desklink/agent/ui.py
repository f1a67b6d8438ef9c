"""What the visitor sees of the agent: the consent question and, while
sharing, a small always-on-top indicator with a Stop button (and, where
strokes can be painted on the screen, Draw and Clear drawings).

Two front ends with one interface: :class:`TkUI` (a real window, the usual
case) and :class:`TerminalUI` (no display: the question is asked in the
terminal). The network runs on another thread; it talks to the UI only
through :meth:`UI.post`, which is thread-safe, and the UI answers through
callbacks the network side passes in.

The consent window has a fixed layout (:data:`CONSENT_SIZE`,
:data:`ALLOW_BUTTON`, :data:`DENY_BUTTON`, placed in the middle of the
screen) so that people, screen readers and the X tests can all find Allow.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: Consent window size, and its buttons as (x, y, width, height) inside it.
CONSENT_SIZE = (480, 250)
ALLOW_BUTTON = (340, 196, 120, 36)
DENY_BUTTON = (210, 196, 120, 36)
#: The mark the indicator shows while the screen is being recorded.
RECORDING_MARK = "● Recording"
#: The longest "… is watching" mark on the indicator; longer is cut with "…".
WATCHING_CHARS = 60
#: Window titles (the X tests find the windows by these).
CONSENT_TITLE = "DeskLink - screen sharing request"
INDICATOR_TITLE = "DeskLink - sharing"
#: The indicator's buttons, right to left, with their widths in pixels: a
#: fixed layout, like the consent window's (see :func:`indicator_button`).
INDICATOR_BUTTONS = (("stop", 70), ("clip", 150), ("draw", 120), ("clear", 130), ("take", 210))
INDICATOR_BUTTON_HEIGHT = 28
INDICATOR_PAD = 6
#: The indicator's text has a fixed width, so the bar (and the button under
#: the visitor's mouse) does not move when the text changes.
INDICATOR_LABEL_WIDTH = 420
#: How often the Tk loop looks for work posted by the network thread, ms.
POLL_MS = 30
#: How often the clipboard is looked at for the visitor's own copies, ms.
CLIPBOARD_POLL_MS = 500
#: How long a passing note stays on the indicator, ms.
NOTICE_MS = 8000
#: The hotkey that takes control back (see agent/inputs).
HOTKEY_NAME = "Pause"


def indicator_button(geometry: tuple[int, int, int, int], name: str) -> tuple[int, int]:
    """The middle of the indicator's button ``name`` ("stop", "clip",
    "draw", "clear", "take"), given the indicator's (x, y, width, height)."""
    x, y, w, h = geometry
    right = x + w - INDICATOR_PAD
    for button, width in INDICATOR_BUTTONS:
        if button == name:
            return right - width // 2, y + h // 2
        right -= width + INDICATOR_PAD
    raise KeyError(name)


@dataclass(frozen=True)
class Ask:
    provider: str
    rep: str
    what: str  # e.g. "see your screen" (protocol/privileges.py ASK_WORDING)
    note: str = ""  # a line under the question (e.g. what stays private)
    #: Whether the screen will be or may be recorded (protocol RECORDING_NOTICE), or "".
    recording: str = ""


@dataclass(frozen=True)
class FileOfferQuestion:
    """The rep sends a file: accept it into ``dest`` (or another folder) or refuse."""

    id: int
    rep: str
    name: str  # sanitized
    size: str  # in words
    dest: Path


@dataclass(frozen=True)
class FileAskQuestion:
    """The rep asks the visitor for a file (``ask``: the request's id)."""

    ask: str
    rep: str
    note: str = ""


class UI(Protocol):
    def run(self) -> None: ...

    def post(self, command: str, *args: Any) -> None: ...


@dataclass
class Hooks:
    """What the UI tells the network side; each is safe to call from the UI
    thread (main.py wraps them with ``call_soon_threadsafe``)."""

    stop: Callable[[], None]
    revoke: Callable[[], None] = lambda: None
    clipboard: Callable[[str], None] = lambda _text: None
    #: The visitor drew (or cleared): an ``annotate`` message for the rep.
    annotate: Callable[[dict[str, Any]], None] = lambda _msg: None
    #: Draw mode went on (True) or off: remote input is held while it is on.
    drawing: Callable[[bool], None] = lambda _on: None
    #: The visitor turned clipboard sharing on (True) or off in the indicator.
    clipboard_sharing: Callable[[bool], None] = lambda _on: None
    #: The files window: send these files or folders; pause or go on with a
    #: transfer (id, on); cancel one (its key); stop file sharing.
    files_send: Callable[[list[str]], None] = lambda _paths: None
    files_pause: Callable[[int, bool], None] = lambda _id, _on: None
    files_cancel: Callable[[str], None] = lambda _key: None
    files_revoke: Callable[[], None] = lambda: None


class TkUI:
    """Tk front end. ``run()`` must be called on the main thread."""

    #: It can paint annotation strokes over the screen (agent/overlay).
    supports_overlay = True

    def __init__(self, hooks: Hooks) -> None:
        import tkinter as tk

        self.tk = tk
        self.hooks = hooks
        self.on_stop = hooks.stop
        self.controlled = False
        self.watchers = ""
        self.overlay: Any = None
        self.board: Any = None  # the shared monitor's strokes, once sharing (see _board)
        self.origin = (0, 0)
        self.draw: Any = None  # DrawMode while the visitor draws
        self._clip_seen: str | None = None
        self.clip_shared = False
        self.recording = False
        self.watching = ""  # "Sue (supervisor) is watching", or empty
        self.root = tk.Tk()
        self.root.withdraw()
        self.commands: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()
        self.indicator: Any = None
        self.consent: Any = None
        from desklink.agent.files_ui import FilesWindows

        self.files = FilesWindows(self.root, hooks)

    def post(self, command: str, *args: Any) -> None:
        self.commands.put((command, args))

    def run(self) -> None:
        self.root.after(POLL_MS, self._poll)
        self.root.after(CLIPBOARD_POLL_MS, self._watch_clipboard)
        self.root.mainloop()

    # -------------------------------------------------------------- clipboard
    def _read_clipboard(self) -> str | None:
        try:
            return str(self.root.clipboard_get())
        except Exception:  # empty, or not text
            return None

    def _watch_clipboard(self) -> None:
        text = self._read_clipboard()
        if self._clip_seen is None:
            self._clip_seen = text or ""  # what was there before sharing is not sent
        elif text is not None and text != self._clip_seen:
            self._clip_seen = text
            if self.indicator is not None:
                self.hooks.clipboard(text)
        self.root.after(CLIPBOARD_POLL_MS, self._watch_clipboard)

    def _set_clipboard(self, text: str) -> None:
        self.root.clipboard_clear()
        self.root.clipboard_append(text)
        self._clip_seen = text  # not echoed back to the rep

    def _poll(self) -> None:
        try:
            while True:
                command, args = self.commands.get_nowait()
                if command == "quit":
                    self.root.quit()
                    return
                try:
                    getattr(self, "_" + command)(*args)
                except Exception:  # noqa: BLE001 - one failed command must not stop the UI (Stop stays live)
                    log.exception("ui: %s failed", command)
        except queue.Empty:
            pass
        self.root.after(POLL_MS, self._poll)

    # ---------------------------------------------------------------- consent
    def _ask(self, ask: Ask, reply: Callable[[bool], None]) -> None:
        tk = self.tk
        win = tk.Toplevel(self.root)
        self.consent = win
        win.title(CONSENT_TITLE)
        w, h = CONSENT_SIZE
        sw, sh = win.winfo_screenwidth(), win.winfo_screenheight()
        win.geometry(f"{w}x{h}+{(sw - w) // 2}+{(sh - h) // 2}")
        win.resizable(False, False)
        win.attributes("-topmost", True)
        win.configure(background="#ffffff")
        answered = False

        def answer(allowed: bool) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            win.destroy()
            self.consent = None
            reply(allowed)

        heading = tk.Label(win, text=f"{ask.rep} from {ask.provider}", font=("DejaVu Sans", 13, "bold"), bg="#ffffff", anchor="w")
        heading.place(x=20, y=18, width=w - 40, height=26)
        body = tk.Label(
            win,
            text=(
                f"asks to {ask.what}.\n\nNothing is shared until you click Allow. "
                "You can stop at any time with the Stop button that stays on top."
                + (f"\n{ask.note}" if ask.note else "")
            ),
            justify="left",
            wraplength=w - 40,
            bg="#ffffff",
            anchor="nw",
            font=("DejaVu Sans", 10),
        )
        body.place(x=20, y=50, width=w - 40, height=100)
        if ask.recording:
            notice = tk.Label(win, text=ask.recording, fg="#b91c1c", bg="#ffffff", anchor="w",
                              font=("DejaVu Sans", 10, "bold"), wraplength=w - 40, justify="left")
            notice.place(x=20, y=154, width=w - 40, height=36)
        deny = tk.Button(win, text="Deny", command=lambda: answer(False))
        deny.place(x=DENY_BUTTON[0], y=DENY_BUTTON[1], width=DENY_BUTTON[2], height=DENY_BUTTON[3])
        allow = tk.Button(win, text="Allow", command=lambda: answer(True), bg="#1f5fd6", fg="#ffffff", activebackground="#174bb0")
        allow.place(x=ALLOW_BUTTON[0], y=ALLOW_BUTTON[1], width=ALLOW_BUTTON[2], height=ALLOW_BUTTON[3])
        win.protocol("WM_DELETE_WINDOW", lambda: answer(False))
        win.bind("<Escape>", lambda _e: answer(False))
        win.lift()

    # -------------------------------------------------------------- indicator
    def _sharing(self, watchers: str) -> None:
        tk = self.tk
        if self.indicator is None:
            win = tk.Toplevel(self.root)
            win.title(INDICATOR_TITLE)
            win.attributes("-topmost", True)
            win.resizable(False, False)
            win.configure(background="#b91c1c")
            text_slot = tk.Frame(win, width=INDICATOR_LABEL_WIDTH, height=INDICATOR_BUTTON_HEIGHT, bg="#b91c1c")
            text_slot.pack_propagate(False)
            label = tk.Label(text_slot, bg="#b91c1c", fg="#ffffff", font=("DejaVu Sans", 10, "bold"), anchor="w")
            label.pack(fill="both", expand=True)
            text_slot.pack(side="left", padx=(10, 6), pady=4)
            # White on the red bar would not stand out: red on white does.
            rec = tk.Label(win, text=RECORDING_MARK, bg="#ffffff", fg="#b91c1c", font=("DejaVu Sans", 10, "bold"), padx=6)
            # Who else watches (no silent watching): its own mark, so it shows
            # whatever the main text says (drawing, control).
            watch = tk.Label(win, bg="#ffffff", fg="#7c2d12", font=("DejaVu Sans", 10, "bold"), padx=6)
            actions = {
                "stop": self.on_stop,
                "clip": self._toggle_clipboard,
                "draw": self._toggle_draw,
                "clear": self._clear_drawings,
                "take": self.hooks.revoke,
            }
            texts = {
                "stop": "Stop",
                "clip": "Share clipboard",
                "draw": "Draw",
                "clear": "Clear drawings",
                "take": f"Take back control ({HOTKEY_NAME})",
            }
            buttons: dict[str, Any] = {}
            for name, width in INDICATOR_BUTTONS:
                slot = tk.Frame(win, width=width, height=INDICATOR_BUTTON_HEIGHT, bg="#b91c1c")
                slot.pack_propagate(False)
                tk.Button(slot, text=texts[name], command=actions[name]).pack(fill="both", expand=True)
                buttons[name] = slot
            buttons["stop"].pack(side="right", padx=(0, INDICATOR_PAD), pady=4)
            buttons["clip"].pack(side="right", padx=(0, INDICATOR_PAD), pady=4)
            win.protocol("WM_DELETE_WINDOW", self.on_stop)
            self.indicator = (win, label, buttons, text_slot, rec, watch)
        self.watchers = watchers if len(watchers) <= 32 else watchers[:31] + "…"
        self._label()

    def _label(self) -> None:
        if self.indicator is None:
            return
        win, label, buttons, text_slot, rec, watch = self.indicator
        # Packed right to left, so each keeps its place whatever shows left of it.
        text_slot.pack_forget()
        rec.pack_forget()
        watch.pack_forget()
        for name, _ in INDICATOR_BUTTONS[2:]:
            buttons[name].pack_forget()
        shown = ["draw", "clear"] if self.board is not None else []
        if self.controlled:
            shown.append("take")
        for name in shown:
            buttons[name].pack(side="right", padx=(0, INDICATOR_PAD), pady=4)
        text_slot.pack(side="left", padx=(10, 6), pady=4)
        if self.recording:
            rec.pack(side="left", padx=(0, 6), pady=4)
        if self.watching:
            watch.configure(text=self.watching if len(self.watching) <= WATCHING_CHARS else self.watching[: WATCHING_CHARS - 1] + "…")
            watch.pack(side="left", padx=(0, 6), pady=4)
        clip_button = buttons["clip"].winfo_children()[0]
        clip_button.configure(text="Stop clipboard" if self.clip_shared else "Share clipboard",
                              relief="sunken" if self.clip_shared else "raised")
        draw_button = buttons["draw"].winfo_children()[0]
        draw_button.configure(text="Stop drawing" if self.draw is not None else "Draw",
                              relief="sunken" if self.draw is not None else "raised")
        if self.draw is not None:
            label.configure(text="Drawing: drag to draw, right-click takes back")
        elif self.controlled:
            label.configure(text=f"{self.watchers} is controlling your mouse and keyboard")
        else:
            label.configure(text=f"Sharing your screen with {self.watchers}")
        win.update_idletasks()
        sw = win.winfo_screenwidth()
        win.geometry(f"+{(sw - win.winfo_reqwidth()) // 2}+0")

    def _control(self, on: bool) -> None:
        self.controlled = on
        self._label()

    def _recording(self, on: bool, error: str | None = None) -> None:
        """The screen is being recorded (a red mark on the bar) or no longer."""
        self.recording = on
        self._label()
        if error:
            self._notice(f"Recording failed: {error}")

    def _watchers(self, words: str, joined: list[str], left: list[str]) -> None:
        """Someone besides the rep watches (a mark on the bar while they do)."""
        self.watching = words
        self._label()

    # ------------------------------------------------------------------ files
    def _files(self, on: bool, rep: str, why: str = "") -> None:
        self.files.granted(on, rep, why)
        if not on and why:
            self._notice(f"File sharing ended: {why}.")

    def _file_offer(self, question: FileOfferQuestion, reply: Callable[[Path | None], None]) -> None:
        self.files.offer(question, reply)

    def _file_offer_gone(self, transfer_id: int) -> None:
        self.files.offer_gone(transfer_id)

    def _file_ask(self, question: FileAskQuestion, reply: Callable[[list[str] | None], None]) -> None:
        self.files.ask(question, reply)

    def _transfers(self, views: list[Any]) -> None:
        self.files.transfers(views)

    def _notice(self, text: str) -> None:
        """A passing note on the indicator (e.g. control is not available)."""
        self.files.notice(text)
        if self.indicator is None:
            return
        self.indicator[1].configure(text=text)
        self.root.after(NOTICE_MS, self._label)

    def _toggle_clipboard(self) -> None:
        """The visitor turns clipboard sharing on or off (both directions,
        within the command line's --no-clipboard-* locks). What was copied
        before turning it on stays private."""
        if not self.clip_shared:
            self._clip_seen = self._read_clipboard() or ""
        self.hooks.clipboard_sharing(not self.clip_shared)

    def _clipboard_sharing(self, on: bool) -> None:
        """The network side confirms the clipboard switch."""
        self.clip_shared = on
        self._label()

    # ------------------------------------------------------------- annotation
    def _board(self, board: Any, left: int, top: int) -> None:
        """Sharing started (or moved to another monitor): strokes go on ``board``."""
        self._draw_off()
        if self.overlay is not None and self.overlay.board is not board:
            self._annotate_end()
        self.board, self.origin = board, (left, top)
        self._label()

    def _overlay(self) -> Any:
        from desklink.agent.overlay import OverlayWindow

        if self.overlay is None or self.overlay.board is not self.board:
            if self.overlay is not None:
                self.overlay.destroy()
            self.overlay = OverlayWindow(self.root, self.board, left=self.origin[0], top=self.origin[1])
        return self.overlay

    def _annotate(self, msg: dict[str, Any]) -> None:
        """A stroke the network side put on the board (posted after ``board``)."""
        if self.board is not None:
            self._overlay().apply(msg)

    def _annotate_move(self, left: int, top: int) -> None:
        self._draw_off()
        self.origin = (left, top)
        if self.overlay is not None:
            self.overlay.move(left, top)

    def _annotate_end(self) -> None:
        self._draw_off()
        if self.overlay is not None:
            self.overlay.destroy()
            self.overlay = None

    def _toggle_draw(self) -> None:
        if self.draw is not None:
            self._draw_off()
            return
        if self.board is None:
            return
        from desklink.agent.overlay.draw import DrawMode

        below = int(self.indicator[0].winfo_id()) if self.indicator is not None else 0
        self.hooks.drawing(True)  # first: from now on no remote click may land on the surface
        try:
            self.draw = DrawMode(self.root, self.board, *self.origin, overlay=self._overlay, send=self.hooks.annotate, below=below)
        except Exception as exc:  # noqa: BLE001 - no drawing here; sharing goes on
            log.warning("drawing is not available here: %s", exc)
            self.draw = None
            self.hooks.drawing(False)
            return
        self._label()

    def _draw_off(self) -> None:
        if self.draw is None:
            return
        draw, self.draw = self.draw, None
        draw.close()
        self.hooks.drawing(False)
        self._label()

    def _clear_drawings(self) -> None:
        if self.board is None:
            return
        from desklink.agent.overlay.draw import clear_board

        if self.draw is not None:
            self.draw.pen.cancel()
        clear_board(self.board, self._overlay, self.hooks.annotate)

    def _idle(self) -> None:
        self.files.close_list()
        self._annotate_end()
        self.board = None
        if self.indicator is not None:
            self.indicator[0].destroy()
            self.indicator = None
        if self.consent is not None:
            self.consent.destroy()
            self.consent = None

    def _reconnecting(self, text: str) -> None:
        """The link dropped and the agent is finding its relay again: as
        idle, but the sharing bar stays up and says so (Stop still works)."""
        bar, self.indicator = self.indicator, None
        self._idle()
        self.indicator = bar
        self.controlled = False
        if bar is not None:
            bar[1].configure(text=text[:1].upper() + text[1:])
        self.files.notice(text)


class TerminalUI:
    """No display: ask on the terminal, show the state as lines. No clipboard
    and no annotation (there is no screen to draw on)."""

    supports_overlay = False

    def __init__(self, hooks: Hooks, *, stdin: Any = None, stdout: Any = None) -> None:
        self.hooks = hooks
        self.on_stop = hooks.stop
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.commands: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue()
        self._told: set[str] = set()

    def post(self, command: str, *args: Any) -> None:
        self.commands.put((command, args))

    def run(self) -> None:
        while True:
            command, args = self.commands.get()
            if command == "quit":
                return
            getattr(self, "_" + command)(*args)

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _ask(self, ask: Ask, reply: Callable[[bool], None]) -> None:
        self._say(f"{ask.rep} from {ask.provider} asks to {ask.what}.")
        if ask.recording:
            self._say(ask.recording)
        self._say("Nothing is shared until you allow it. Press Ctrl+C at any time to stop.")
        self.stdout.write("Allow? [y/N] ")
        self.stdout.flush()
        line = self.stdin.readline()
        reply(line.strip().lower() in ("y", "yes"))

    def _sharing(self, watchers: str) -> None:
        self._say(f"Sharing your screen with {watchers}. Press Ctrl+C to stop.")

    def _idle(self) -> None:
        return None

    def _reconnecting(self, text: str) -> None:
        self._say(text[:1].upper() + text[1:])

    def _notice(self, text: str) -> None:
        self._say(text[:1].upper() + text[1:])

    def _control(self, on: bool) -> None:
        if on:
            self._say("The support rep now controls your mouse and keyboard. Press Ctrl+C to stop everything.")
        else:
            self._say("Remote control ended.")

    def _recording(self, on: bool, error: str | None = None) -> None:
        if error:
            self._say(f"Recording failed: {error}")
        elif on:
            self._say("Recording: your screen is being recorded.")
        else:
            self._say("Recording stopped.")

    def _watchers(self, words: str, joined: list[str], left: list[str]) -> None:
        for who in joined:
            self._say(f"{who} is watching your screen.")
        for who in left:
            self._say(f"{who} stopped watching your screen.")

    def _set_clipboard(self, text: str) -> None:
        return None

    def _clipboard_sharing(self, on: bool) -> None:
        return None

    # ------------------------------------------------------------------ files
    def _files(self, on: bool, rep: str, why: str = "") -> None:
        if on:
            self._say(f"{rep} may now send files to and from this computer. Each file needs your yes.")
        else:
            self._say(f"File sharing ended{': ' + why if why else ''}.")

    def _file_offer(self, question: FileOfferQuestion, reply: Callable[[Path | None], None]) -> None:
        self._say(f"{question.rep} sends you a file: {question.name} ({question.size}).")
        self.stdout.write(f"Save it in {question.dest}? [y/N, or type another folder] ")
        self.stdout.flush()
        line = self.stdin.readline().strip()
        if line.lower() in ("y", "yes"):
            reply(question.dest)
        elif line and line.lower() not in ("n", "no"):
            reply(Path(line).expanduser())
        else:
            reply(None)

    def _file_offer_gone(self, transfer_id: int) -> None:
        return None

    def _file_ask(self, question: FileAskQuestion, reply: Callable[[list[str] | None], None]) -> None:
        note = f": {question.note}" if question.note else ""
        self._say(f"{question.rep} asks you for a file{note}.")
        self.stdout.write("Type the path of a file or folder to send (an empty line sends nothing): ")
        self.stdout.flush()
        line = self.stdin.readline().strip()
        reply([line] if line else None)

    def _transfers(self, views: list[Any]) -> None:
        from desklink.agent.files_ui import transfer_line

        for view in views:
            if view.phase in ("done", "failed", "cancelled", "refused") and view.key not in self._told:
                self._told.add(view.key)
                self._say(f"{view.name}: {transfer_line(view)}")


def open_ui(hooks: Hooks, *, terminal: bool = False) -> UI:
    """A Tk window when a display is available, else the terminal."""
    if not terminal:
        try:
            return TkUI(hooks)
        except Exception:  # no display, or Tk missing: fall back to the terminal
            pass
    return TerminalUI(hooks)


def in_thread(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread
