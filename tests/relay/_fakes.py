"""What relay unit tests share: named endpoints and readers of effects."""

from __future__ import annotations

import json
from typing import Any

from desklink.protocol.server_messages import AgentLimits
from desklink.relay import AgentIntro, Effects, Policy, ScreenSession

INTRO = AgentIntro(
    provider="Acme",
    rep_name="Alice",
    visitor_name="Vic",
    limits=AgentLimits(
        max_message_bytes=65536,
        max_screen_frame_bytes=1 << 22,
        max_clipboard_chars=100,
        max_stroke_points=2000,
        screen_window=2,
        ping_interval_s=2.0,
        link_timeout_s=6.0,
    ),
)
REP_ID = 7
SUPERVISOR_ID = 9


class End:
    """An endpoint: the relay only compares and hashes these."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def texts(fx: Effects, to: object) -> list[dict[str, Any]]:
    """The text messages ``fx`` delivers to ``to``, decoded, in order."""
    return [json.loads(d.data) for d in fx.deliveries if d.to is to and isinstance(d.data, str)]


def kinds(fx: Effects, to: object) -> list[str]:
    return [m["t"] for m in texts(fx, to)]


def frames(fx: Effects, to: object) -> int:
    return sum(1 for d in fx.deliveries if d.to is to and d.screen == "frame")


def audits(fx: Effects) -> list[tuple[str, str, dict[str, Any]]]:
    return [(a.kind, a.actor, a.data) for a in fx.audits]


def new_session(**policy: Any) -> ScreenSession:
    return ScreenSession("sess1", "req1", REP_ID, Policy(**{"clipboard_to_visitor": True, **policy}))
