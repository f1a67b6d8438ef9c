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
#: File control messages (``file.offer``, ``file.end``, ``file.resume``,
#: ``file.pause``, ``file.cancel``) per connection per minute, their own
#: budget apart from chat: a folder goes as one offer and one end per file.
FILE_MESSAGES_PER_MINUTE = 600

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

#: The agent sends a ``ping`` at least this often, seconds, and the server
#: closes an agent link it has not heard from for AGENT_LINK_TIMEOUT_S: a
#: link that dies without a close from the network (a laptop lid, a pulled
#: cable) is noticed within a few seconds, not after TCP's minutes. The rep
#: then sees that the agent is gone and how long the relay still waits.
AGENT_PING_INTERVAL_S = 2.0
AGENT_LINK_TIMEOUT_S = 6.0

#: Screen frames an agent may have unacknowledged, and the same window for
#: each viewer on the relay. Two keeps the link busy while one frame is being
#: decoded, and bounds lag to two frames.
SCREEN_WINDOW = 2

#: Largest video chunk (or fallback still frame) a visitor's browser may send
#: when it shares its screen, bytes. A 1080p key frame at the sender's
#: highest bitrate is about 150 KB, a fallback JPEG of 1080p about 400 KB;
#: past this the share is closed (a browser has no reason to send more).
BROWSER_SHARE_MAX_CHUNK_BYTES = 1024 * 1024
#: Chunks a sharing browser may send per second (burst of the same size).
#: The sender caps itself at 30 frames a second; twice that is misbehaviour
#: and closes the share.
BROWSER_SHARE_CHUNKS_PER_S = 60

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

#: Argon2id password hashes and checks one node runs at once (worker threads;
#: each takes ``argon2_memory_kib`` of memory and a core while it runs), and
#: how many more may wait for a thread. Past both, a login is answered at once
#: with HTTP 429 ``too_many_requests`` and ``Retry-After`` of
#: ARGON2_BUSY_RETRY_AFTER_S, instead of queueing without bound: a login flood
#: costs the node at most this many cores and never stalls its event loop.
ARGON2_MAX_CONCURRENT = 2
ARGON2_MAX_WAITING = 64
ARGON2_BUSY_RETRY_AFTER_S = 2.0

#: A password login that still needs its second factor (or its enrolment)
#: answers a ticket instead of a cookie; the ticket finishes the login once,
#: on any node, within this many seconds (long enough to find the phone,
#: short enough that a leaked ticket is soon worthless).
SECOND_FACTOR_TICKET_TTL_S = 300.0

# Field bounds of the wire messages (protocol/messages.py). They are not
# settings: they describe the format, and the front end's copy is generated
# from them (web/shared/wire.js).

#: Ids a server or client hands out (requests, sessions, strokes), characters.
MAX_ID_CHARS = 64
#: A visitor token as sent (the server makes 32-character ones).
MIN_TOKEN_CHARS, MAX_TOKEN_CHARS = 16, 128
#: An agent's hello: join code as typed, version and platform strings.
MAX_JOIN_CODE_CHARS = 32
MAX_VERSION_CHARS = 32
MAX_PLATFORM_CHARS = 64
#: Monitors an agent may offer; the largest screen side (8K and a bit).
MAX_MONITORS = 64
MAX_SCREEN_SIDE = 8192
#: Input coordinates (pixels of the shared monitor), wheel notches in one
#: event, key names and codes (DOM ``key``/``code``), committed text in one event.
MAX_COORD = 16383
MAX_WHEEL_NOTCHES = 100
MAX_KEY_CHARS = 32
MAX_TEXT_EVENT_CHARS = 256
#: Annotation stroke width in pixels and how long a stroke may take to fade.
MAX_STROKE_WIDTH = 64
MAX_FADE_S = 3600.0
#: A latency report larger than ten minutes is nonsense.
MAX_RTT_MS = 600_000.0
#: Seconds a new connection (or a kept-alive one starting its next request)
#: has to send complete request headers. A browser sends them in one packet;
#: without this bound a client that trickles a header a minute holds a socket
#: and a file descriptor forever (uvicorn has no such timeout of its own).
HEADER_TIMEOUT_S = 10.0

