"""Clipboard policy: text crosses in a direction only when both the
deployment's policy and the visitor allow it. The visitor's switches (in the
agent) are off until the visitor turns them on; the consent window names
the clipboard. Only the size of what crossed is audited, never the text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from desklink.errors import Forbidden, TooLarge
from desklink.protocol.server_messages import ClipboardState

Direction = Literal["to_visitor", "from_visitor"]


@dataclass
class ClipboardGate:
    max_chars: int
    policy_to_visitor: bool
    policy_from_visitor: bool
    visitor_to_visitor: bool = False
    visitor_from_visitor: bool = False

    def state(self) -> ClipboardState:
        return ClipboardState(
            from_visitor=self.policy_from_visitor and self.visitor_from_visitor,
            to_visitor=self.policy_to_visitor and self.visitor_to_visitor,
        )

    def visitor_switches(self, *, to_visitor: bool, from_visitor: bool) -> None:
        self.visitor_to_visitor = to_visitor
        self.visitor_from_visitor = from_visitor

    def reset(self) -> None:
        """A new agent: the visitor has not turned anything on yet."""
        self.visitor_to_visitor = self.visitor_from_visitor = False

    def check(self, direction: Direction, text: str) -> None:
        """``Forbidden`` or ``TooLarge`` unless ``text`` may cross now."""
        if len(text) > self.max_chars:
            raise TooLarge(f"clipboard text over {self.max_chars} characters")
        if direction == "to_visitor":
            if not self.policy_to_visitor:
                raise Forbidden("policy does not allow clipboard text to reach the visitor")
            if not self.visitor_to_visitor:
                raise Forbidden("the visitor has not turned on clipboard sharing")
        else:
            if not self.policy_from_visitor:
                raise Forbidden("policy does not allow the visitor's clipboard to reach the rep")
            if not self.visitor_from_visitor:
                raise Forbidden("the visitor has not turned on clipboard sharing")
