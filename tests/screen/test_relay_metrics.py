"""The relay's metrics with a scripted agent: screen bytes and frames in
from the agent and out to the viewer, and the agent and viewer sockets
counted, read from ``/metrics`` as a scraper reads it."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from desklink.testing import ServerProcess, ViewerClient, wait_until

from ._agent import Chat
from .test_relay import ScriptedAgent, fill_frame


def value(text: str, sample: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def test_screen_bytes_and_frames_are_counted(server: ServerProcess, chat: Chat) -> None:
    before = server.metrics()
    viewer = await ViewerClient.connect(server, chat.username, chat.password, chat.session_id)
    agent = await ScriptedAgent.join(server, (await chat.offer())["code"])
    await viewer.wait_status("asking")
    for seq in (1, 2):  # before the visitor's consent: dropped, and counted so
        await agent.ws.send(fill_frame(seq, 10, key=True))
    await wait_until(
        lambda: value(server.metrics(), "desklink_relay_drops_total", reason="before_consent")
        - value(before, "desklink_relay_drops_total", reason="before_consent") >= 2,
        what="two frames counted dropped before consent",
    )
    await agent.ws.send(json.dumps({"t": "consent", "view": True}))
    await viewer.wait_status("sharing")
    sent = 0
    for seq in range(3, 8):
        frame = fill_frame(seq, seq * 30, key=True)
        await agent.ws.send(frame)
        sent += len(frame) - 1  # the channel byte is not screen payload
        assert (await agent.next_control("screen.ack"))["seq"] == seq
    assert viewer.frames == 5

    after = server.metrics()

    def grew(sample: str, by: float, **labels: str) -> bool:
        return value(after, sample, **labels) - value(before, sample, **labels) >= by

    assert grew("desklink_relay_frames_total", 7, direction="in")
    assert grew("desklink_relay_bytes_total", sent, direction="in")
    assert grew("desklink_relay_frames_total", 5, direction="out")
    assert grew("desklink_relay_bytes_total", 1, direction="out")
    assert grew("desklink_connections_opened_total", 1, kind="agent")
    assert grew("desklink_connections_opened_total", 1, kind="viewer")
    await agent.ws.close()
    await wait_until(
        lambda: value(server.metrics(), "desklink_connections_closed_total", kind="agent")
        > value(after, "desklink_connections_closed_total", kind="agent"),
        what="the agent's socket counted closed",
    )
    await viewer.close()