#: Seconds a draining node (SIGTERM) gives its sockets to go after it has
#: told them to reconnect elsewhere (close code 4503), and then again gives
#: requests still in flight, before it stops. Clients reconnect within a
#: second; the bound keeps a stuck peer from holding a deploy, and stays
#: well inside a process manager's stop timeout (systemd's 90 s, compose's 10 s
#: is raised in deploy/compose.yaml).
DRAIN_TIMEOUT_S = 10.0

#: Seconds a draining node goes on answering (``/readyz`` 503, WebSocket
#: handshakes 503) after SIGTERM, even with no socket left, before it stops
#: listening: long enough for a balancer's health checks to take it out
#: (HAProxy in deploy/: a probe a second, out after two failures), so no new
#: client meets a closed port. Cut short by ``DRAIN_TIMEOUT_S``.
DRAIN_NOTICE_S = 2.0

#: Connections one client address may hold open at once (HTTP and WebSocket
#: together). A browser opens about six per server plus its sockets; this
#: leaves room for an office behind one NAT address while keeping a single
#: client far from the process's open-file limit. Connections from a trusted
#: proxy are not counted: the proxy bounds its own clients.
MAX_CONNECTIONS_PER_IP = 256

#: HTTP API requests (``/api/...``, ``/metrics`` and WebSocket handshakes)
#: one client address may make per minute, and requests one logged-in account
#: may make per minute on routes that need a login. Page and static-file
#: requests have their own, larger budget per address: one page load fetches
#: dozens of modules. Each budget may be spent up to ``HTTP_BURST_S`` seconds
#: ahead (a token bucket of that many seconds' worth). A console in normal
#: use makes a few API calls a minute; the admin center driven as fast as a
#: browser test can click makes under 20 in ten seconds, a sixth of the burst.
API_REQUESTS_PER_MINUTE_PER_IP = 600
API_REQUESTS_PER_MINUTE_PER_ACCOUNT = 600
PAGE_REQUESTS_PER_MINUTE_PER_IP = 1200
HTTP_BURST_S = 10.0

#: A request past its budget is answered (429) after this many seconds, not
#: at once. Refusing costs the server a few hundred microseconds a request,
#: so a client that fires as fast as it is answered would still load the
#: event loop; held back, it makes at most one request per connection per
#: delay (and its connections are bounded by MAX_CONNECTIONS_PER_IP). An
#: honest client is told to wait at least a second anyway (Retry-After).
REFUSAL_DELAY_S = 1.0

#: Client addresses and accounts whose request budgets one node remembers at
#: once (least recently seen forgotten first, which only hands them a fresh
#: budget): bounds the memory an attacker rotating addresses can make us use.
MAX_TRACKED_CLIENTS = 65_536

#: The largest ``offset`` a list endpoint accepts (any bigger page is empty).
MAX_LIST_OFFSET = 1_000_000_000

#: ``/readyz`` reports the node not ready when the file system holding the
#: data directory (and a SQLite database) has less free space than this, in
#: bytes: a write that runs out of space fails, so the load balancer should
#: send new work elsewhere before it does.
MIN_FREE_DISK_BYTES = 64 * 1024 * 1024


# Requests, presence and accounts (the server's settings default to these).

#: Requests one address may have waiting or in chat at once: a person asks
#: one or two questions at a time; a script asking hundreds is refused
#: without storing anything.
MAX_OPEN_REQUESTS_PER_IP = 3
#: A request nobody accepts expires after this many seconds (half an hour:
#: longer than any queue should be, short enough that a visitor is told).
REQUEST_EXPIRY_S = 1800.0
#: A waiting visitor whose help box has been gone this long is abandoned
#: (long enough to survive a reload or a flaky connection).
VISITOR_GRACE_S = 120.0
#: How often the sweeper looks for expired and abandoned requests.
SWEEP_INTERVAL_S = 5.0
#: A visitor may rate a session this long after it ended (a day: the help
#: box offers it at the end, and a visitor who comes back to the open page
#: later may still send it; a week-old rating says little about the session).
RATING_WINDOW_S = 24 * 3600.0
#: Longest comment a visitor may send with a rating, in characters (a few
#: sentences; a complaint longer than this belongs in a new request).
MAX_RATING_COMMENT_CHARS = 1000

# The daily summary e-mail (server/daily_summary.py).

