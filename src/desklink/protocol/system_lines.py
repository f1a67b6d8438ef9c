"""The lines DeskLink itself writes into a conversation, with a stable code.

A system line ("Ann joined the conversation.") is stored as a chat message
from ``system`` with English text, which the transcript and older clients
show as it is. So that the help box can say it in the visitor's language,
every ``chat`` message of a known kind also carries ``code`` and ``vars``
on the wire (docs/protocol.md, "System lines"); the help box looks up
``system.<code>`` in its catalogue and fills in the vars.

Theory of operation: each kind is one :class:`SystemLine`, its English
template and the prefix of the client id it is stored under (one line per
person and event, de-duplicated by that id). :func:`text` writes the
English; :func:`recognise` reads a stored line back into its code and vars
from the client id's prefix and the template, so no column holds them and
lines stored before codes existed get them too. Sans-I/O: no store, no
sockets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

SystemCode = Literal["joined", "joined_chat", "invited", "left_chat", "taken_over", "screen_offer", "screen_renew"]

_VAR = re.compile(r"\{(\w+)\}")
#: What a var may match when read back; names and codes are any text (greedy,
#: so a name holding "(x)" still leaves the role as the last parenthesis).
_VAR_RE = {"role": r"\w+", "minutes": r"\d+"}


@dataclass(frozen=True, slots=True)
class SystemLine:
    code: SystemCode
    #: The client ids' prefixes up to the first ``:`` ("joined:7"); the first
    #: is the one new lines are stored under.
    cid_prefixes: tuple[str, ...]
    #: English, with ``{name}``-style vars (each var one line of text).
    template: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _VAR.split(self.template)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_VAR_RE.get(p, '.+')})" for i, p in enumerate(parts))
        object.__setattr__(self, "pattern", re.compile(regex, re.DOTALL))

    @property
    def cid_prefix(self) -> str:
        return self.cid_prefixes[0]

    @property
    def vars(self) -> tuple[str, ...]:
        return tuple(_VAR.findall(self.template))


LINES: dict[SystemCode, SystemLine] = {
    line.code: line
    for line in (
        SystemLine("joined", ("joined",), "{name} joined the conversation."),
        SystemLine("joined_chat", ("joined-chat",), "{name} ({role}) joined the chat."),
        # A rep invited into the chat by the rep holding it, and leaving it again.
        SystemLine("invited", ("invited",), "{name} joined the chat."),
        SystemLine("left_chat", ("left",), "{name} left the chat."),
        # Taken over by a supervisor, or handed over by a transfer: the visitor reads the same.
        SystemLine("taken_over", ("taken-over", "taken_over", "transferred"), "{name} took over the conversation."),
        SystemLine(
            "screen_offer",
            ("screen-offer",),
            "{name} asked to see your screen. Share it from this browser, or run the DeskLink agent with "
            "code {code} (valid {minutes} minutes). You decide what is shared and can stop at any time.",
        ),
        SystemLine(
            "screen_renew",
            ("screen-renew",),
            "You asked for a new screen-sharing code: {code}. The earlier code no longer works.",
        ),
    )
}
_BY_PREFIX = {prefix: line for line in LINES.values() for prefix in line.cid_prefixes}


def text(kind: SystemCode, /, **values: object) -> str:
    """The English line of kind ``kind``; every var of its template must be given."""
    line = LINES[kind]
    missing = set(line.vars) - set(values)
    if missing:
        raise KeyError(f"system line {kind!r} needs {sorted(missing)}")
    return line.template.format(**{k: str(v) for k, v in values.items()})


def recognise(client_id: str, body: str) -> tuple[SystemCode, dict[str, str]] | None:
    """The code and vars of a stored system line, or None for a line of no
    known kind (or one whose text no longer fits its template)."""
    line = _BY_PREFIX.get(client_id.split(":", 1)[0])
    if line is None:
        return None
    found = line.pattern.fullmatch(body)
    if found is None:
        return None
    return line.code, dict(found.groupdict())
