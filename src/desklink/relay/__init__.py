"""The screen relay: pairs a visitor's agent with the viewers of its session.

Sans-I/O: :class:`ScreenSession` takes validated messages and returns
:class:`Effects` (deliveries, closes, audit events) that the socket adapters
in ``server/`` pump. One module per job: pairing and liveness
(:mod:`.pairing`), per-viewer frame windows (:mod:`.window`), annotations
(:mod:`.board`), clipboard policy (:mod:`.clipboard`), limits
(:mod:`.policy`), the node's registry (:mod:`.registry`).
"""

from desklink.relay.effects import Audit, Close, Deliver, Effects
from desklink.relay.pairing import Viewer
from desklink.relay.policy import Policy
from desklink.relay.registry import Relay
from desklink.relay.inbound import AgentIntro
from desklink.relay.session import ScreenSession

__all__ = ["AgentIntro", "Audit", "Close", "Deliver", "Effects", "Policy", "Relay", "ScreenSession", "Viewer"]
