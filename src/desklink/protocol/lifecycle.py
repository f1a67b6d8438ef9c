"""The request and session lifecycles, as data.

Theory of operation
-------------------
A *request* is a visitor's question from submit until it is accepted,
abandoned or expired. It starts ``waiting``. The first rep to accept turns it
``accepted`` and a *session* opens; when the session ends the request becomes
``closed``. A waiting request the visitor cancels (or whose help box is gone
longer than the grace period) becomes ``abandoned``; one nobody accepts in time
becomes ``expired``. Those three end states are final.

Rules:

1. Only a ``waiting`` request can be accepted, and only once: the store makes
   the transition with a conditional update, so of many reps accepting at the
   same instant exactly one wins.
2. Chat is possible in ``waiting`` (the visitor may add detail before a rep
   joins) and in ``accepted``; nowhere else.
3. A session is ``open`` until ended by the rep (with a disposition), by the
   visitor (leave), or by the system; ending is idempotent.

The store, the dispatcher and the tests all read :data:`REQUEST_TRANSITIONS`
rather than restating these rules.
"""

from __future__ import annotations

from typing import Final, Literal

from desklink.errors import TransitionRefused

RequestStatus = Literal["waiting", "accepted", "closed", "abandoned", "expired"]
SessionStatus = Literal["open", "ended"]
RequestEvent = Literal["accept", "cancel", "expire", "abandon", "end"]

#: (state, event) -> next state. Anything not listed is refused.
REQUEST_TRANSITIONS: Final[dict[tuple[RequestStatus, RequestEvent], RequestStatus]] = {
    ("waiting", "accept"): "accepted",
    ("waiting", "cancel"): "abandoned",
    ("waiting", "abandon"): "abandoned",
    ("waiting", "expire"): "expired",
    ("accepted", "end"): "closed",
}

REQUEST_FINAL: Final[frozenset[RequestStatus]] = frozenset({"closed", "abandoned", "expired"})
REQUEST_OPEN: Final[frozenset[RequestStatus]] = frozenset({"waiting", "accepted"})
CHAT_ALLOWED: Final[frozenset[RequestStatus]] = frozenset({"waiting", "accepted"})


def next_status(state: RequestStatus, event: RequestEvent) -> RequestStatus:
    """The state after ``event``; raises :class:`TransitionRefused` if not allowed."""
    try:
        return REQUEST_TRANSITIONS[(state, event)]
    except KeyError:
        raise TransitionRefused(state, event) from None


def sources_of(event: RequestEvent) -> frozenset[RequestStatus]:
    """Every state from which ``event`` is allowed (for conditional updates)."""
    return frozenset(s for (s, e) in REQUEST_TRANSITIONS if e == event)
