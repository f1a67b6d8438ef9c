"""The node's file transfer hub: every ``file.*`` message and file chunk of
the visitor, rep and agent sockets ends up here (the sockets are thin).

Theory of operation
-------------------
A file travels in two legs through the server (see
:mod:`desklink.protocol.files`). The *upload* leg runs on the node the
sender's socket is on: chunks are checked by a
:class:`~desklink.protocol.files.Receiver`, written to the file store
(``ctx.file_store``), fed to a running SHA-256, and answered with
``file.ack`` (credit) or ``file.nak``. ``file.end`` compares the hashes:
only a match makes the file ``ready`` (downloadable by the other party over
HTTP, or sent on to the visitor's agent).

The *delivery* leg (``to: computer``) runs on the node the agent is on
(:mod:`desklink.server.deliveries`): a :class:`~desklink.protocol.files.Sender`
reads from the store, even while the upload still arrives, and pushes chunks
into the agent's outbox at ``Priority.BULK``, so screen frames and input
always overtake them.

Where state lives:

* the row (``transfers``) is the truth for status, sizes, hash and the
  download key; ``received`` is written at most every
  :data:`PERSIST_EVERY_S` and on every status change;
* the bytes held are the file store's (``partial_size`` is authoritative on
  resume; after a restart the running hash is rebuilt from them);
* :class:`Live` (this node's memory) holds what only makes sense while the
  sockets are up: the receiver, the running hash, the rate meter, the
  agent's delivery sender, and a copy of the status. The copy is checked
  against the row before acting on ``file.end``, ``file.resume``, going on
  after a pause, and when the bytes went away; ``ready`` and final statuses
  are stored only over an unfinished one (``update_transfer(when=...)``),
  so a transfer ended elsewhere is adopted, never revived. A pause or cancel
  stored by another node is not seen between those moments: uploads across
  nodes need sticky routing (docs/deploy.md).

Every status change, and progress at most :data:`STATE_EVERY_S`, goes to
both parties as ``file.state`` on the conversation's channel, so a party on
another node sees it too, and a socket that (re)connects is sent the state of
every transfer of its session(s) (:meth:`TransferHub.replay`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections import deque
from datetime import datetime, timedelta
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote

from msgspec import UNSET, UnsetType

from desklink.dispatch import channels as ch
from desklink.errors import Conflict, DeskLinkError, Forbidden, LimitExceeded, NotFound, ProtocolError
from desklink.protocol.events import Actor, EventKind
from desklink.protocol.filenames import base_name, safe_name
from desklink.protocol.files import CHUNK_HEAD_BYTES, FINAL, Nak, Receiver, decode_chunk
from desklink.protocol.framing import Channel, Reassembler
from desklink.protocol.filepolicy import Direction
from desklink.protocol.messages import FileAck, FileCancel, FileEnd, FileNak, FileOffer, FilePause, FileResume, Msg
from desklink.protocol.server_messages import FileState, FileStatus, Out, encode_out
from desklink.relay.effects import Audit
from desklink.server.file_store import StorageFailed, StorageFull

if TYPE_CHECKING:
    from desklink.config import Settings
    from desklink.server.context import Context
    from desklink.server.deliveries import Deliveries
    from desklink.store.records import Transfer

log = logging.getLogger("desklink.files")

#: ``received`` is written to the row at most this often during an upload, seconds.
PERSIST_EVERY_S = 1.0
#: Progress ``file.state`` goes out at most this often per transfer, seconds.
STATE_EVERY_S = 0.25
#: The rate in ``file.state`` is measured over this many seconds.
RATE_WINDOW_S = 3.0
#: Bytes read at a time when re-hashing a partial file after a restart.
REHASH_BYTES = 1024 * 1024

DAMAGED = "the file arrived damaged; send it again"
SESSION_ENDED = "the session ended"
LOST = "the server lost the bytes of this file; send it again"
#: Unfinished: still travelling (cancelled when the session ends).
UNFINISHED: frozenset[str] = frozenset({"offered", "uploading", "paused", "delivering"})
#: Counted against ``max_active_transfers``: bytes still to arrive.
UPLOADING: frozenset[str] = frozenset({"offered", "uploading", "paused"})

def _ended(live: Live) -> bool:
    """Whether ``live`` has ended (read again after an await: another task
    may have ended it meanwhile)."""
    return live.final


Side = Literal["visitor", "rep"]
Via = Literal["browser", "agent"]


def file_parts(settings: Settings) -> Reassembler:
    """Joins the parts of file chunks on a socket that uploads: a chunk is
    at most the chunk size plus its header; anything else is refused."""
    return Reassembler({Channel.FILE: settings.file_chunk_bytes + CHUNK_HEAD_BYTES})


class Endpoint(Protocol):
    """What a socket adapter offers the hub (server/connection.py)."""

    def send_out(self, message: Out | Msg) -> None: ...

    def send_error(self, exc: DeskLinkError, ref: str | None = None) -> None: ...

    def send_bulk(self, data: bytes | str) -> None: ...

    def send_text(self, text: str) -> None: ...


@dataclass(frozen=True)
class Party:
    """Who speaks through one socket: the visitor (help box or agent) or a
    rep, and which conversations (request ids) they are part of now."""

    side: Side
    name: str
    user_id: int | None
    via: Via
    conn: Endpoint
    holds: Callable[[str], bool]

    @property
    def actor(self) -> Actor:
        return self.side


class RateMeter:
    """Bytes a second over the last :data:`RATE_WINDOW_S` seconds."""

    def __init__(self) -> None:
        self._points: deque[tuple[float, int]] = deque()

    def add(self, now: float, total: int) -> None:
        self._points.append((now, total))
        while len(self._points) > 2 and now - self._points[0][0] > RATE_WINDOW_S:
            self._points.popleft()

    def rate(self) -> float:
        if len(self._points) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self._points[0], self._points[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass
class Live:
    """One transfer as this node knows it (a copy of the row plus what only
    lives while sockets are up)."""

    id: int
    request_id: str
    session_id: str
    sender: Side
    sender_name: str
    user_id: int | None
    via: Via
    target: Literal["chat", "computer"]
    name: str
    mime: str
    size: int
    status: FileStatus
    received: int
    delivered: int
    sha256: str
    reason: str
    download_key: str
    created: float
    paused_by: str = ""
    #: The status a pause returns to.
    before_pause: FileStatus = "uploading"
    receiver: Receiver | None = None
    hasher: Any = None
    #: Rates of the two legs: bytes arriving, bytes the agent acknowledged.
    meter: RateMeter = field(default_factory=RateMeter)
    out_meter: RateMeter = field(default_factory=RateMeter)
    persisted_at: float = 0.0
    stated_at: float = 0.0
    #: A progress state was held back and is scheduled.
    state_due: bool = False
    #: The uploader's socket on this node, if any (gets ``file.ack`` on unpause).
    uploader: Endpoint | None = None
    #: Held while the upload's bytes are worked on off the event loop (the
    #: partial re-hashed, the file made durable): no chunk is taken meanwhile.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_row(cls, row: Transfer) -> Live:
        return cls(
            id=row.id,
            request_id=row.request_id,
            session_id=row.session_id,
            sender=row.sender,
            sender_name=row.sender_name,
            user_id=row.user_id,
            via=row.via,
            target=row.target,
            name=row.name,
            mime=row.mime,
            size=row.size,
            status=row.status,
            received=row.received,
            delivered=row.delivered,
            sha256=row.sha256,
            reason=row.reason,
            download_key=row.download_key,
            created=row.created_at.timestamp(),
        )

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def travelling(self) -> bool:
        """Still on its way (kept in this node's memory until it is not)."""
        return self.status in UNFINISHED or (self.status == "ready" and self.target == "computer")

    @property
    def verified(self) -> bool:
        return bool(self.sha256)

    def download(self) -> str:
        if self.target != "chat" or not self.verified or self.status not in ("ready", "delivered"):
            return ""
        return f"/files/{self.id}/{self.download_key}/{quote(base_name(self.name), safe='')}"

    def state(self, cid: str | UnsetType = UNSET) -> FileState:
        delivering = self.status == "delivering"
        meter = self.out_meter if delivering else self.meter
        rate = meter.rate() if self.status in ("uploading", "delivering") else 0.0
        leg = self.delivered if delivering else self.received
        eta = round((self.size - leg) / rate, 1) if rate > 0 else None
        return FileState(
            id=self.id,
            session_id=self.session_id,
            name=self.name,
            size=self.size,
            mime=self.mime,
            sender=self.sender,
            by=self.sender_name,
            to=self.target,
            via=self.via,
            status=self.status,
            received=self.received,
            delivered=self.delivered,
            sha256=self.sha256,
            reason=self.reason,
            download=self.download(),
            created=self.created,
            rate=round(rate, 1),
            eta_s=eta,
            cid=cid,
            paused_by=self.paused_by if self.status == "paused" else UNSET,
        )


class TransferHub:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.live: dict[int, Live] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ending = asyncio.Lock()
        #: Set by the delivery leg (server/deliveries.py) once built.
        self.deliveries: Deliveries | None = None
        self.chunks_in = 0
        self.bytes_in = 0
        self.naks = 0

    @property
    def files(self) -> Any:
        return self.ctx.file_store

    # ---------------------------------------------------------------- lookup
    async def get(self, transfer_id: int) -> Live | None:
        live = self.live.get(transfer_id)
        if live is not None:
            return live
        row = await self.ctx.store.get_transfer(transfer_id)
        if row is None:
            return None
        live = Live.from_row(row)
        if live.travelling:
            self.live[transfer_id] = live
        return live

    async def _held(self, party: Party, transfer_id: int) -> Live:
        live = await self.get(transfer_id)
        if live is None or not party.holds(live.request_id):
            raise NotFound(f"there is no transfer {transfer_id} in your conversations")
        return live

    def _is_uploader(self, party: Party, live: Live) -> bool:
        return party.holds(live.request_id) and party.side == live.sender and party.via == live.via

    # ---------------------------------------------------------------- offers
    async def offer(self, party: Party, msg: FileOffer, request_id: str, session_id: str, queue_id: int) -> Live:
        """A sender announces a file: checks, the row, the answer, the news."""
        s, store = self.ctx.settings, self.ctx.store
        if msg.to == "computer" and party.side != "rep":
            raise ProtocolError("only a rep sends files to the visitor's computer", code="bad_message")
        name = safe_name(msg.name)
        existing = await store.list_transfers(request_id)
        again = next((t for t in existing if t.sender == party.side and t.client_id == msg.cid), None)
        if again is None:
            direction: Direction = "to_visitor" if party.side == "rep" else "from_visitor"
            policy = await store.get_file_policy(queue_id)
            policy.check(
                direction, name, msg.size, len(existing),
                server_max_bytes=s.max_file_bytes, server_max_files=s.max_files_per_session,
            )
            active = sum(1 for t in existing if t.sender == party.side and t.status in UPLOADING)
            if active >= s.max_active_transfers:
                raise LimitExceeded(
                    f"{active} of your files are still on their way; at most {s.max_active_transfers} may be at once",
                    code="too_many_files",
                )
        row, created = await store.create_transfer(
            request_id=request_id, session_id=session_id, sender=party.side, sender_name=party.name,
            user_id=party.user_id, via=party.via, target=msg.to, client_id=msg.cid, name=name,
            mime=msg.mime[:128], size=msg.size, download_key=secrets.token_urlsafe(24), status="uploading",
        )
        live = self.live.get(row.id) or Live.from_row(row)
        if live.travelling:
            self.live[row.id] = live
        live.uploader = party.conn
        party.conn.send_out(live.state(cid=msg.cid))
        if live.final or live.verified:
            return live
        async with live.lock:
            rx = await self._receiver(live)
        party.conn.send_out(FileAck(id=live.id, acked=rx.acked, until=self._until(live, rx)))
        if created:
            self.audit(live, "file_offered", party.actor, party.user_id, {
                "direction": "to_visitor" if party.side == "rep" else "from_visitor",
                "name": name, "size": msg.size, "via": party.via, "to": msg.to,
            })
            await self.broadcast(live)
            if live.target == "computer" and self.deliveries is not None:
                self.deliveries.offer(live)
        return live

    async def resume(self, party: Party, msg: FileResume) -> None:
        """The uploader came back: where it goes on from."""
        live = await self._held(party, msg.id)
        if not self._is_uploader(party, live):
            raise Forbidden("only the sender of a file resumes sending it")
        live.uploader = party.conn
        if live.status not in UPLOADING or not await self._fresh(live):
            party.conn.send_out(live.state())
            return
        async with live.lock:
            rx = await self._receiver(live)
        party.conn.send_out(FileAck(id=live.id, acked=rx.acked, until=self._until(live, rx)))

    async def _fresh(self, live: Live) -> bool:
        """Whether the row still says the transfer goes on. The row is the
        truth: a cancel, an idle timeout or a session end handled on another
        node (or by the sweeper) is adopted here, and this node's copy is
        dropped. Called before acting on a status change (end, resume,
        unpause) and when the bytes went away."""
        row = await self.ctx.store.get_transfer(live.id)
        if row is not None and row.status not in FINAL:
            return True
        self._adopt(live, row)
        return False

    def _adopt(self, live: Live, row: Transfer | None) -> None:
        live.status = row.status if row is not None else "expired"
        live.reason = row.reason if row is not None else live.reason
        live.sha256 = row.sha256 if row is not None else ""
        live.paused_by = ""
        live.receiver = None
        live.hasher = None
        if not live.travelling:
            self.live.pop(live.id, None)

    async def _receiver(self, live: Live) -> Receiver:
        """The upload's receiver; built from the bytes on disk the first time
        (a restart, another node, or a reload that reached a new node), the
        re-hash off the event loop. Call with ``live.lock`` held."""
        if live.receiver is None:
            held = self.files.partial_size(live.id) if live.size else 0
            hasher = await asyncio.to_thread(self._rehash, live.id, held)
            live.receiver = Receiver(live.id, live.size, self.ctx.settings.file_window_bytes, acked=held)
            live.hasher = hasher
            live.received = held
        return live.receiver

    def _rehash(self, transfer_id: int, held: int) -> Any:
        """The running hash of the first ``held`` bytes held (in a thread)."""
        hasher = hashlib.sha256()
        offset = 0
        while offset < held:
            data = self.files.read(transfer_id, offset, min(REHASH_BYTES, held - offset))
            if not data:
                break
            hasher.update(data)
            offset += len(data)
        return hasher

    def _until(self, live: Live, rx: Receiver) -> int:
        """The credit granted: none past ``acked`` while paused."""
        return rx.acked if live.status == "paused" else rx.until

    # ---------------------------------------------------------------- chunks
    async def chunk(self, party: Party, payload: bytes) -> None:
        """One file chunk from an uploader (channel FILE, parts joined)."""
        c = decode_chunk(payload, self.ctx.settings.file_chunk_bytes)
        live = await self.get(c.transfer_id)
        if live is None or not self._is_uploader(party, live):
            raise Forbidden(f"transfer {c.transfer_id} is not yours to send")
        async with live.lock:
            if live.status not in UPLOADING:
                raise Conflict(f"the transfer is {live.status}; no more bytes are taken", code="bad_state")
            live.uploader = party.conn
            rx = await self._receiver(live)
            if live.final:
                # Ended while the receiver was read (file access taken back,
                # a cancel): its own reason stands; the sender reads the state.
                party.conn.send_out(live.state())
                return
            if live.status == "paused" and c.end > rx.acked:
                # No credit while paused: nothing is taken. Chunks in flight
                # when the pause came are naked back to ``acked``; going on
                # sends a fresh ``file.ack``.
                self.naks += 1
                party.conn.send_out(FileNak(id=live.id, offset=rx.acked))
                return
            result = rx.feed(c, self._until(live, rx))
            if result is None:
                return
            if isinstance(result, Nak):
                self.naks += 1
                party.conn.send_out(FileNak(id=live.id, offset=result.offset))
                return
            try:
                self.files.append(live.id, c.offset, c.data)
            except (StorageFull, StorageFailed) as exc:
                if _ended(live):  # ended meanwhile (its file removed): that end's reason stands
                    party.conn.send_out(live.state())
                    return
                await self.fail(live, exc.message)
                party.conn.send_error(exc, "file.chunk")
                return
            except (ValueError, OSError):
                # The partial went away under the upload (expiry, a cancel on
                # another node, the orphan sweep): the row says what happened,
                # or the transfer fails; never a closed socket.
                log.warning("transfer %s: the partial file is gone", live.id, exc_info=True)
                if await self._fresh(live):
                    await self.fail(live, LOST)
                else:
                    party.conn.send_out(live.state())
                party.conn.send_error(StorageFailed(live.reason or LOST), "file.chunk")
                return
            live.hasher.update(c.data)
            live.received = rx.acked
        self.chunks_in += 1
        self.bytes_in += len(c.data)
        self.ctx.metrics.transfer_bytes.inc(len(c.data))
        if live.status == "offered":
            live.status = "uploading"
        party.conn.send_out(FileAck(id=live.id, acked=rx.acked, until=self._until(live, rx)))
        await self.progress(live)
        if self.deliveries is not None:
            self.deliveries.pump(live)

    async def end(self, party: Party, msg: FileEnd) -> None:
        """Every byte was sent: verify the whole file."""
        live = await self._held(party, msg.id)
        if not self._is_uploader(party, live):
            raise Forbidden("only the sender of a file ends it")
        async with live.lock:
            if live.status not in UPLOADING or not await self._fresh(live):
                party.conn.send_out(live.state())
                return
            rx = await self._receiver(live)
            if not rx.complete:
                raise ProtocolError(f"file.end after {rx.acked} of {live.size} bytes", code="bad_state")
            if live.hasher.hexdigest() != msg.sha256:
                await self.fail(live, DAMAGED)
                return
            try:
                await asyncio.to_thread(self.files.finish, live.id, live.size)
            except (StorageFull, StorageFailed) as exc:
                if _ended(live):  # ended while the file was finished in its thread (its file removed): that end's reason stands
                    party.conn.send_out(live.state())
                    return
                if await self._fresh(live):
                    await self.fail(live, exc.message)
                else:
                    party.conn.send_out(live.state())
                party.conn.send_error(exc, "file.end")
                return
            try:
                # Only from an unfinished status: a final one stored meanwhile wins.
                await self.ctx.store.update_transfer(
                    live.id, when=UPLOADING, status="ready", reason=live.reason, received=live.size,
                    delivered=live.delivered, sha256=msg.sha256,
                )
            except Conflict:
                self.files.remove(live.id)
                await self._fresh(live)
                party.conn.send_out(live.state())
                return
            if live.final:
                return  # ended (and stored, after ours) while the row was written
            live.sha256 = msg.sha256
            live.receiver = None
            live.hasher = None
            live.status = "ready"
            live.received = live.size
        self.audit(live, "file_transferred", party.actor, party.user_id, {
            "direction": "to_visitor" if live.sender == "rep" else "from_visitor",
            "name": live.name, "size": live.size, "sha256": live.sha256, "via": live.via, "to": live.target,
        })
        if live.target == "computer" and self.deliveries is not None:
            self.deliveries.verified(live)
        live.persisted_at = time.monotonic()
        await self.broadcast(live)
        if live.target == "chat":
            self.live.pop(live.id, None)

    # ---------------------------------------------------------------- pause / cancel
    async def pause(self, party: Party, msg: FilePause) -> None:
        live = await self._held(party, msg.id)
        if not await self._fresh(live):
            party.conn.send_out(live.state())
            return
        if msg.on:
            if live.status not in ("offered", "uploading", "delivering", "ready") or (
                live.status == "ready" and live.target == "chat"
            ):
                raise Conflict(f"a transfer that is {live.status} cannot be paused", code="bad_state")
            live.before_pause = live.status
            live.status = "paused"
            live.paused_by = party.name
        else:
            if live.status != "paused":
                return
            if not await self._fresh(live):
                party.conn.send_out(live.state())
                return
            live.status = live.before_pause
            live.paused_by = ""
            if live.status in UPLOADING and live.uploader is not None:
                async with live.lock:
                    rx = await self._receiver(live)
                live.uploader.send_out(FileAck(id=live.id, acked=rx.acked, until=self._until(live, rx)))
        if self.deliveries is not None:
            self.deliveries.paused(live, msg.on, party.conn)
        await self.changed(live)

    async def cancel(self, party: Party, msg: FileCancel) -> None:
        live = await self._held(party, msg.id)
        if live.final:
            raise Conflict(f"the transfer is already {live.status}", code="bad_state")
        reason = msg.reason or f"cancelled by {party.name}"
        await self.finish(live, "cancelled", reason, "file_cancelled", party.actor, party.user_id, by=party.conn)

    async def fail(self, live: Live, reason: str) -> None:
        """The transfer cannot go on: both parties read ``reason``."""
        await self.finish(live, "failed", reason, "file_failed", "system", None)

    async def finish(
        self, live: Live, status: FileStatus, reason: str, event: EventKind, actor: Actor, actor_id: int | None,
        *, keep_file: bool = False, by: Endpoint | None = None,
    ) -> None:
        """End a transfer for good (cancelled, failed, refused, delivered)."""
        live.status = status
        live.reason = reason
        live.paused_by = ""
        live.receiver = None
        live.hasher = None
        if not keep_file:
            try:
                self.files.remove(live.id)
            except OSError:
                log.exception("could not remove the file of transfer %s", live.id)
            live.sha256 = live.sha256 if status == "delivered" else ""
        if self.deliveries is not None:
            self.deliveries.ended(live, reason, by)
        # Stored before it leaves memory (a chunk in flight finds it final),
        # and only over a status that is not final yet: the first end wins.
        live.persisted_at = time.monotonic()
        try:
            await self.ctx.store.update_transfer(
                live.id, when=UNFINISHED | {"ready"}, status=live.status, reason=live.reason,
                received=live.received, delivered=live.delivered,
            )
        except Conflict:
            await self._fresh(live)
            self.live.pop(live.id, None)
            return
        except Exception:
            log.exception("could not store the state of transfer %s", live.id)
        self.audit(live, event, actor, actor_id, {
            "direction": "to_visitor" if live.sender == "rep" else "from_visitor",
            "name": live.name, "size": live.size, "sha256": live.sha256, "reason": reason, "outcome": status,
        })
        await self.broadcast(live)
        self.live.pop(live.id, None)

    async def session_ended(self, request_id: str, conn: Endpoint | None = None) -> None:
        """The support session ended: unfinished transfers are cancelled;
        verified chat files stay downloadable until the retention sweep.
        Every socket of the conversation calls this (the first one does the
        work, later ones find nothing unfinished) and is sent the outcome itself: it may leave
        the conversation's channel before the news would arrive there."""
        async with self._ending:  # one at a time: a later caller reads what the first one stored
            for row in await self.ctx.store.list_transfers(request_id):
                live = self.live.get(row.id) or Live.from_row(row)
                if live.travelling:
                    await self.finish(live, "cancelled", SESSION_ENDED, "file_cancelled", "system", None)
            if self.deliveries is not None:
                self.deliveries.drop_asks(request_id)
        if conn is not None:
            await self.replay(conn, request_id)

    async def cancel_idle(self, idle_s: float, now: datetime) -> int:
        """The sweeper's round: cancel every unfinished transfer whose row
        has not changed for ``idle_s`` (no byte arrived: ``received`` is
        written while bytes move), telling both parties why. How many."""
        reason = f"nothing arrived for {_duration(idle_s)}"
        done = 0
        for row in await self.ctx.store.idle_transfers(before=now - timedelta(seconds=idle_s)):
            live = self.live.get(row.id) or Live.from_row(row)
            if live.final:
                continue
            async with live.lock:
                await self.finish(live, "cancelled", reason, "file_cancelled", "system", None)
            done += 1
        return done

    async def sender_gone(self, conn: Endpoint) -> None:
        """An uploader's socket closed: store how far its uploads got (the
        bytes on disk stay the truth for resuming)."""
        for live in [t for t in self.live.values() if t.uploader is conn]:
            live.uploader = None
            if live.status in UPLOADING:
                await self._persist(live, received=live.received)

    # ---------------------------------------------------------------- news
    async def replay(self, conn: Endpoint, request_id: str) -> None:
        """A (re)connected socket: the state of every transfer of the conversation."""
        for row in await self.ctx.store.list_transfers(request_id):
            live = self.live.get(row.id) or Live.from_row(row)
            conn.send_out(live.state())

    async def progress(self, live: Live) -> None:
        """Bytes moved: the rate, the row now and then, the state at most
        :data:`STATE_EVERY_S`."""
        now = time.monotonic()
        if live.status == "delivering":
            live.out_meter.add(now, live.delivered)
        else:
            live.meter.add(now, live.received)
        if now - live.persisted_at >= PERSIST_EVERY_S:
            live.persisted_at = now
            await self._persist(live, received=live.received, delivered=live.delivered)
        if now - live.stated_at >= STATE_EVERY_S:
            await self.broadcast(live)
        elif not live.state_due:
            # Progress held back now goes out once the interval is over, so
            # a card never stays behind when the bytes stop for a while.
            live.state_due = True
            asyncio.get_running_loop().call_later(
                STATE_EVERY_S - (now - live.stated_at), lambda: self._spawn(self._due(live))
            )

    async def _due(self, live: Live) -> None:
        if live.state_due and not live.final:
            await self.broadcast(live)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def changed(self, live: Live, **fields: Any) -> None:
        """A status change: the row (only over a status that is not final:
        a transfer ended elsewhere is adopted instead), then both parties."""
        live.persisted_at = time.monotonic()
        values: dict[str, Any] = {
            "status": live.status, "reason": live.reason, "received": live.received, "delivered": live.delivered,
        }
        try:
            await self.ctx.store.update_transfer(live.id, when=UNFINISHED | {"ready"}, **(values | fields))
        except Conflict:
            await self._fresh(live)
            return
        except Exception:
            log.exception("could not store the state of transfer %s", live.id)
        await self.broadcast(live)

    async def _persist(self, live: Live, **fields: Any) -> None:
        try:
            await self.ctx.store.update_transfer(live.id, **fields)
        except Exception:
            log.exception("could not store the state of transfer %s", live.id)

    async def broadcast(self, live: Live) -> None:
        """The state to both parties (the conversation's channel) and, for
        an upload from the agent, to the agent (it forwards nothing from the
        broker, so it is told directly, on the node it is connected to)."""
        live.stated_at = time.monotonic()
        live.state_due = False
        text = encode_out(live.state())
        if live.via == "agent" and self.deliveries is not None:
            agent = self.deliveries.agent_of(live.session_id)
            if agent is not None:
                agent.send_text(text)
        await self.ctx.hub.publish(ch.request_channel(live.request_id), b"A" + text.encode("utf-8"))

    def audit(self, live: Live, kind: EventKind, actor: Actor, actor_id: int | None, data: dict[str, object]) -> None:
        self.ctx.audits.put(Audit(live.request_id, kind, actor, actor_id, data))

    def statistics(self) -> dict[str, int]:
        """Transfers in this node's memory, chunks and bytes taken, naks sent;
        and the delivery leg's (``legs``, ``asks``, ``bytes_out``)."""
        figures = {"live": len(self.live), "chunks_in": self.chunks_in, "bytes_in": self.bytes_in, "naks": self.naks}
        if self.deliveries is not None:
            figures |= self.deliveries.statistics()
        return figures


def _duration(seconds: float) -> str:
    """``an hour``, ``2 hours``, ``10 minutes``, ``5 seconds``: for a reason."""
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"an {unit}" if n == 1 and unit == "hour" else f"a {unit}" if n == 1 else f"{n} {unit}s"
    return f"{seconds:g} seconds"
