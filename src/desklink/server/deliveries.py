"""The delivery leg: the server sends a verified (or still arriving) file on
to the visitor's agent, and the agent's side of file requests.

Theory of operation
-------------------
A rep's ``file.offer {to: computer}`` is offered to the visitor's agent
(``file.offer {id, name, size, mime, rep}``) as soon as the transfer exists
and an agent of the session is connected with the ``files`` privilege
granted, and again whenever an agent (re)connects or the privilege becomes
granted (:meth:`Deliveries.agent_ready`). The agent answers ``file.accept
{offset}`` (what it already holds from an earlier attempt) and then grants
credit with ``file.ack``, or ``file.refuse``.

Chunks are pumped by a :class:`~desklink.protocol.files.Sender` reading
from the file store, up to the bytes the server holds (the upload may still
be arriving), into the agent's outbox at ``Priority.BULK``: screen frames,
cursor and control messages always go first, and the credit window bounds
what waits there. Each chunk is split into parts of ``max_message_bytes``
(``framing.split_frame``). Once the upload is verified and everything is
sent, ``file.end {sha256}`` follows; the agent's ``file.done`` makes it
``delivered``, ``file.failed`` makes it ``failed`` with the agent's words.

An agent that drops only pauses its deliveries (its accept carries the
offset on its return); the files privilege ending (revoked by the visitor,
released by the rep, sharing stopped) fails them (:meth:`files_ended`).

Asking for a file: ``file.ask`` from the rep becomes ``file.ask {ask}`` to
the agent; the visitor picks a file (an ordinary upload from the agent whose
offer carries ``ask``) or nothing (``file.refuse {ask}``, told to the rep
as ``file.asked {answer: "none"}``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desklink.dispatch import channels as ch
from desklink.errors import Conflict, Forbidden, NotFound, ProtocolError
from desklink.protocol.files import Sender, encode_chunk
from desklink.protocol.framing import Channel, split_frame
from desklink.protocol.messages import (
    FileAccept,
    FileAck,
    FileAsk,
    FileCancel,
    FileDone,
    FileEnd,
    FileFailed,
    FileNak,
    FilePause,
    FileRefuse,
    encode,
)
from desklink.protocol.server_messages import FileAskOut, FileOfferOut
from desklink.relay.effects import Audit
from desklink.server.file_store import StorageFailed, StorageFull

if TYPE_CHECKING:
    from desklink.relay import ScreenSession
    from desklink.server.transfers import Endpoint, Live, Party, TransferHub

log = logging.getLogger("desklink.files")

TOOK_BACK = "the visitor took file access back"
FILES_ENDED = "file access to the visitor's computer ended"
#: How often :meth:`Deliveries.watch` looks for a files privilege that ended, seconds.
WATCH_S = 1.0
NEEDS_AGENT = "files to the visitor's computer need the DeskLink agent running with file access allowed"


@dataclass
class Delivery:
    """One transfer on its way to an agent connected to this node."""

    agent: Endpoint
    sender: Sender | None = None  # None until the agent accepts
    end_sent: bool = False


@dataclass(frozen=True)
class Asked:
    ask: str
    request_id: str
    session_id: str
    rep: str
    user_id: int | None


class Deliveries:
    def __init__(self, hub: TransferHub) -> None:
        self.hub = hub
        self.ctx = hub.ctx
        self.legs: dict[int, Delivery] = {}
        self.asks: dict[str, Asked] = {}
        self.bytes_out = 0
        #: Sessions whose agent had files granted: watched for the privilege
        #: ending by the relay's own clock (the grace period running out).
        self.granted: set[str] = set()
        hub.deliveries = self

    # -------------------------------------------------------------- the agent
    def agent_of(self, session_id: str) -> Endpoint | None:
        """The session's agent, if it may receive files now."""
        screen = self.ctx.relay.get(session_id)
        if screen is None or not files_allowed(screen):
            return None
        self.granted.add(session_id)
        agent: Endpoint | None = screen.agent  # type: ignore[assignment]
        return agent

    async def watch(self) -> None:
        """Fail what crosses an agent whose files privilege ended without a
        message (the relay stopped sharing when the grace period ran out, or
        forgot the session): every :data:`WATCH_S` seconds."""
        while True:
            await asyncio.sleep(WATCH_S)
            for session_id in list(self.granted):
                screen = self.ctx.relay.get(session_id)
                if screen is not None and (screen.privileges["files"] != "off" or screen.reasking_files):
                    continue  # (a restarted agent is being asked again: its transfers wait)
                self.granted.discard(session_id)
                try:
                    await self._ended_for(session_id, FILES_ENDED)
                except Exception:
                    log.exception("failing the transfers of session %s failed; trying again", session_id)
                    self.granted.add(session_id)

    def offer(self, live: Live) -> None:
        """Offer ``live`` to the session's agent, if there is one that may take it."""
        agent = self.agent_of(live.session_id)
        if agent is None or live.final:
            return
        self.legs[live.id] = Delivery(agent)
        agent.send_out(FileOfferOut(id=live.id, name=live.name, size=live.size, mime=live.mime, rep=live.sender_name))

    async def agent_ready(self, screen: ScreenSession) -> None:
        """An agent (re)connected or was granted files: offer it every file
        still on its way to this computer."""
        if not files_allowed(screen):
            return
        for row in await self.ctx.store.list_transfers(screen.request_id):
            if row.target == "computer" and row.session_id == screen.session_id:
                live = await self.hub.get(row.id)
                if live is not None and not live.final:
                    self.offer(live)

    def agent_gone(self, agent: object) -> None:
        """The agent's socket closed: its deliveries wait for it to come back."""
        for tid in [tid for tid, leg in self.legs.items() if leg.agent is agent]:
            del self.legs[tid]

    async def files_ended(self, screen: ScreenSession, reason: str = TOOK_BACK) -> None:
        """The files privilege ended: every transfer through the agent fails."""
        self.granted.discard(screen.session_id)
        await self._ended_for(screen.session_id, reason, screen.request_id)

    async def _ended_for(self, session_id: str, reason: str, request_id: str = "") -> None:
        if not request_id:
            session = await self.ctx.store.get_session(session_id)
            if session is None:
                return
            request_id = session.request_id
        for row in await self.ctx.store.list_transfers(request_id):
            if row.session_id != session_id or not (row.via == "agent" or row.target == "computer"):
                continue
            live = await self.hub.get(row.id)
            if live is None or not live.travelling or (live.via == "agent" and live.status == "ready"):
                continue
            await self.hub.fail(live, reason)
        for ask in [a for a in self.asks.values() if a.session_id == session_id]:
            del self.asks[ask.ask]

    # -------------------------------------------------------------- the leg
    def _leg(self, party: Party, live: Live) -> Delivery:
        leg = self.legs.get(live.id)
        if leg is None or leg.agent is not party.conn:
            raise Conflict(f"transfer {live.id} was not offered to this agent", code="bad_state")
        return leg

    async def _mine(self, party: Party, transfer_id: int) -> Live:
        live = await self.hub.get(transfer_id)
        if live is None or not party.holds(live.request_id) or live.target != "computer":
            raise NotFound(f"there is no file {transfer_id} on its way to this computer")
        return live

    async def accept(self, party: Party, msg: FileAccept) -> None:
        live = await self._mine(party, msg.id)
        leg = self._leg(party, live)
        if live.final:
            party.conn.send_out(FileCancel(id=live.id, reason=live.reason or live.status))
            return
        if msg.offset > live.size:
            raise ProtocolError(f"offset {msg.offset} is past the end of the file", code="bad_message")
        leg.sender = Sender(live.size, self.ctx.settings.file_chunk_bytes)
        leg.sender.resume_from(msg.offset, msg.offset)
        leg.end_sent = False
        live.delivered = msg.offset
        if live.status == "ready":
            live.status = "delivering"
        if live.status == "paused":
            leg.sender.paused = True
            party.conn.send_out(FilePause(id=live.id, on=True))
        await self.hub.changed(live)
        self.pump(live)

    async def ack(self, party: Party, msg: FileAck) -> None:
        live = await self._mine(party, msg.id)
        leg = self._leg(party, live)
        if leg.sender is None:
            raise ProtocolError("file.ack before file.accept", code="bad_state")
        leg.sender.ack(msg.acked, msg.until)
        live.delivered = leg.sender.acked
        self.pump(live)
        await self.hub.progress(live)

    async def nak(self, party: Party, msg: FileNak) -> None:
        live = await self._mine(party, msg.id)
        leg = self._leg(party, live)
        if leg.sender is None:
            raise ProtocolError("file.nak before file.accept", code="bad_state")
        leg.sender.nak(msg.offset)
        leg.end_sent = False
        self.pump(live)

    async def refuse(self, party: Party, msg: FileRefuse) -> None:
        if msg.ask:
            asked = self.asks.pop(msg.ask, None)
            if asked is None or not party.holds(asked.request_id):
                raise NotFound("there is no such file request")
            note = {"t": "file.asked", "session_id": asked.session_id, "ask": asked.ask, "answer": "none"}
            await self.ctx.hub.publish(ch.request_channel(asked.request_id), ("R" + encode(note)).encode("utf-8"))
            return
        live = await self._mine(party, msg.id)
        if live.final:
            return
        await self.hub.finish(live, "refused", f"{party.name} refused the file", "file_refused", "visitor", None)

    async def done(self, party: Party, msg: FileDone) -> None:
        live = await self._mine(party, msg.id)
        leg = self._leg(party, live)
        if leg.sender is None or not leg.end_sent:
            raise ProtocolError("file.done before file.end", code="bad_state")
        live.delivered = live.size
        await self.hub.finish(live, "delivered", "", "file_delivered", "visitor", None)

    async def failed(self, party: Party, msg: FileFailed) -> None:
        live = await self._mine(party, msg.id)
        if live.final:
            return
        await self.hub.fail(live, msg.reason or "the visitor's computer could not take the file")

    # -------------------------------------------------------------- pumping
    def pump(self, live: Live) -> None:
        """Send what the credit window and the bytes held allow; ``file.end``
        once the upload is verified and everything went out."""
        leg = self.legs.get(live.id)
        if leg is None or leg.sender is None or live.final:
            return
        s = leg.sender
        s.paused = live.status == "paused"
        max_part = self.ctx.settings.max_message_bytes
        while (span := s.next_span(live.received)) is not None:
            offset, length = span
            try:
                data = self.ctx.file_store.read(live.id, offset, length)
            except (StorageFull, StorageFailed, OSError) as exc:
                log.warning("reading transfer %s for the agent failed: %s", live.id, exc)
                return
            for part in split_frame(Channel.FILE, encode_chunk(live.id, offset, data), max_part):
                leg.agent.send_bulk(part)
            s.sent(offset + length)
            self.bytes_out += length
        if s.finished and live.verified and not leg.end_sent and not s.paused:
            leg.end_sent = True
            # Behind the last chunk in the same (bulk) queue: control messages
            # overtake bulk data, and the end must not overtake the bytes.
            leg.agent.send_bulk(encode(FileEnd(id=live.id, sha256=live.sha256)))

    def verified(self, live: Live) -> None:
        """The upload of a file for the computer is verified."""
        leg = self.legs.get(live.id)
        if leg is not None and leg.sender is not None:
            live.status = "delivering"
            self.pump(live)

    def paused(self, live: Live, on: bool, by: Endpoint | None = None) -> None:
        """Someone paused or went on: the agent's leg stops or goes on, and
        the agent is told unless it paused itself (``by``)."""
        leg = self.legs.get(live.id)
        agent = leg.agent if leg is not None else (self.agent_of(live.session_id) if live.via == "agent" else None)
        if agent is not None and agent is not by:
            agent.send_out(FilePause(id=live.id, on=on))
        if leg is not None and leg.sender is not None:
            leg.sender.paused = on
            if not on:
                self.pump(live)

    def ended(self, live: Live, reason: str, by: Endpoint | None = None) -> None:
        """The transfer ended for good: tell the agent if it is involved
        (unless it ended it itself: ``by``)."""
        leg = self.legs.pop(live.id, None)
        if live.status in ("delivered", "refused"):
            return
        agent = leg.agent if leg is not None else (self.agent_of(live.session_id) if live.via == "agent" else None)
        if agent is not None and agent is not by:
            agent.send_out(FileCancel(id=live.id, reason=reason[:200]))

    # -------------------------------------------------------------- asking
    def ask(self, party: Party, msg: FileAsk, request_id: str) -> str:
        screen = self.ctx.relay.get(msg.session_id)
        agent = self.agent_of(msg.session_id)
        if screen is None or agent is None:
            raise Forbidden(NEEDS_AGENT)
        pending = next((a for a in self.asks.values() if a.session_id == msg.session_id), None)
        if pending is not None:
            # One picker at a time on the visitor's computer (and a bound on this map).
            raise Conflict(
                f"{pending.rep} already asked the visitor for a file; wait for their answer", code="bad_state"
            )
        asked = Asked(secrets.token_urlsafe(9), request_id, msg.session_id, party.name, party.user_id)
        self.asks[asked.ask] = asked
        agent.send_out(FileAskOut(ask=asked.ask, rep=party.name, note=msg.note))
        self.ctx.audits.put(Audit(request_id, "file_asked", "rep", party.user_id, {"note": msg.note}))
        return asked.ask

    def drop_asks(self, request_id: str) -> None:
        """The conversation ended: its open file requests go."""
        for ask in [a for a in self.asks.values() if a.request_id == request_id]:
            del self.asks[ask.ask]

    def answer(self, party: Party, ask: str) -> None:
        """An agent's offer answers ``ask``: it must be one of its session's."""
        asked = self.asks.pop(ask, None)
        if asked is None or not party.holds(asked.request_id):
            raise NotFound("there is no such file request (it was answered or its session ended)")

    def statistics(self) -> dict[str, int]:
        return {"legs": len(self.legs), "asks": len(self.asks), "bytes_out": self.bytes_out}


def files_allowed(screen: ScreenSession) -> bool:
    """May files cross to and from this screen session's agent now? (The
    one place this is decided: a DeskLink agent, sharing, files granted.)"""
    return screen.agent is not None and screen.source == "agent" and screen.privileges.granted("files")
