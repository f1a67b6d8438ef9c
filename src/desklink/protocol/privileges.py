"""What the visitor lets the rep do, as data: view, control and files.

Theory of operation
-------------------
Each privilege of a screen session is in one state at a time and moves only
by the transitions in :data:`TRANSITIONS`. The relay (``relay/``) keeps one
:class:`Privileges` per screen session and the agent keeps its own, so two
independent gates decide: a relay bug cannot make the agent inject input,
and an agent bug cannot make the relay forward it.

Rules:

1. Every privilege starts ``off``. Only the visitor's ``allow`` (answering an
   ``ask``) makes it ``granted``; nothing flows for a privilege that is not
   ``granted``: no frames without view, no input without control, no file
   data without files.
2. ``revoke`` (the visitor takes it back) and ``stop`` (sharing ends, from
   either side or because the support session ended) win from every state.
3. ``control`` needs ``view``: it can only be asked for while view is
   granted, and it ends whenever view stops being granted.
4. An agent drop ends every privilege. View and files are ``suspended``
   rather than ``off``: the same agent process coming back within the grace
   period with its resume token gets them back (``resume``) without asking
   the visitor again, because that process still holds the visitor's yes.
   Control is never kept across a drop: the rep asks again.
5. The rep may ``release`` control or files; view is given up by ``stop``.
6. ``deny`` leaves a privilege ``off``; the rep may ask again later.

The relay's welcome to an agent, the consent wording the agent shows, and the
events the relay audits are all derived from this table, not restated.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

from desklink.errors import ProtocolError

Privilege = Literal["view", "control", "files"]
PrivilegeState = Literal["off", "asking", "granted", "suspended"]
PrivilegeEvent = Literal["ask", "allow", "deny", "revoke", "release", "drop", "resume", "stop"]

PRIVILEGES: Final[tuple[Privilege, ...]] = get_args(Privilege)
STATES: Final[tuple[PrivilegeState, ...]] = get_args(PrivilegeState)
EVENTS: Final[tuple[PrivilegeEvent, ...]] = get_args(PrivilegeEvent)

#: (state, event) -> next state, shared by every privilege. Anything not
#: listed is refused (see :class:`Privileges.apply`).
_COMMON: Final[dict[tuple[PrivilegeState, PrivilegeEvent], PrivilegeState]] = {
    ("off", "ask"): "asking",
    ("asking", "allow"): "granted",
    ("asking", "deny"): "off",
    ("asking", "revoke"): "off",
    ("granted", "revoke"): "off",
    ("suspended", "revoke"): "off",
    ("asking", "stop"): "off",
    ("granted", "stop"): "off",
    ("suspended", "stop"): "off",
    ("asking", "drop"): "off",
    ("suspended", "resume"): "granted",
}

#: What an agent drop does to a granted privilege (rule 4).
_DROP: Final[dict[Privilege, PrivilegeState]] = {"view": "suspended", "control": "off", "files": "suspended"}
#: Who may release a privilege (rule 5).
_RELEASABLE: Final[frozenset[Privilege]] = frozenset({"control", "files"})
#: Privileges that need another one granted first (rule 3).
REQUIRES: Final[dict[Privilege, Privilege]] = {"control": "view"}


def _build() -> dict[tuple[Privilege, PrivilegeState, PrivilegeEvent], PrivilegeState]:
    table: dict[tuple[Privilege, PrivilegeState, PrivilegeEvent], PrivilegeState] = {}
    for p in PRIVILEGES:
        for (state, event), target in _COMMON.items():
            table[(p, state, event)] = target
        table[(p, "granted", "drop")] = _DROP[p]
        if p in _RELEASABLE:
            table[(p, "asking", "release")] = "off"
            table[(p, "granted", "release")] = "off"
    return table


#: (privilege, state, event) -> next state: the whole machine, as data.
TRANSITIONS: Final[dict[tuple[Privilege, PrivilegeState, PrivilegeEvent], PrivilegeState]] = _build()

#: The words the agent uses to ask the visitor for each privilege.
ASK_WORDING: Final[dict[Privilege, str]] = {
    "view": "see your screen",
    "control": "control your mouse and keyboard",
    "files": "send files to and from your computer",
}


@dataclass(frozen=True, slots=True)
class Change:
    """One privilege moved: the relay turns these into audit events."""

    privilege: Privilege
    before: PrivilegeState
    after: PrivilegeState
    event: PrivilegeEvent


@dataclass
class Privileges:
    """One screen session's privileges. Refused transitions raise
    :class:`ProtocolError` (``bad_state``); :meth:`apply_all` is for events
    that touch every privilege (``drop``, ``resume``, ``stop``) and skips
    the ones the event does not apply to."""

    states: dict[Privilege, PrivilegeState] = field(default_factory=lambda: dict.fromkeys(PRIVILEGES, "off"))

    def __getitem__(self, privilege: Privilege) -> PrivilegeState:
        return self.states[privilege]

    def granted(self, privilege: Privilege) -> bool:
        return self.states[privilege] == "granted"

    def can(self, privilege: Privilege, event: PrivilegeEvent) -> bool:
        if (privilege, self.states[privilege], event) not in TRANSITIONS:
            return False
        needed = REQUIRES.get(privilege)
        return not (event == "ask" and needed is not None and not self.granted(needed))

    def apply(self, privilege: Privilege, event: PrivilegeEvent) -> list[Change]:
        """Make one transition (and whatever rule 3 makes follow from it)."""
        if not self.can(privilege, event):
            state = self.states[privilege]
            needed = REQUIRES.get(privilege)
            if event == "ask" and needed is not None and not self.granted(needed):
                raise ProtocolError(f"{privilege} needs {needed} to be granted first", code="bad_state")
            raise ProtocolError(f"cannot {event} {privilege} while it is {state}", code="bad_state")
        return self._move(privilege, event)

    def apply_all(self, event: PrivilegeEvent) -> list[Change]:
        changes: list[Change] = []
        for p in PRIVILEGES:
            if (p, self.states[p], event) in TRANSITIONS:
                changes += self._move(p, event)
        return changes

    def asking(self) -> list[Privilege]:
        """The privileges the visitor is being asked for now."""
        return [p for p in PRIVILEGES if self.states[p] == "asking"]

    def _move(self, privilege: Privilege, event: PrivilegeEvent) -> list[Change]:
        before = self.states[privilege]
        after = TRANSITIONS[(privilege, before, event)]
        self.states[privilege] = after
        changes = [Change(privilege, before, after, event)]
        if before == "granted" and after != "granted":
            for dependent, needed in REQUIRES.items():
                if needed == privilege and self.states[dependent] in ("granted", "asking"):
                    follow: PrivilegeEvent = "stop" if event in ("stop", "revoke", "release") else "drop"
                    if (dependent, self.states[dependent], follow) not in TRANSITIONS:
                        follow = "stop"
                    changes += self._move(dependent, follow)
        return changes

    def __iter__(self) -> Iterator[tuple[Privilege, PrivilegeState]]:
        return iter(self.states.items())


def describe() -> str:
    """The table as text, for the docs (one line per transition)."""
    lines = []
    for (p, state, event), target in sorted(TRANSITIONS.items()):
        lines.append(f"{p:8} {state:10} --{event}--> {target}")
    return "\n".join(lines)
