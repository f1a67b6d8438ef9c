"""Ask the visitor, once, for what the agent was not told: the join code (and
the server's address, when the agent's file name did not carry it).

A small Tk window when there is a display (:data:`JOIN_TITLE`), else two
questions on the terminal. Either way the answer is checked as a join code
(9 digits, spaces and dashes allowed) before the agent connects.
"""

from __future__ import annotations

import sys
from typing import Any

from desklink.errors import ProtocolError
from desklink.protocol import joincode

#: The window's title (the X tests find it by this).
JOIN_TITLE = "DeskLink - join code"
#: How often the visitor may mistype the code on the terminal before giving up.
TERMINAL_TRIES = 3


def _valid(code: str) -> str | None:
    try:
        return joincode.parse(code).digits
    except ProtocolError:
        return None


def ask_join_details(server: str, code: str, *, terminal: bool, stdin: Any = None, stdout: Any = None) -> tuple[str, str] | None:
    """(server, 9 digits), or None when the visitor gives up."""
    if not terminal:
        try:
            return _ask_window(server, code)
        except Exception:  # no display, or Tk missing: ask on the terminal
            pass
    return _ask_terminal(server, code, stdin or sys.stdin, stdout or sys.stdout)


def _ask_terminal(server: str, code: str, stdin: Any, stdout: Any) -> tuple[str, str] | None:
    def ask(question: str) -> str | None:
        stdout.write(question)
        stdout.flush()
        line = stdin.readline()
        return line.strip() if line else None

    while not server:
        answer = ask("The DeskLink server's address (from the chat, e.g. https://support.example.com): ")
        if answer is None:
            return None
        server = answer
    digits = _valid(code) if code else None
    for _ in range(TERMINAL_TRIES):
        if digits:
            return server, digits
        answer = ask("The 9-digit join code shown in the chat: ")
        if answer is None:
            return None
        digits = _valid(answer)
        if not digits:
            stdout.write("That is not a join code: it has 9 digits, like 123 456 789.\n")
    return (server, digits) if digits else None


def _ask_window(server: str, code: str) -> tuple[str, str] | None:
    import tkinter as tk

    root = tk.Tk()
    root.title(JOIN_TITLE)
    root.attributes("-topmost", True)
    result: dict[str, tuple[str, str]] = {}
    frame = tk.Frame(root, padx=16, pady=14)
    frame.pack(fill="both", expand=True)
    tk.Label(frame, text="Enter the code shown in the chat window.", font=("TkDefaultFont", 11, "bold")).grid(
        row=0, column=0, columnspan=2, sticky="w", pady=(0, 8)
    )
    server_var = tk.StringVar(value=server)
    code_var = tk.StringVar(value=code)
    row = 1
    if not server:
        tk.Label(frame, text="Server address").grid(row=row, column=0, sticky="w")
        tk.Entry(frame, textvariable=server_var, width=34).grid(row=row, column=1, pady=3)
        row += 1
    tk.Label(frame, text="Join code").grid(row=row, column=0, sticky="w")
    entry = tk.Entry(frame, textvariable=code_var, width=34)
    entry.grid(row=row, column=1, pady=3)
    problem = tk.Label(frame, text="", fg="#b42318")
    problem.grid(row=row + 1, column=0, columnspan=2, sticky="w")

    def ok(*_: object) -> None:
        digits = _valid(code_var.get())
        where = server_var.get().strip()
        if not where:
            problem.config(text="Enter the server's address from the chat.")
        elif not digits:
            problem.config(text="A join code has 9 digits, like 123 456 789.")
        else:
            result["details"] = (where, digits)
            root.destroy()

    buttons = tk.Frame(frame)
    buttons.grid(row=row + 2, column=0, columnspan=2, sticky="e", pady=(8, 0))
    tk.Button(buttons, text="Cancel", width=10, command=root.destroy).pack(side="right", padx=(6, 0))
    tk.Button(buttons, text="Connect", width=10, command=ok).pack(side="right")
    root.bind("<Return>", ok)
    entry.focus_set()
    root.mainloop()
    return result.get("details")
