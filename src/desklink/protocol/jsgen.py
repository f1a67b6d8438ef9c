"""The front end's copy of the wire constants, generated from this package.

The browser code (``web/``) needs the close codes, error codes, limits and
the binary screen and file formats' numbers. Rather than copy them by hand (copies
drift: the help box once handled a close code the server no longer sent),
:func:`render` writes them as one ES module, ``web/shared/wire.js``, and a
test fails whenever the committed file differs from what the Python says.

Regenerate after changing a constant::

    python -m desklink.protocol.jsgen        # writes web/shared/wire.js
    python -m desklink.protocol.jsgen --check  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from desklink.protocol import codes, files, limits, screen
from desklink.protocol.framing import MORE, Channel

WIRE_JS = Path(__file__).resolve().parent.parent / "web" / "shared" / "wire.js"

#: Limits the browser checks before sending (or when parsing what it gets).
BROWSER_LIMITS = (
    "MAX_MESSAGE_BYTES",
    "MAX_QUESTION_CHARS",
    "MAX_CHAT_CHARS",
    "MAX_NAME_CHARS",
    "MAX_EMAIL_CHARS",
    "MAX_CLIENT_CHARS",
    "MAX_CONTEXT_FIELDS",
    "MAX_CONTEXT_KEY_CHARS",
    "MAX_CONTEXT_VALUE_CHARS",
    "MAX_CONTEXT_URL_CHARS",
    "MAX_CONTEXT_LANGUAGES",
    "MAX_NOTE_CHARS",
    "MAX_RATING_COMMENT_CHARS",
    "MAX_CLIENT_ID_CHARS",
    "MAX_CLIPBOARD_CHARS",
    "MAX_INPUT_EVENTS_PER_MESSAGE",
    "MAX_STROKE_POINTS",
    "MAX_STROKES",
    "MAX_ID_CHARS",
    "MAX_COORD",
    "MAX_WHEEL_NOTCHES",
    "MAX_KEY_CHARS",
    "MAX_TEXT_EVENT_CHARS",
    "MAX_STROKE_WIDTH",
    "MAX_FADE_S",
    "MAX_SCREEN_SIDE",
    "SCREEN_WINDOW",
    "BROWSER_SHARE_MAX_CHUNK_BYTES",
    "BROWSER_SHARE_CHUNKS_PER_S",
    "FILE_CHUNK_BYTES",
    "FILE_WINDOW_BYTES",
    "MAX_FILE_NAME_CHARS",
    "MAX_FILE_MIME_CHARS",
    "MAX_FILE_BYTES",
    "MAX_FILE_REASON_CHARS",
)


def _close_names() -> dict[str, int]:
    return {name[len("CLOSE_") :]: value for name, value in vars(codes).items() if name.startswith("CLOSE_") and isinstance(value, int)}


def _frozen(value: object) -> str:
    return f"Object.freeze({json.dumps(value, indent=2, ensure_ascii=False)})"


def render() -> str:
    """The text of ``web/shared/wire.js``."""
    limit_values = {name: getattr(limits, name) for name in BROWSER_LIMITS}
    screen_values = {
        "CHANNEL_SCREEN": int(Channel.SCREEN),
        "CHANNEL_MORE": MORE,
        "KIND_FRAME": screen.KIND_FRAME,
        "KIND_CURSOR": screen.KIND_CURSOR,
        "KIND_POINTER": screen.KIND_POINTER,
        "KIND_VIDEO": screen.KIND_VIDEO,
        "FLAG_KEY": screen.FLAG_KEY,
        "FLAG_REFINE": screen.FLAG_REFINE,
        "MAX_RECTS": screen.MAX_RECTS,
        "MAX_CURSOR_SIDE": screen.MAX_CURSOR_SIDE,
        "ENC": {e.name: int(e) for e in screen.Enc},
        "CODEC": {c.name: int(c) for c in screen.Codec},
    }
    file_values = {
        "CHANNEL_FILE": int(Channel.FILE),
        "KIND_DATA": files.KIND_DATA,
        "CHUNK_HEAD_BYTES": files.CHUNK_HEAD_BYTES,
        "FINAL": sorted(files.FINAL),
    }
    parts = [
        "// Generated from src/desklink/protocol by `python -m desklink.protocol.jsgen`.",
        "// Do not edit: change the Python and regenerate (a test checks this file).",
        "",
        "/** WebSocket close codes by name (protocol/codes.py). */",
        f"export const CLOSE = {_frozen(_close_names())};",
        "",
        "/** What each close code means. */",
        f"export const CLOSE_REASONS = {_frozen({str(k): v for k, v in codes.CLOSE_CODES.items()})};",
        "",
        "/** Error codes in `error` messages and HTTP error bodies. */",
        f"export const ERROR_CODES = {_frozen(list(codes.ERROR_CODES))};",
        "",
        "/** Limits of the wire protocol (protocol/limits.py; the server's settings default to these). */",
        f"export const LIMITS = {_frozen(limit_values)};",
        "",
        "/** The binary screen format (protocol/screen.py, protocol/framing.py). */",
        f"export const SCREEN = {_frozen(screen_values)};",
        "",
        "/** The binary file chunk format and the final transfer states (protocol/files.py). */",
        f"export const FILE = {_frozen(file_values)};",
        "",
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        current = WIRE_JS.read_text(encoding="utf-8") if WIRE_JS.exists() else ""
        if current != text:
            print(f"{WIRE_JS} is stale: run python -m desklink.protocol.jsgen", file=sys.stderr)
            return 1
        return 0
    WIRE_JS.write_text(text, encoding="utf-8")
    print(f"wrote {WIRE_JS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
