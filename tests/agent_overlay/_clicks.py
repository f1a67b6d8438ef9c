"""A plain Tk window that prints every button press it receives as
``click X Y`` (root coordinates) on stdout. Run as a script:
``python _clicks.py WIDTHxHEIGHT+X+Y``; prints ``ready`` once mapped."""

from __future__ import annotations

import sys
import tkinter as tk

TITLE = "overlay-click-recorder"


def main() -> None:
    root = tk.Tk()
    root.title(TITLE)
    root.geometry(sys.argv[1])
    root.configure(background="#f4f4f4")
    root.bind("<ButtonPress>", lambda e: print(f"click {e.x_root} {e.y_root} {e.num}", flush=True))
    root.after(200, lambda: print("ready", flush=True))
    root.mainloop()


if __name__ == "__main__":
    main()
