"""A 640x360 animation for the video mode tests: a real X program (Tk)
repainting every 64x60 cell of its window with a new colour, plus a moving
bar and a frame counter, at ``FPS`` frames a second, until the file named on
the command line exists; then it paints one last, fixed picture and stays.

    python _animation.py STOP_FILE [X Y]
"""

from __future__ import annotations

import os
import sys
import tkinter as tk

W, H, FPS = 640, 360, 30
COLS, ROWS = 10, 6
TITLE = "desklink-animation"


def colour(i: int, t: int) -> str:
    return f"#{(i * 37 + t * 11) % 256:02x}{(i * 91 + t * 7) % 256:02x}{(i * 53 + t * 13) % 256:02x}"


def main() -> None:
    stop = sys.argv[1]
    x, y = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (200, 120)
    root = tk.Tk()
    root.title(TITLE)
    root.geometry(f"{W}x{H}+{x}+{y}")
    canvas = tk.Canvas(root, width=W, height=H, highlightthickness=0, borderwidth=0)
    canvas.place(x=0, y=0)
    cw, ch = W // COLS, H // ROWS
    cells = [canvas.create_rectangle(c * cw, r * ch, (c + 1) * cw, (r + 1) * ch, width=0)
             for r in range(ROWS) for c in range(COLS)]
    bar = canvas.create_rectangle(0, 0, 40, H, fill="#ffffff", width=0)
    label = canvas.create_text(W // 2, H // 2, fill="#000000", font=("DejaVu Sans", 28))

    def paint(t: int) -> None:
        for i, cell in enumerate(cells):
            canvas.itemconfigure(cell, fill=colour(i, t))
        canvas.coords(bar, (t * 9) % W, 0, (t * 9) % W + 40, H)
        canvas.itemconfigure(label, text=f"frame {t}")

    def tick(t: int) -> None:
        if os.path.exists(stop):
            paint(100_000)  # the settled picture
            return
        paint(t)
        root.after(1000 // FPS, tick, t + 1)

    tick(0)
    root.mainloop()


if __name__ == "__main__":
    main()