#: How long one conversation with the SMTP server may take, in seconds
#: (connect, STARTTLS, login, send): a mail server that hangs must not hold
#: the summary's thread for ever.
SMTP_TIMEOUT_S = 30.0
#: After a failed send, the summary is tried again this much later, seconds
#: (a mail server restarting or a network blip passes within minutes).
DAILY_SUMMARY_RETRY_S = 300.0
#: Sends tried per day before giving up (with the default retry, an hour
#: and a half): the next day's summary is not held up by a mail server that
#: stays down, and the log says so.
DAILY_SUMMARY_MAX_TRIES = 18
#: How often every node reads new access changes (a user's role, queues or
#: status) and re-checks that user's open sockets: a change reaches every
#: socket on every node within this, whoever made it.
ACCESS_POLL_INTERVAL_S = 0.5
#: A rep's presence expires this long after the last heartbeat (heartbeats
#: come every third of it), so a console that died is not counted for long.
PRESENCE_TTL_S = 30.0
#: The presence log (issue 13's online time): an online console renews its
#: stretch's ``seen_at`` at most this often, so a node that dies loses at most
#: this much of a rep's online time.
PRESENCE_LOG_RENEW_S = 60.0
#: The sweeper closes an open stretch (at its ``seen_at``) once ``seen_at`` is
#: older than this: its node died. Must exceed ``PRESENCE_LOG_RENEW_S``.
PRESENCE_LOG_STALE_S = 300.0
#: Failed logins allowed per account and per address within the window;
#: past them each attempt waits a backoff that doubles from the base.
LOGIN_ATTEMPTS_PER_ACCOUNT = 5
LOGIN_ATTEMPTS_PER_IP = 20
LOGIN_WINDOW_S = 900.0
LOGIN_BACKOFF_BASE_S = 2.0
#: A console login lasts a working day.
AUTH_SESSION_TTL_S = 12 * 3600.0
#: Argon2id cost for new hashes: RFC 9106's second recommended option
#: (3 passes over 64 MiB).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 65536

# ------------------------------------------------------- agent downloads
#: Most files the download page lists from the agent folder (``agent_dir``):
#: a folder a provider filled with hundreds of old builds is listed in part
#: (newest names first are not guessed: the listing is sorted by name), and
#: the page and the hashing at start stay bounded.
MAX_AGENT_FILES = 32
#: Largest agent file the server hashes and serves, bytes: a one-file agent
#: is ~40 MB; anything past this in the folder is no agent of ours.
MAX_AGENT_FILE_BYTES = 512 * 1024 * 1024

# ------------------------------------------------------- the visitor's system
#: Longest summary of the visitor's system and browser the help box sends
#: with a request ("Windows 11 · Chrome 131"), shown to the rep so they know
#: which way of sharing to offer. A summary, never the whole User-Agent.
MAX_CLIENT_CHARS = 60

# ------------------------------------------------------ the visitor's context
#: What the help box sends with a request besides the summary above (page,
#: referrer, languages, time zone, the provider's fields; protocol/
#: visitor_context.py checks it). Each is a setting (config.py).
#: Fields the provider's page may pass to the help box, per request.
MAX_CONTEXT_FIELDS = 20
#: Longest field name: letters, digits, ``_``, ``-`` and ``.`` only.
MAX_CONTEXT_KEY_CHARS = 40
#: Longest field value (text, shown as text).
MAX_CONTEXT_VALUE_CHARS = 500
#: Longest page or referrer URL (http or https only).
MAX_CONTEXT_URL_CHARS = 2000
#: Browser languages sent (``navigator.languages``, most preferred first).
MAX_CONTEXT_LANGUAGES = 8

# Branding per queue (issue 14): protocol/branding.py checks it, each limit
# is a setting (config.py).
#: Pre-chat fields per queue: a short form before the question, not a survey.
MAX_PRECHAT_FIELDS = 8
#: Longest pre-chat field label or select option: a few words on one line.
MAX_PRECHAT_LABEL_CHARS = 80
#: Options of one select field: more belongs on the provider's own page.
MAX_PRECHAT_OPTIONS = 20
#: Longest answer to one pre-chat field (text, shown to the rep as text).
MAX_PRECHAT_ANSWER_CHARS = 500
#: Longest help box title: it must fit the header's one line.
MAX_BRAND_TITLE_CHARS = 80
#: Longest welcome text above the request form.
MAX_WELCOME_CHARS = 1000
#: Largest logo (PNG, JPEG or WebP): the header shows it 32 px high, and
#: every visitor's help box loads it (cached by its content hash).
MAX_LOGO_BYTES = 256 * 1024


