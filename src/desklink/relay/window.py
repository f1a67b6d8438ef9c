"""Each consumer's frame window: a viewer gets a frame only while it has
fewer than ``window`` frames unacknowledged, the agent's own rule
(:class:`~desklink.protocol.screen.FlowControl`) applied per consumer.

A consumer whose window is full misses frames; since frames are deltas, it
then needs a key frame, and asks for one once it has caught up. So a slow
watcher lowers its own frame rate and never slows anyone else, and nothing
queues for it beyond its window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desklink.protocol.screen import FlowControl


@dataclass
class FrameWindow:
    window: int
    flow: FlowControl = field(init=False)
    #: The next frame this consumer can use must be a key frame.
    needs_key: bool = True
    received: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        self.flow = FlowControl(self.window)

    def offer(self, seq: int, key: bool, now: float) -> bool:
        """Should frame ``seq`` go to this consumer? Records it as sent if so."""
        if self.needs_key and not key:
            self.skipped += 1
            return False
        if not self.flow.can_send():
            self.skipped += 1
            self.needs_key = True
            return False
        self.needs_key = False
        self.flow.sent(seq, now)
        self.received += 1
        return True

    def ack(self, seq: int, now: float) -> bool:
        """An acknowledgement; True when this consumer has caught up and now
        wants a key frame (the caller asks the agent for one)."""
        self.flow.acked(seq, now)
        return self.needs_key and not self.flow.in_flight

    def restart(self) -> None:
        """A new agent or monitor: forget what is in flight, wait for a key frame."""
        self.flow.reset()
        self.needs_key = True
