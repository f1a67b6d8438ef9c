"""The visitor's file windows (Tk): an incoming file to accept or refuse,
the rep's request for a file, and the list of transfers.

Theory of operation
-------------------
:class:`FilesWindows` belongs to :class:`~desklink.agent.ui.TkUI` and runs on
its (main) thread; the network side reaches it only through ``TkUI.post``.
Like the consent window, the offer and request windows have a fixed layout
(:data:`QUESTION_SIZE`, :data:`YES_BUTTON`, :data:`NO_BUTTON`, in the middle
of the screen) so people, screen readers and the X tests find the buttons.

The files window stays open while the visitor allows file sharing: one line
per transfer (running ones first, :data:`MAX_ROWS` at most) with a progress
bar, the rate and the time left, Pause/Resume and Cancel, and the buttons
"Send a file...", "Send a folder..." and "Stop file sharing", all at fixed
places like the consent window's.

File dialogs: Tk's own. For tests on a bare X server the environment
variable :data:`PICK_ENV` can name the paths a dialog returns instead of
opening (``os.pathsep``-separated; empty means the visitor cancelled).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desklink.agent.file_paths import size_words
from desklink.agent.files import TransferView

QUESTION_SIZE = (520, 230)
#: Accept / Choose files (right) and Refuse / Decline (left), as (x, y, w, h).
YES_BUTTON = (380, 176, 120, 36)
NO_BUTTON = (250, 176, 120, 36)
#: The request window's second choice (a folder), left of Decline.
FOLDER_BUTTON = (100, 176, 140, 36)
#: The offer window's "Change..." button for the destination.
CHANGE_BUTTON = (400, 120, 100, 30)
#: The files window: a fixed layout too (size; buttons as (x, y, w, h);
#: transfer rows from ROW_TOP, ROW_HEIGHT apart, with their Pause and Cancel
#: buttons at these places inside a row). At most MAX_ROWS rows show.
FILES_SIZE = (620, 360)
SEND_BUTTON = (10, 36, 130, 30)
SEND_FOLDER_BUTTON = (150, 36, 150, 30)
REVOKE_BUTTON = (450, 36, 160, 30)
ROW_TOP = 100
ROW_HEIGHT = 32
ROW_PAUSE_BUTTON = (480, 2, 64, 28)
ROW_CANCEL_BUTTON = (548, 2, 64, 28)
MAX_ROWS = 8
FILE_OFFER_TITLE = "DeskLink - incoming file"
FILE_ASK_TITLE = "DeskLink - file request"
FILES_TITLE = "DeskLink - files"
#: Test hook: the paths a file dialog returns without opening.
PICK_ENV = "DESKLINK_TEST_PICK"
PHASE_WORDS = {
    "hashing": "preparing",
    "offered": "waiting",
    "sending": "sending",
    "receiving": "receiving",
    "paused": "paused",
    "verifying": "checking",
    "done": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "refused": "refused",
}


def transfer_line(view: TransferView) -> str:
    """The status text of one transfer: how far, how fast, how long."""
    if view.phase == "done":
        return f"saved as {view.saved_as}" if view.saved_as else "sent"
    if view.phase in ("failed", "cancelled", "refused"):
        return f"{PHASE_WORDS[view.phase]}: {view.reason}" if view.reason else PHASE_WORDS[view.phase]
    text = f"{PHASE_WORDS[view.phase]} {size_words(view.done)} of {size_words(view.size)}"
    if view.rate > 0:
        text += f", {size_words(int(view.rate))}/s"
    if view.eta_s is not None:
        text += f", {int(view.eta_s) // 60}:{int(view.eta_s) % 60:02d} left"
    return text


def pick_override(folder: bool) -> list[str] | None:
    """The test hook's answer, or None when the real dialog is to open."""
    value = os.environ.get(PICK_ENV)
    if value is None:
        return None
    paths = [p for p in value.split(os.pathsep) if p]
    return paths[:1] if folder else paths


