"""Named limits of the wire protocol.

Every size, window, rate and timeout that the protocol enforces is named here
with the reason it exists. :class:`desklink.config.Settings` copies these as
defaults, so each one is also a setting an operator can change.
"""

from __future__ import annotations

#: Largest WebSocket message a peer may send, in bytes. Chat and control
#: messages are small; this stops a peer from making the server buffer
#: megabytes before the parser even sees the message.
MAX_MESSAGE_BYTES = 64 * 1024

#: Longest question a visitor may submit, in characters.
MAX_QUESTION_CHARS = 2000

#: Longest chat message, in characters.
MAX_CHAT_CHARS = 4000

#: Longest visitor display name and e-mail address, in characters.
MAX_NAME_CHARS = 80
MAX_EMAIL_CHARS = 254

#: Longest end-of-session note a rep may write, in characters.
MAX_NOTE_CHARS = 4000

#: Messages a single connection may send per minute (token bucket, with a
#: burst of the same size). Past it the sender gets ``rate_limited`` and the
#: message is dropped; the connection stays open.
MESSAGES_PER_MINUTE = 120

#: Client message ids are echoed back; they must stay short.
MAX_CLIENT_ID_CHARS = 64

#: How many chat messages a resume replays at most; older ones stay in the
#: transcript download.
MAX_RESUME_BACKLOG = 1000

#: Outbound queue bound per connection and priority class (messages). A
#: consumer that falls this far behind is disconnected instead of making the
#: server hold an unbounded backlog for it.
MAX_OUTBOX_MESSAGES = 1024

#: Largest binary screen message (one frame of rectangles), bytes. A full
#: 1080p key frame at high JPEG quality is about 0.5 MB, 4K about 2 MB. The
#: WebSocket server's own frame limit is the larger of this and
#: MAX_MESSAGE_BYTES; chat sockets enforce MAX_MESSAGE_BYTES themselves.
MAX_SCREEN_FRAME_BYTES = 4 * 1024 * 1024

#: A join code lives this long, seconds.
JOIN_CODE_TTL_S = 600.0
#: Wrong secrets for one slot, from all addresses together, before its code
#: is burned. High enough that burning every live code takes 100 000
#: guesses (each slot needs its own), low enough that one code falls to
#: guessing with odds of at most 1 in 10 000 (protocol/joincode.py works it out).
JOIN_CODE_MAX_TRIES = 100
#: Join attempts per address per minute (the agent's hello with a code).
JOIN_ATTEMPTS_PER_MINUTE = 10
#: Fresh codes the visitor's help box may get for one screen request of the
#: rep (a code that was burned, lost or expired); each is a fresh chance for
#: a guesser, so they are few.
JOIN_CODE_RENEWALS = 5

#: An agent that dropped may come back and resume (no new consent) within
#: this many seconds.
AGENT_GRACE_S = 60.0

#: Input events one ``input`` message may carry, and input events a viewer
#: may send per second (a fast typist and a dragged mouse stay far below).
MAX_INPUT_EVENTS_PER_MESSAGE = 64
MAX_INPUT_EVENTS_PER_S = 400

#: Local input from the visitor pauses remote input for this long, seconds.
LOCAL_INPUT_PAUSE_S = 0.5

#: Clipboard text crossing in one message, characters.
MAX_CLIPBOARD_CHARS = 16_000

#: Points in one annotation stroke, and strokes kept per session.
MAX_STROKE_POINTS = 2000
MAX_STROKES = 500
#: Annotation messages (strokes, undo, clear) each side of a screen session
#: may send per minute, with a burst of the same size: the rep's and the
#: visitor's budgets are separate, and apart from the chat budget.
ANNOTATIONS_PER_MINUTE = 600
