// Generated from src/desklink/protocol by `python -m desklink.protocol.jsgen`.
// Do not edit: change the Python and regenerate (a test checks this file).

/** WebSocket close codes by name (protocol/codes.py). */
export const CLOSE = Object.freeze({
  "NORMAL": 1000,
  "GOING_AWAY": 1001,
  "BAD_DATA": 1007,
  "POLICY": 1008,
  "TOO_BIG": 1009,
  "INTERNAL": 1011,
  "AUTH": 4001,
  "FORBIDDEN": 4003,
  "NOT_FOUND": 4004,
  "RELAY_TOKEN": 4005,
  "OTHER_RELAY": 4006,
  "ENDED": 4010,
  "SLOW": 4011,
  "LIMITED": 4029,
  "RECONNECT": 4503
});

/** What each close code means. */
export const CLOSE_REASONS = Object.freeze({
  "1000": "normal",
  "1001": "server going away",
  "1007": "malformed screen frame",
  "1008": "origin not allowed",
  "1009": "message too big",
  "1011": "internal error",
  "4001": "authentication required or failed",
  "4003": "forbidden",
  "4004": "unknown request or session",
  "4005": "relay token refused",
  "4006": "another relay node holds this session",
  "4010": "request or session ended",
  "4011": "consumer too slow",
  "4029": "too many join attempts",
  "4503": "node draining: reconnect now"
});

/** Error codes in `error` messages and HTTP error bodies. */
export const ERROR_CODES = Object.freeze([
  "bad_message",
  "bad_type",
  "too_large",
  "bad_state",
  "bad_prechat",
  "rate_limited",
  "too_many_requests",
  "login_limited",
  "too_many_files",
  "auth_required",
  "auth_failed",
  "forbidden",
  "not_found",
  "origin_denied",
  "csrf_failed",
  "conflict_taken",
  "conflict_closed",
  "conflict_exists",
  "conflict_desk_closed",
  "conflict_answered",
  "conflict_answering",
  "conflict_full",
  "internal",
  "unavailable",
  "storage_full",
  "storage_failed",
  "mail_unavailable",
  "mail_failed"
]);

/** Limits of the wire protocol (protocol/limits.py; the server's settings default to these). */
export const LIMITS = Object.freeze({
  "MAX_MESSAGE_BYTES": 65536,
  "MAX_QUESTION_CHARS": 2000,
  "MAX_CHAT_CHARS": 4000,
  "MAX_NAME_CHARS": 80,
  "MAX_EMAIL_CHARS": 254,
  "MAX_CLIENT_CHARS": 60,
  "MAX_CONTEXT_FIELDS": 20,
  "MAX_CONTEXT_KEY_CHARS": 40,
  "MAX_CONTEXT_VALUE_CHARS": 500,
  "MAX_CONTEXT_URL_CHARS": 2000,
  "MAX_CONTEXT_LANGUAGES": 8,
  "MAX_NOTE_CHARS": 4000,
  "MAX_RATING_COMMENT_CHARS": 1000,
  "MAX_CLIENT_ID_CHARS": 64,
  "MAX_CLIPBOARD_CHARS": 16000,
  "MAX_INPUT_EVENTS_PER_MESSAGE": 64,
  "MAX_STROKE_POINTS": 2000,
  "MAX_STROKES": 500,
  "MAX_ID_CHARS": 64,
  "MAX_COORD": 16383,
  "MAX_WHEEL_NOTCHES": 100,
  "MAX_KEY_CHARS": 32,
  "MAX_TEXT_EVENT_CHARS": 256,
  "MAX_STROKE_WIDTH": 64,
  "MAX_FADE_S": 3600.0,
  "MAX_SCREEN_SIDE": 8192,
  "SCREEN_WINDOW": 2,
  "BROWSER_SHARE_MAX_CHUNK_BYTES": 1048576,
  "BROWSER_SHARE_CHUNKS_PER_S": 60,
  "FILE_CHUNK_BYTES": 262144,
  "FILE_WINDOW_BYTES": 1048576,
  "MAX_FILE_NAME_CHARS": 512,
  "MAX_FILE_MIME_CHARS": 128,
  "MAX_FILE_BYTES": 2147483648,
  "MAX_FILE_REASON_CHARS": 200
});

/** The binary screen format (protocol/screen.py, protocol/framing.py). */
export const SCREEN = Object.freeze({
  "CHANNEL_SCREEN": 2,
  "CHANNEL_MORE": 128,
  "KIND_FRAME": 1,
  "KIND_CURSOR": 2,
  "KIND_POINTER": 3,
  "KIND_VIDEO": 4,
  "FLAG_KEY": 1,
  "FLAG_REFINE": 2,
  "MAX_RECTS": 4096,
  "MAX_CURSOR_SIDE": 256,
  "ENC": {
    "JPEG": 0,
    "COPY": 1,
    "FILL": 2,
    "PNG": 3,
    "PALETTE": 4,
    "H264": 5
  },
  "CODEC": {
    "H264": 1,
    "VP8": 2,
    "VP9": 3,
    "AV1": 4
  }
});

/** The binary file chunk format and the final transfer states (protocol/files.py). */
export const FILE = Object.freeze({
  "CHANNEL_FILE": 3,
  "KIND_DATA": 1,
  "CHUNK_HEAD_BYTES": 21,
  "FINAL": [
    "cancelled",
    "delivered",
    "expired",
    "failed",
    "refused"
  ]
});