# --------------------------------------------------------------------------
# files (protocol/files.py)

#: Largest data in one file chunk, bytes. Big enough that per-message costs
#: vanish at loopback speed, small enough that a screen frame waits behind
#: at most one chunk on the wire.
FILE_CHUNK_BYTES = 256 * 1024
#: Credit window of a file leg, bytes: the receiver lets the sender have
#: this much unacknowledged. Four chunks keep a link busy without queueing
#: megabytes ahead of the screen.
FILE_WINDOW_BYTES = 1024 * 1024
#: Longest file name (with its relative folder path), characters.
MAX_FILE_NAME_CHARS = 512
#: Longest media type a sender may declare, characters.
MAX_FILE_MIME_CHARS = 128
#: Largest file, bytes (a queue's policy may set a lower one).
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024
#: Most files one support session may carry (a queue's policy may set fewer).
MAX_FILES_PER_SESSION = 200
#: Transfers one sender may have unfinished at once.
MAX_ACTIVE_TRANSFERS = 8
#: Files in transit are removed from the server this long after they were
#: offered, seconds.
FILE_RETENTION_S = 7 * 24 * 3600.0
#: A recording segment closes at least this often, seconds: what a crash
#: (kill -9) of the server may lose of a recording.
RECORDING_SEGMENT_S = 2.0
#: Recordings are removed this many days after they started.
RECORDING_RETENTION_DAYS = 90.0
#: Closed segments one node may hold in memory waiting for the disk, bytes;
#: past it the recording fails (the relay never waits for the disk).
RECORDING_MAX_PENDING_BYTES = 64 * 1024 * 1024
#: An unfinished transfer whose bytes stopped this long is cancelled by the sweeper, seconds.
FILE_IDLE_S = 3600.0
#: Longest reason text in file.cancel / file.failed, characters.
MAX_FILE_REASON_CHARS = 200


# Reports (issue 13; server/api_reports.py).

#: The longest range one report may cover, days (a year). The setting
#: ``report_max_days`` may lower it; a higher one is held to this.
REPORT_MAX_DAYS = 366
#: Unanswered requests per page of ``/api/reports/unanswered``, at most
#: (the default page is 100 or this, whichever is smaller).
UNANSWERED_PAGE = 500
#: Rows of ``/api/reports/unanswered.csv``, at most (a narrower range or
#: ``offset`` reaches the rest).
UNANSWERED_CSV_ROWS = 10_000
# the live board (dispatch/board.py, server/ws_board.py)
#: A board sends at most one snapshot this often, seconds: news arriving
#: faster is coalesced into the next one.
BOARD_MIN_INTERVAL_S = 0.2
#: A board sends a fresh snapshot at least this often, seconds, news or not
#: (presence expiring is nobody's news).
BOARD_REFRESH_S = 5.0
#: Waiting visitors a snapshot lists at most (oldest first; the queue
#: lengths still count them all).
BOARD_MAX_WAITING = 200
#: Active sessions a snapshot lists at most (oldest first; the total is given).
BOARD_MAX_SESSIONS = 500
#: Board sockets one user may hold open on one node.
BOARD_SOCKETS_PER_USER = 4
# canned replies and internal notes (issue 14; store/_canned.py, server/api_canned.py)
#: Canned replies one owner (a queue, or one rep's own) may hold: the
#: console's ``/`` list is read whole when a console opens.
CANNED_PER_OWNER = 200
#: Longest shortcut of a canned reply (letters, digits, ``-`` and ``_``).
CANNED_NAME_CHARS = 32
#: Longest title of a canned reply.
CANNED_TITLE_CHARS = 120
#: Longest body of a canned reply: what it inserts must still fit one chat
#: message after ``{visitor_name}`` and ``{rep_name}`` are filled in.
CANNED_BODY_CHARS = 2000
#: Longest internal note on a session, and most notes one session may carry.
SESSION_NOTE_CHARS = 4000
NOTES_PER_SESSION = 200
# transfer and invite (issue 14; dispatch/handoff.py)
#: A transfer or invitation nobody accepted within this long lapses, seconds:
#: the session stays with the rep who offered it, and they are told.
TRANSFER_TIMEOUT_S = 60.0
#: Chat lines an offered transfer's alert carries at most (the newest).
TRANSFER_HISTORY_LINES = 50
# offline messages and business hours (issue 14; hours.py, server/api_offline.py)
#: Longest offline message a visitor may leave: a question with its
#: details, not a document (files are for sessions).
OFFLINE_MESSAGE_CHARS = 4000
#: Offline messages one client address may leave per window: each one sends
#: an e-mail (the visitor's copy) to an address the sender chose, so the
#: form must not become a way to mail strangers in bulk.
OFFLINE_MESSAGES_PER_IP = 5
OFFLINE_WINDOW_S = 3600.0
#: Longest answer a rep may send to an offline message.
OFFLINE_ANSWER_CHARS = 10_000
#: Unanswered offline messages one queue may hold; past it the help box
#: says the desk cannot take more messages now (the store must not grow
#: without bound while nobody answers).
OFFLINE_PENDING_PER_QUEUE = 1000
#: Offline messages one console list shows at most (newest first).
OFFLINE_PAGE = 100
#: Opening intervals per weekday, and holidays, one queue's hours may hold.
HOURS_INTERVALS_PER_DAY = 6
HOURS_HOLIDAYS = 366
# operations: logs and metrics (issue 15; server/logs.py, server/metrics_port.py)
#: Longest ``X-Request-ID`` a node takes from a client or proxy for its logs
#: (a UUID is 36 characters, nginx's $request_id 32); a longer or unplain
#: one is replaced, so a client cannot write into the log.
MAX_REQUEST_ID_CHARS = 64
#: Longest request head the loopback metrics listener reads: a scraper's is
#: a few hundred bytes, and the listener must not buffer what it is sent.
METRICS_MAX_HEAD_BYTES = 8192
#: Longest the metrics listener waits for a request head, seconds (a
#: connection that sends nothing is closed, not held).
METRICS_HEAD_TIMEOUT_S = 5.0

