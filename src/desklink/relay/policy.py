"""A screen session's limits and clipboard policy, derived from the settings
(which take their defaults from :mod:`desklink.protocol.limits`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from desklink.protocol import limits

if TYPE_CHECKING:
    from desklink.config import Settings


@dataclass(frozen=True)
class Policy:
    window: int = limits.SCREEN_WINDOW
    agent_grace_s: float = limits.AGENT_GRACE_S
    agent_ping_interval_s: float = limits.AGENT_PING_INTERVAL_S
    agent_link_timeout_s: float = limits.AGENT_LINK_TIMEOUT_S
    input_events_per_s: int = limits.MAX_INPUT_EVENTS_PER_S
    max_strokes: int = limits.MAX_STROKES
    max_stroke_points: int = limits.MAX_STROKE_POINTS
    annotations_per_minute: int = limits.ANNOTATIONS_PER_MINUTE
    max_clipboard_chars: int = limits.MAX_CLIPBOARD_CHARS
    clipboard_to_visitor: bool = True
    clipboard_from_visitor: bool = True

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        return cls(
            window=s.screen_window,
            agent_grace_s=s.agent_grace_s,
            agent_ping_interval_s=s.agent_ping_interval_s,
            agent_link_timeout_s=s.agent_link_timeout_s,
            input_events_per_s=s.max_input_events_per_s,
            max_strokes=s.max_strokes,
            annotations_per_minute=s.annotations_per_minute,
            max_clipboard_chars=s.max_clipboard_chars,
            clipboard_to_visitor=s.clipboard_to_visitor,
            clipboard_from_visitor=s.clipboard_from_visitor,
        )
