"""The session timeline's vocabulary: every kind of event and every kind of
actor, as closed sets.

Events are what a support session leaves behind besides its chat: the
dispatcher logs the request's lifecycle, the relay logs what happened to the
screen (privileges asked, granted, refused, revoked; sharing started and
stopped; watchers; clipboard crossings; annotations); file transfers are logged by the server's transfer
hub. Reports group by these kinds and
actors, and the admin center words them, so nothing outside these sets is
ever stored (:func:`check_kind` guards the store).

An actor is *who* in words a report can group by; when the actor is a user,
the event also carries the user's id (``actor_id``).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

EventKind = Literal[
    # the request and the session (dispatch/)
    "submitted",
    "accepted",
    "abandoned",
    "expired",
    "ended",
    "wrapped_up",
    # screen sharing (dispatch/ and relay/)
    "screen_requested",
    "screen_code_renewed",
    "agent_joined",
    "agent_resumed",
    "agent_lost",
    "privilege_asked",
    "privilege_granted",
    "privilege_refused",
    "privilege_revoked",
    "privilege_released",
    "sharing_started",
    "sharing_stopped",
    "watcher_joined",
    "watcher_left",
    "clipboard_crossed",
    # recording (relay/): data {policy} on start, {by} on stop, {error} on failure
    "recording_started",
    "recording_stopped",
    "recording_failed",
    # annotations (relay/): one per finished stroke, undo or clear, never per
    # point; data {op: stroke|undo|clear, tool, side: rep|visitor}
    "annotated",
    # files (server/transfers.py): data {id, direction, name, size, sha256,
    # via, to, reason} as far as known; ``direction`` is ``to_visitor`` or
    # ``from_visitor``
    "file_offered",
    "file_asked",
    "file_transferred",
    "file_delivered",
    "file_refused",
    "file_cancelled",
    "file_failed",
    # the manager's half (issue 13): the visitor's rating, data {rating,
    # comment}; a supervisor's whisper to the rep (never shown to the
    # visitor), data {text}; a supervisor joining the chat, data {name}; a
    # session taken over, data {from_rep_id, from_name, to_name}
    "rated",
    "whispered",
    "joined_chat",
    "taken_over",
    # transfer and invite (issue 14, dispatch/handoff.py): data {id, to_rep_id
    # or to_queue_id, to_name, note} on the offer; {id, from_rep_id,
    # from_name, to_name} when a transfer is taken; {id, name} otherwise
    "transfer_offered",
    "transferred",
    "invited",
    "invite_accepted",
    "handoff_declined",
    "handoff_expired",
    "left_chat",
]

#: ``visitor``: the person helped (help box or agent). ``rep``: the user
#: holding the session. ``watcher``: another user (a supervisor or admin)
#: watching it. ``system``: DeskLink itself (expiry, a lost link, the end of
#: the session).
Actor = Literal["visitor", "rep", "watcher", "system"]

EVENT_KINDS: Final[tuple[EventKind, ...]] = get_args(EventKind)
ACTORS: Final[tuple[Actor, ...]] = get_args(Actor)


def check_kind(kind: str, actor: str) -> None:
    """Refuse an event kind or actor outside the vocabulary (a programming
    error, never a peer's input)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}")
