"""A session whose relay node died, arriving at a new one.

The new relay node never saw the session: its :class:`ScreenSession` starts
with every privilege ``off`` and a resume token the agent does not know. The
agent process that held the visitor's yes still holds it (rule 4 of
:mod:`desklink.protocol.privileges`), so its hello says what it keeps
(``kept``: view, files; never control) and the relay token it came with
names the session. :func:`carry_over` makes those privileges ``suspended``
here, as if this node had seen the drop, so the agent's attach resumes them
without asking the visitor again. A new agent process keeps nothing and is
asked as always.

Only a session no agent has joined at this node, whose privileges are all
``off``, takes a carry-over: it cannot undo a refusal or a stop made here.
"""

from __future__ import annotations

from collections.abc import Iterable

from desklink.protocol.privileges import Privilege
from desklink.relay.session import ScreenSession

__all__ = ["carry_over"]


def carry_over(screen: ScreenSession, kept: Iterable[Privilege]) -> bool:
    """Suspend ``kept`` on ``screen`` for the arriving agent to resume; True
    when it did (``view`` must be among them: nothing is kept without it)."""
    wanted = [p for p in ("view", "files") if p in set(kept)]
    if "view" not in wanted or screen.seats.agent_joined or screen.ended is not None:
        return False
    if any(state != "off" for _, state in screen.privileges):
        return False
    for p in wanted:
        screen.privileges.states[p] = "suspended"
    return True
