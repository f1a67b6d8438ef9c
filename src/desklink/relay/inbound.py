"""What reaches a :class:`~desklink.relay.session.ScreenSession`: the
messages an agent (or a sharing help box) and a viewer may send it, and the
agent's introduction, which the adapter builds from the store and the
settings when the agent joins."""

from __future__ import annotations

from dataclasses import dataclass

from desklink.protocol.messages import (
    Annotate,
    Clipboard,
    ClipboardAllow,
    Consent,
    ControlRelease,
    ControlRequest,
    ControlRevoked,
    FilesRelease,
    FilesRequest,
    FilesRevoked,
    Input,
    Ping,
    ScreenAck,
    ScreenInfo,
    ScreenRecord,
    ScreenRefresh,
    ScreenSelect,
    ScreenStats,
    StopSharing,
)
from desklink.protocol.server_messages import AgentLimits, Source

__all__ = ["AgentIntro", "AgentMessage", "ViewerMessage"]

AgentMessage = (
    Consent | ScreenInfo | StopSharing | ScreenStats | ControlRevoked | Annotate | Clipboard | ClipboardAllow | FilesRevoked | Ping
)
ViewerMessage = (
    ScreenAck | ScreenRefresh | ScreenSelect | StopSharing | ControlRequest | ControlRelease | Input | Annotate | Clipboard
    | FilesRequest | FilesRelease | ScreenRecord | Ping
)


@dataclass(frozen=True)
class AgentIntro:
    """What the adapter knows for the agent's welcome (names come from the
    store; limits from the settings)."""

    provider: str
    rep_name: str
    visitor_name: str
    limits: AgentLimits
    #: ``browser``: the visitor's help box shares (``/ws/share``), view only.
    source: Source = "agent"