class FilesWindows:
    def __init__(self, root: Any, hooks: Any) -> None:
        import tkinter as tk

        self.tk = tk
        self.root = root
        self.hooks = hooks
        self.window: Any = None
        self.rows: dict[str, tuple[Any, ...]] = {}
        self.list_frame: Any = None
        self.offers: dict[int, Any] = {}
        self.asks: dict[str, Any] = {}
        self.status: Any = None

    # --------------------------------------------------------------- dialogs
    def pick_files(self) -> list[str]:
        override = pick_override(False)
        if override is not None:
            return override
        from tkinter import filedialog

        return list(filedialog.askopenfilenames(parent=self.root, title="Choose files to send"))

    def pick_folder(self) -> list[str]:
        override = pick_override(True)
        if override is not None:
            return override
        from tkinter import filedialog

        folder = filedialog.askdirectory(parent=self.root, title="Choose a folder to send", mustexist=True)
        return [folder] if folder else []

    def pick_destination(self, current: Path) -> Path:
        override = pick_override(True)
        if override is not None:
            return Path(override[0]) if override else current
        from tkinter import filedialog

        chosen = filedialog.askdirectory(parent=self.root, title="Save the file in", initialdir=str(current))
        return Path(chosen) if chosen else current

    # ------------------------------------------------------------- questions
    def _question(self, title: str, heading: str, body: str) -> Any:
        tk = self.tk
        win = tk.Toplevel(self.root)
        win.title(title)
        w, h = QUESTION_SIZE
        sw, sh = win.winfo_screenwidth(), win.winfo_screenheight()
        win.geometry(f"{w}x{h}+{(sw - w) // 2}+{(sh - h) // 2}")
        win.resizable(False, False)
        win.attributes("-topmost", True)
        win.configure(background="#ffffff")
        tk.Label(win, text=heading, font=("DejaVu Sans", 12, "bold"), bg="#ffffff", anchor="w").place(x=20, y=16, width=w - 40, height=26)
        tk.Label(win, text=body, justify="left", wraplength=w - 40, bg="#ffffff", anchor="nw", font=("DejaVu Sans", 10)).place(
            x=20, y=48, width=w - 40, height=66
        )
        return win

    def offer(self, question: Any, reply: Callable[[Path | None], None]) -> None:
        """A file from the rep: Accept (into the folder shown, which the
        visitor may change) or Refuse."""
        tk = self.tk
        win = self._question(FILE_OFFER_TITLE, f"{question.rep} sends you a file",
                             f"{question.name}\n{question.size}\nIt is saved only if you accept it.")
        dest = {"path": Path(question.dest)}
        where = tk.Label(win, text=f"Save in: {dest['path']}", bg="#ffffff", anchor="w", font=("DejaVu Sans", 10))
        where.place(x=20, y=CHANGE_BUTTON[1], width=CHANGE_BUTTON[0] - 30, height=CHANGE_BUTTON[3])
        answered = False

        def answer(accept: bool) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            self.offers.pop(question.id, None)
            win.destroy()
            reply(dest["path"] if accept else None)

        def change() -> None:
            dest["path"] = self.pick_destination(dest["path"])
            where.configure(text=f"Save in: {dest['path']}")

        tk.Button(win, text="Change...", command=change).place(
            x=CHANGE_BUTTON[0], y=CHANGE_BUTTON[1], width=CHANGE_BUTTON[2], height=CHANGE_BUTTON[3])
        tk.Button(win, text="Refuse", command=lambda: answer(False)).place(
            x=NO_BUTTON[0], y=NO_BUTTON[1], width=NO_BUTTON[2], height=NO_BUTTON[3])
        tk.Button(win, text="Accept", command=lambda: answer(True), bg="#1f5fd6", fg="#ffffff").place(
            x=YES_BUTTON[0], y=YES_BUTTON[1], width=YES_BUTTON[2], height=YES_BUTTON[3])
        win.protocol("WM_DELETE_WINDOW", lambda: answer(False))
        self.offers[question.id] = win
        win.lift()

    def offer_gone(self, transfer_id: int) -> None:
        """The rep cancelled an offer the visitor has not answered yet."""
        win = self.offers.pop(transfer_id, None)
        if win is not None:
            win.destroy()

    def ask(self, question: Any, reply: Callable[[list[str] | None], None]) -> None:
        """The rep asks for a file: the visitor picks files, a folder, or declines."""
        tk = self.tk
        note = f"\u201c{question.note}\u201d\n" if question.note else ""
        win = self._question(FILE_ASK_TITLE, f"{question.rep} asks you for a file",
                             f"{note}Choose the files (or a folder) to send, or decline. Nothing is sent unless you pick it.")
        answered = False

        def answer(paths: list[str] | None) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            self.asks.pop(question.ask, None)
            win.destroy()
            reply(paths or None)

        def choose(folder: bool) -> None:
            paths = self.pick_folder() if folder else self.pick_files()
            if paths:
                answer(paths)

        tk.Button(win, text="Choose a folder...", command=lambda: choose(True)).place(
            x=FOLDER_BUTTON[0], y=FOLDER_BUTTON[1], width=FOLDER_BUTTON[2], height=FOLDER_BUTTON[3])
        tk.Button(win, text="Decline", command=lambda: answer(None)).place(
            x=NO_BUTTON[0], y=NO_BUTTON[1], width=NO_BUTTON[2], height=NO_BUTTON[3])
        tk.Button(win, text="Choose files...", command=lambda: choose(False), bg="#1f5fd6", fg="#ffffff").place(
            x=YES_BUTTON[0], y=YES_BUTTON[1], width=YES_BUTTON[2], height=YES_BUTTON[3])
        win.protocol("WM_DELETE_WINDOW", lambda: answer(None))
        self.asks[question.ask] = win
        win.lift()

    # ---------------------------------------------------------- files window
    def granted(self, on: bool, rep: str, why: str) -> None:
        if on:
            self._open(rep)
            return
        for transfer_id in list(self.offers):
            self.offer_gone(transfer_id)
        for win in self.asks.values():
            win.destroy()
        self.asks.clear()
        self.close_list()

    def close_list(self) -> None:
        """Close the files window (the link dropped: it opens again when
        file sharing goes on; open questions stay)."""
        if self.window is not None:
            self.window.destroy()
            self.window, self.rows, self.list_frame, self.status = None, {}, None, None

    def _open(self, rep: str) -> None:
        if self.window is not None:
            return
        tk = self.tk
        win = tk.Toplevel(self.root)
        win.title(FILES_TITLE)
        win.attributes("-topmost", True)
        w, h = FILES_SIZE
        win.geometry(f"{w}x{h}+{max(win.winfo_screenwidth() - w - 10, 0)}+60")
        win.resizable(False, False)
        tk.Label(win, text=f"You allowed {rep} to send files to and from this computer.", anchor="w").place(
            x=10, y=6, width=w - 20, height=24)
        for (x, y, bw, bh), text, command in (
            (SEND_BUTTON, "Send a file...", lambda: self._send(False)),
            (SEND_FOLDER_BUTTON, "Send a folder...", lambda: self._send(True)),
            (REVOKE_BUTTON, "Stop file sharing", self.hooks.files_revoke),
        ):
            tk.Button(win, text=text, command=command).place(x=x, y=y, width=bw, height=bh)
        self.status = tk.Label(win, text="No transfers yet.", anchor="w", fg="#555555")
        self.status.place(x=10, y=70, width=w - 20, height=24)
        self.list_frame = tk.Frame(win)
        self.list_frame.place(x=0, y=ROW_TOP, width=w, height=h - ROW_TOP)
        win.protocol("WM_DELETE_WINDOW", win.iconify)
        self.window = win

    def _send(self, folder: bool) -> None:
        paths = self.pick_folder() if folder else self.pick_files()
        if paths:
            self.hooks.files_send(paths)

    def notice(self, text: str) -> None:
        if self.status is not None:
            self.status.configure(text=text)

    def transfers(self, views: list[TransferView]) -> None:
        if self.list_frame is None:
            return
        from tkinter import ttk

        tk = self.tk
        shown = views[:MAX_ROWS]
        keys = [v.key for v in shown]
        for key in list(self.rows):
            if key not in keys:
                self.rows.pop(key)[0].destroy()
        width = FILES_SIZE[0]
        for index, view in enumerate(shown):
            row = self.rows.get(view.key)
            if row is None:
                frame = tk.Frame(self.list_frame)
                arrow = "\u2193" if view.direction == "in" else "\u2191"
                tk.Label(frame, text=f"{arrow} {view.name}", anchor="w").place(x=10, y=4, width=170, height=24)
                bar = ttk.Progressbar(frame, maximum=max(view.size, 1))
                bar.place(x=184, y=8, width=120, height=16)
                text = tk.Label(frame, anchor="w", font=("DejaVu Sans", 8))
                text.place(x=308, y=4, width=ROW_PAUSE_BUTTON[0] - 312, height=24)
                key = view.key
                pause = tk.Button(frame, text="Pause")
                pause.place(x=ROW_PAUSE_BUTTON[0], y=ROW_PAUSE_BUTTON[1], width=ROW_PAUSE_BUTTON[2], height=ROW_PAUSE_BUTTON[3])
                cancel = tk.Button(frame, text="Cancel", command=lambda k=key: self.hooks.files_cancel(k))
                cancel.place(x=ROW_CANCEL_BUTTON[0], y=ROW_CANCEL_BUTTON[1], width=ROW_CANCEL_BUTTON[2],
                             height=ROW_CANCEL_BUTTON[3])
                row = (frame, bar, text, pause, cancel)
                self.rows[view.key] = row
            row[0].place(x=0, y=index * ROW_HEIGHT, width=width, height=ROW_HEIGHT)
            _, bar, text, pause, cancel = row
            bar.configure(value=view.done)
            text.configure(text=transfer_line(view))
            running = view.phase in ("sending", "receiving", "paused", "offered") and view.id
            if running:
                paused = view.phase == "paused"
                pause.configure(text="Resume" if paused else "Pause", state="normal",
                                command=lambda i=view.id, p=paused: self.hooks.files_pause(i, not p))
            else:
                pause.configure(state="disabled")
            cancel.configure(state="normal" if view.phase not in ("done", "failed", "cancelled", "refused") else "disabled")
        self.status.configure(text=f"{len(views)} transfer(s)" if views else "No transfers yet.")