#: How long ``/readyz`` reports the store (the database, shared by every
#: node) failing as ``degraded`` before it answers 503, seconds: a node
#: whose own pool stays broken leaves the balancer, a blip or a database
#: failover does not take every node out at once (server/health.py).
READY_STORE_GRACE_S = 30.0

# relay nodes (issue 15; relay/nodes.py, server/relay_nodes.py, protocol/relay_token.py)
#: Screen sessions one relay node takes; a full node is not chosen for new
#: ones. The aim for one relay process is 1000 sessions at 180 kB/s each
#: (docs/performance.md); set it lower on a smaller machine.
RELAY_CAPACITY = 1000
#: How often a relay node renews its announcement in the broker, seconds.
RELAY_HEARTBEAT_S = 2.0
#: An announcement not renewed for this long is a dead node's: it is no
#: longer chosen (three missed heartbeats, so one slow beat is not death).
RELAY_STALE_S = 6.0
#: How long a relay token admits its holder, seconds. A token is not single
#: use (the agent reconnects with it), so this bounds what a leaked one is
#: worth; a session longer than this needs a fresh token to reconnect.
RELAY_TOKEN_TTL_S = 3600.0
#: How long a session stays with the relay node first chosen for it (a
#: broker claim every web node reads): longer than any screen session, so
#: the agent and its viewers never land on two nodes.
RELAY_OWNER_TTL_S = 86400.0
#: How long a session handed out to a relay node counts against it before
#: the node's own load shows it, seconds: the first socket (the console's
#: viewer opens at once) plus a heartbeat or two. Two escalations at the same
#: moment thus never both land on one node while another is emptier; a
#: session counted twice for this long only spreads the load further.
RELAY_HANDOUT_HOLD_S = 10.0
#: Longest a web node waits for the choice lock before it chooses a relay
#: node without it, seconds (the lock is held for a few broker round trips;
#: it also expires after this, should its holder die).
RELAY_CHOICE_WAIT_S = 1.0
#: How long past its expiry an agent's (or a browser share's) relay token may
#: still be traded for a fresh ticket at a web node (``POST
#: /api/relay/ticket``), seconds: a client whose relay died, or whose token
#: ran out mid-session, asks again with the token it has. The session must
#: still be open; this bounds what an old, leaked token is worth.
RELAY_RENEW_S = 86400.0
