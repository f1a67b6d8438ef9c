"""Files on the visitor's computer: the agent's side of both file legs.

Theory of operation
-------------------
The transfer protocol itself lives in :mod:`desklink.protocol.files`
(:class:`~desklink.protocol.files.Sender`, :class:`~desklink.protocol.files.Receiver`,
the chunk codec). :class:`FileManager` is the agent's adapter around it: it
owns the real files and says what to send through two callbacks, ``send``
(a control message, queued ahead of the screen) and ``send_chunk`` (an
encoded chunk; the session splits it into ``FILE`` frames of the server's
message size and queues them at ``Priority.BULK`` behind every screen frame,
so input and the picture keep their latency while a large file goes).
Incoming chunks arrive the same way and are joined by the client
(:class:`~desklink.protocol.framing.Reassembler`) before they get here.

*Incoming* (the rep sends a file to this computer). The visitor accepts an
offer into a destination folder (default: the Downloads folder). Bytes go to
a hidden temporary file next to where the file will be
(``.<name>.<id>.desklink-part``) while a running SHA-256 follows them; each
taken chunk is answered with ``file.ack`` (credit), a bad one with
``file.nak``. At ``file.end`` the hashes are compared: only a match makes the
file appear, by a link (or rename) to a free name (``name (2).ext`` ...; an
existing file is never overwritten), inside the destination and never outside
it. A mismatch, a full disk or a refused write removes the temporary file
and fails the transfer with a reason in words.

Resume: a small record per incoming transfer (id, server, name, size,
destination, temporary file) lives in the agent's state folder. After a
network drop the server offers the file again and the agent accepts it at
once from the bytes it holds (the visitor already chose); after a restart
the record and the temporary file are found again and the bytes held are
hashed again before going on.

*Outgoing* (the visitor sends files: answering the rep's ``file.ask`` or
with "Send a file..."). Each file is hashed first (on a worker thread: the
end message carries the hash), then offered with a client id (``cid``); the
server answers ``file.state {cid, id}`` and ``file.ack``. Chunks are read and
queued only within the server's credit, so at most one window of a file
waits in memory. After a reconnect the agent asks ``file.resume {id}`` and
goes on from the server's ``acked`` (an offer that never got its id is sent
again with the same ``cid``, which makes no second transfer).

Limits: chunk size and credit window come from the server's ``welcome``
(``file_chunk_bytes``, ``file_window_bytes``); names are cut to the
protocol's limits and sanitized by :func:`desklink.protocol.filenames.safe_parts`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import mimetypes
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from desklink.agent.file_paths import PART_SUFFIX, Picked, create_new, hash_fd, hash_file, inside, place, reason_words, state_dir
from desklink.errors import ProtocolError
from desklink.protocol import filenames, limits
from desklink.protocol.files import Nak, Receiver, Sender, Take, decode_chunk, encode_chunk
from desklink.protocol.messages import (
    FileAccept,
    FileAck,
    FileCancel,
    FileDone,
    FileEnd,
    FileFailed,
    FileNak,
    FileOffer,
    FilePause,
    FileRefuse,
    FileResume,
    Msg,
)
from desklink.protocol.server_messages import FileOfferOut, FileState

log = logging.getLogger("desklink.agent.files")

#: Rate and time left are measured over this many seconds.
RATE_WINDOW_S = 3.0

Direction = Literal["in", "out"]
Phase = Literal["hashing", "offered", "sending", "receiving", "paused", "verifying", "done", "failed", "cancelled", "refused"]
FINAL_PHASES = frozenset({"done", "failed", "cancelled", "refused"})
FINAL_STATUSES = frozenset({"ready", "delivered", "refused", "cancelled", "failed", "expired"})


@dataclass
class TransferView:
    """One line of the visitor's transfer list (a snapshot for the UI)."""

    key: str  # "in:<id>" or "out:<cid>": stable while the transfer lasts
    direction: Direction
    name: str
    size: int
    done: int
    phase: Phase
    rate: float = 0.0
    eta_s: float | None = None
    reason: str = ""
    saved_as: str = ""
    id: int = 0


@dataclass
class _Meter:
    """Bytes a second over the last :data:`RATE_WINDOW_S` seconds."""

    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, now: float, done: int) -> None:
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW_S:
            self.samples.popleft()

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass
class Incoming:
    id: int
    name: str  # as the server sent it (sanitized when saving)
    size: int
    rep: str
    dest: Path
    temp: Path
    receiver: Receiver
    sha: Any  # hashlib sha256 of the bytes held
    fd: int = -1
    phase: Phase = "receiving"
    reason: str = ""
    saved_as: str = ""
    #: The sender's hash from a ``file.end`` that came before the last bytes
    #: (control messages overtake queued chunks); checked once they are here.
    end_sha256: str = ""
    meter: _Meter = field(default_factory=_Meter)


@dataclass
class Outgoing:
    cid: str
    path: Path
    name: str  # relative name sent (folder/file for a folder's files)
    size: int
    mime: str
    ask: str
    sha256: str = ""
    id: int = 0
    sender: Sender | None = None
    fd: int = -1
    phase: Phase = "hashing"
    end_sent: bool = False
    resuming: bool = False
    reason: str = ""
    meter: _Meter = field(default_factory=_Meter)


class FileManager:
    """Every transfer of this agent, in and out (see the module docstring).
    Runs on the agent's event loop; the blocking parts (hashing a whole
    file, the final fsync) are separate methods the client runs on a worker
    thread."""

    def __init__(
        self,
        server: str,
        send: Callable[[Msg], None],
        send_chunk: Callable[[bytes], None],
        *,
        states: Path | None = None,
        chunk_bytes: int = limits.FILE_CHUNK_BYTES,
        window_bytes: int = limits.FILE_WINDOW_BYTES,
        clock: Callable[[], float] = time.monotonic,
        send_after_chunks: Callable[[Msg], None] | None = None,
    ) -> None:
        self.server = server
        self.send = send
        self.send_chunk = send_chunk
        #: ``file.end`` must not overtake the chunks still queued before it.
        self.send_after_chunks = send_after_chunks or send
        self.states = (states or state_dir()) / "transfers"
        self.chunk_bytes = chunk_bytes
        self.window_bytes = window_bytes
        self.clock = clock
        self.incoming: dict[int, Incoming] = {}
        self.outgoing: dict[str, Outgoing] = {}  # by cid
        self._out_ids: dict[int, str] = {}  # id -> cid
        #: Uploads complete on this side, until the server's verdict.
        self._sent: dict[int, Outgoing] = {}
        #: Offers sent and not yet answered, oldest first (see :meth:`refused_by_server`).
        self._unanswered: deque[str] = deque()
        #: Finished transfers, kept for the visitor's list.
        self.finished: list[TransferView] = []
        #: Set whenever something the visitor sees changed.
        self.changed = False
        self.resent_bytes = 0

    # ------------------------------------------------------------ records
    def _record_path(self, transfer_id: int) -> Path:
        key = hashlib.sha256(self.server.encode()).hexdigest()[:12]
        return self.states / f"in-{key}-{transfer_id}.json"

    def _save_record(self, inc: Incoming) -> None:
        try:
            self.states.mkdir(parents=True, exist_ok=True)
            record = {"id": inc.id, "server": self.server, "name": inc.name, "size": inc.size, "rep": inc.rep,
                      "dest": str(inc.dest), "temp": str(inc.temp)}
            tmp = self._record_path(inc.id).with_suffix(".tmp")
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, self._record_path(inc.id))
        except OSError as exc:  # resume after a restart is lost; the transfer goes on
            log.warning("could not keep the resume record of %s: %s", inc.name, exc)

    def _drop_record(self, transfer_id: int) -> None:
        try:
            self._record_path(transfer_id).unlink(missing_ok=True)
        except OSError:
            pass

    def prune_records(self, max_age_s: float = limits.FILE_RETENTION_S) -> int:
        """Remove resume records (and their temporary files) older than the
        server keeps a file: nothing can resume them any more. Returns how
        many were removed."""
        removed = 0
        try:
            records = list(self.states.glob("in-*.json"))
        except OSError:
            return 0
        now = time.time()
        for path in records:
            try:
                if now - path.stat().st_mtime <= max_age_s:
                    continue
                record = json.loads(path.read_text(encoding="utf-8"))
                temp = Path(str(record.get("temp", ""))) if isinstance(record, dict) else None
                if temp is not None and temp.name.endswith(PART_SUFFIX):
                    temp.unlink(missing_ok=True)
                path.unlink(missing_ok=True)
                removed += 1
            except (OSError, ValueError) as exc:
                log.warning("could not remove the old resume record %s: %s", path, exc)
        return removed

    def record_for(self, offer: FileOfferOut) -> dict[str, Any] | None:
        """The resume record of an offer this agent accepted before (same
        server, id, name and size, temporary file still there), else None."""
        try:
            record = json.loads(self._record_path(offer.id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict):
            return None
        same = (record.get("server"), record.get("id"), record.get("name"), record.get("size")) == (
            self.server, offer.id, offer.name, offer.size)
        if not same or not Path(str(record.get("temp", ""))).is_file():
            return None
        return record

    # ----------------------------------------------------------- incoming
    def knows(self, offer: FileOfferOut) -> bool:
        """An offer of a file this process is already receiving (the server
        offers it again after a reconnect): accepted again without asking."""
        inc = self.incoming.get(offer.id)
        return inc is not None and inc.size == offer.size and inc.name == offer.name

    def accept_again(self, offer: FileOfferOut) -> None:
        """Go on with a file after a reconnect, from the bytes held."""
        inc = self.incoming[offer.id]
        inc.receiver = Receiver(inc.id, inc.size, self.window_bytes, acked=inc.receiver.acked)
        self._accepted(inc)

    def restore(self, offer: FileOfferOut, record: dict[str, Any]) -> Incoming:
        """An incoming transfer from its record and temporary file (after a
        restart): the bytes held are hashed again. Blocking (worker thread);
        hand the result to :meth:`accept_restored` on the loop."""
        temp = Path(record["temp"])
        # Through one descriptor that never follows a link: whoever can write
        # in the folder cannot point the temporary name somewhere else.
        fd = os.open(temp, os.O_RDWR | os.O_NOFOLLOW)
        try:
            held = min(os.fstat(fd).st_size, offer.size)
            sha, read = hash_fd(fd, held)
            os.ftruncate(fd, read)
        except BaseException:
            os.close(fd)
            raise
        return Incoming(offer.id, offer.name, offer.size, offer.rep, Path(record["dest"]), temp,
                        Receiver(offer.id, offer.size, self.window_bytes, acked=read), sha, fd=fd)

    def accept_restored(self, inc: Incoming) -> None:
        try:
            os.lseek(inc.fd, inc.receiver.acked, os.SEEK_SET)
        except OSError as exc:
            self._fail_in(inc, reason_words(exc, inc.temp.parent))
            return
        self.incoming[inc.id] = inc
        self._accepted(inc)

    def accept(self, offer: FileOfferOut, dest: Path) -> Incoming | None:
        """The visitor accepts ``offer`` into the folder ``dest``."""
        parts = filenames.safe_parts(offer.name)
        try:
            dest.mkdir(parents=True, exist_ok=True)
            folder = inside(dest, parts[:-1])
            folder.mkdir(parents=True, exist_ok=True)
            temp = folder / f".{parts[-1][:200]}.{offer.id}{PART_SUFFIX}"
            fd = create_new(temp)
        except (OSError, ValueError) as exc:
            reason = reason_words(exc, dest) if isinstance(exc, OSError) else str(exc)
            self.send(FileFailed(id=offer.id, reason=reason[: limits.MAX_FILE_REASON_CHARS]))
            self._finish_view(TransferView(f"in:{offer.id}", "in", offer.name, offer.size, 0, "failed", reason=reason, id=offer.id))
            return None
        inc = Incoming(offer.id, offer.name, offer.size, offer.rep, dest, temp,
                       Receiver(offer.id, offer.size, self.window_bytes), hashlib.sha256(), fd=fd)
        self.incoming[inc.id] = inc
        self._save_record(inc)
        self._accepted(inc)
        return inc

    def _accepted(self, inc: Incoming) -> None:
        inc.phase = "receiving"
        acked = inc.receiver.acked
        self.send(FileAccept(id=inc.id, offset=acked))
        self.send(FileAck(id=inc.id, acked=acked, until=inc.receiver.until))
        inc.meter.add(self.clock(), acked)
        self.changed = True

    def refuse(self, offer: FileOfferOut) -> None:
        self.send(FileRefuse(id=offer.id))
        self._finish_view(TransferView(f"in:{offer.id}", "in", offer.name, offer.size, 0, "refused", id=offer.id))

    def receive_chunk(self, payload: bytes) -> Incoming | None:
        """A binary ``FILE`` message's payload (parts joined, without the
        channel byte). Returns the transfer when this chunk completed a file
        whose ``file.end`` already came and matched: put it in place
        (:meth:`place_incoming`, then :meth:`placed`)."""
        try:
            chunk = decode_chunk(payload, self.chunk_bytes)
        except ProtocolError as exc:
            log.warning("ignored a file chunk: %s", exc)
            return None
        inc = self.incoming.get(chunk.transfer_id)
        if inc is None or inc.fd < 0 or inc.phase not in ("receiving", "paused"):
            return None
        try:
            result = inc.receiver.feed(chunk)
        except ProtocolError as exc:
            self._fail_in(inc, str(exc))
            return None
        if isinstance(result, Nak):
            self.send(FileNak(id=inc.id, offset=result.offset))
        elif isinstance(result, Take):
            try:
                written = os.pwrite(inc.fd, result.chunk.data, result.chunk.offset)
                if written != len(result.chunk.data):
                    raise OSError(errno.ENOSPC, "short write")
            except OSError as exc:
                self._fail_in(inc, reason_words(exc, inc.temp.parent))
                return None
            inc.sha.update(result.chunk.data)
            inc.meter.add(self.clock(), result.acked)
            self.send(FileAck(id=inc.id, acked=result.acked, until=result.until))
            self.changed = True
            if inc.end_sha256 and inc.receiver.complete:
                return self._verify(inc, inc.end_sha256)
        return None

    def end_incoming(self, msg: FileEnd) -> Incoming | None:
        """``file.end``: a verified file to put in place (call :meth:`place_incoming`
        on a worker thread, then :meth:`placed`), or None when it failed."""
        inc = self.incoming.get(msg.id)
        if inc is None or inc.phase == "verifying":
            return None
        if not inc.receiver.complete:
            inc.end_sha256 = msg.sha256  # the last chunks are still on their way
            return None
        return self._verify(inc, msg.sha256)

    def _verify(self, inc: Incoming, sha256: str) -> Incoming | None:
        if inc.sha.hexdigest() != sha256:
            self._fail_in(inc, "the file arrived damaged (its checksum does not match); nothing was saved")
            return None
        inc.phase = "verifying"
        self.changed = True
        return inc

    @staticmethod
    def place_incoming(inc: Incoming) -> Path:
        """fsync and give the file its final name (blocking: a worker thread)."""
        os.fsync(inc.fd)
        os.close(inc.fd)
        inc.fd = -1
        parts = filenames.safe_parts(inc.name)
        return place(inc.temp, inside(inc.dest, parts[:-1]), parts[-1])

    def placed(self, inc: Incoming, final: Path | OSError) -> None:
        if isinstance(final, OSError):
            self._fail_in(inc, reason_words(final, inc.temp.parent))
            return
        self.incoming.pop(inc.id, None)
        self._drop_record(inc.id)
        inc.phase, inc.saved_as = "done", str(final)
        self.send(FileDone(id=inc.id, saved_as=str(final)[:4096]))
        self._finish_view(self._view_in(inc))

    def _fail_in(self, inc: Incoming, reason: str, *, tell: bool = True) -> None:
        reason = reason[: limits.MAX_FILE_REASON_CHARS]
        self._discard_in(inc)
        inc.phase, inc.reason = "failed", reason
        if tell:
            self.send(FileFailed(id=inc.id, reason=reason))
        self._finish_view(self._view_in(inc))

    def _discard_in(self, inc: Incoming) -> None:
        self.incoming.pop(inc.id, None)
        if inc.fd >= 0:
            try:
                os.close(inc.fd)
            except OSError:
                pass
            inc.fd = -1
        try:
            inc.temp.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", inc.temp, exc)
        self._drop_record(inc.id)

    # ----------------------------------------------------------- outgoing
    def prepare(self, picked: Picked, ask: str = "") -> Outgoing:
        """An outgoing file, before it is hashed."""
        mime = mimetypes.guess_type(picked.name)[0] or "application/octet-stream"
        out = Outgoing(uuid.uuid4().hex[:24], picked.path, picked.name, picked.size, mime[: limits.MAX_FILE_MIME_CHARS], ask)
        self.outgoing[out.cid] = out
        self.changed = True
        return out

    @staticmethod
    def hash_outgoing(out: Outgoing) -> str:
        """SHA-256 of the whole file (blocking: a worker thread)."""
        sha, read = hash_file(out.path)
        if read != out.size:
            raise OSError(errno.EIO, "the file changed while it was read")
        return str(sha.hexdigest())

    def offer(self, out: Outgoing, sha256: str | OSError) -> None:
        """The file is hashed: offer it (or fail it when it could not be read)."""
        if out.cid not in self.outgoing:
            return  # cancelled while hashing
        if isinstance(sha256, OSError):
            out.phase, out.reason = "failed", f"could not read {out.path.name}: {sha256.strerror or sha256}"
            self.outgoing.pop(out.cid, None)
            self._finish_view(self._view_out(out))
            return
        try:
            out.fd = os.open(out.path, os.O_RDONLY)
        except OSError as exc:
            self.offer(out, exc)
            return
        out.sha256 = sha256
        out.sender = Sender(out.size, self.chunk_bytes)
        out.phase = "offered"
        self._send_offer(out)
        self.changed = True

    def _send_offer(self, out: Outgoing) -> None:
        self._unanswered.append(out.cid)
        self.send(FileOffer(cid=out.cid, name=out.name, size=out.size, mime=out.mime, ask=out.ask))

    def refused_by_server(self, ref: str, message: str) -> None:
        """An ``error`` answering one of our file messages. The server answers
        every ``file.offer`` in order, with ``file.state`` or an error, so an
        error for ``file.offer`` belongs to the oldest offer not yet answered
        (too large, a blocked type, too many files): that file fails with the
        server's words."""
        if ref != "file.offer" or not self._unanswered:
            return
        out = self.outgoing.get(self._unanswered.popleft())
        if out is None or out.id:
            return
        out.phase, out.reason = "failed", message[: limits.MAX_FILE_REASON_CHARS]
        self._close_out(out)
        self._finish_view(self._view_out(out))

    def state(self, msg: FileState) -> None:
        """``file.state`` for one of this agent's uploads: the id of an
        offer, and its end (delivered, failed, cancelled, refused)."""
        cid = msg.cid if isinstance(msg.cid, str) and msg.cid in self.outgoing else self._out_ids.get(msg.id, "")
        out = self.outgoing.get(cid)
        if out is None:
            sent = self._sent.get(msg.id)
            if sent is not None and msg.status in ("failed", "cancelled", "expired"):
                sent.phase, sent.reason = "failed", msg.reason
                self._finish_view(self._view_out(sent))
            if sent is not None and msg.status in FINAL_STATUSES:
                self._sent.pop(msg.id, None)
            return
        if not out.id:
            out.id = msg.id
            self._out_ids[msg.id] = cid
            if cid in self._unanswered:
                self._unanswered.remove(cid)
        if msg.status in ("failed", "cancelled", "refused", "expired"):
            out.phase = "failed" if msg.status == "expired" else msg.status
            out.reason = msg.reason
            self._close_out(out)
            self._finish_view(self._view_out(out))
        elif msg.status in ("ready", "delivering", "delivered") and out.sender is not None and out.end_sent:
            out.phase = "done"
            self._close_out(out)
            self._finish_view(self._view_out(out))
        elif msg.status == "paused" and out.phase != "paused" and out.sender is not None:
            out.phase = "paused"
            out.sender.paused = True
        elif msg.status == "uploading" and out.phase == "paused" and out.sender is not None:
            out.phase = "sending"
            out.sender.paused = False
            self.pump(out)
        self.changed = True

    def ack(self, msg: FileAck) -> None:
        out = self._out_by_id(msg.id)
        if out is None or out.sender is None:
            return
        try:
            if out.resuming:
                out.resuming = False
                out.end_sent = False
                out.sender.resume_from(msg.acked, msg.until)
            else:
                out.sender.ack(msg.acked, msg.until)
        except ProtocolError as exc:
            log.warning("bad file.ack for %s: %s", out.name, exc)
            return
        if out.phase == "offered":
            out.phase = "sending"
        out.meter.add(self.clock(), msg.acked)
        self.changed = True
        self.pump(out)
        if out.end_sent and out.sender.complete:
            # Every byte is held by the server and file.end is on its way: done
            # here (a later file.state may still say the server found it damaged).
            out.phase = "done"
            self._close_out(out)
            self._sent[out.id] = out
            self._finish_view(self._view_out(out))

    def nak(self, msg: FileNak) -> None:
        out = self._out_by_id(msg.id)
        if out is None or out.sender is None:
            return
        try:
            out.sender.nak(msg.offset)
        except ProtocolError as exc:
            log.warning("bad file.nak for %s: %s", out.name, exc)
            return
        out.end_sent = False
        self.pump(out)

    def pump(self, out: Outgoing) -> None:
        """Queue every chunk the credit allows, then ``file.end``."""
        sender = out.sender
        if sender is None or out.fd < 0 or out.phase not in ("sending", "offered"):
            return
        while (span := sender.next_span()) is not None:
            offset, length = span
            try:
                data = os.pread(out.fd, length, offset)
            except OSError as exc:
                self.cancel_out(out, f"could not read {out.path.name}: {exc.strerror or exc}")
                return
            if len(data) != length:
                self.cancel_out(out, f"{out.path.name} changed while it was sent")
                return
            before = sender.resent_bytes
            self.send_chunk(encode_chunk(out.id, offset, data))
            sender.sent(offset + length)
            self.resent_bytes += sender.resent_bytes - before
        if sender.finished and not out.end_sent:
            out.end_sent = True
            self.send_after_chunks(FileEnd(id=out.id, sha256=out.sha256))

    def cancel_out(self, out: Outgoing, reason: str) -> None:
        if out.id:
            self.send(FileCancel(id=out.id, reason=reason[: limits.MAX_FILE_REASON_CHARS]))
        out.phase, out.reason = "cancelled", reason
        self._close_out(out)
        self._finish_view(self._view_out(out))

    def _close_out(self, out: Outgoing) -> None:
        self.outgoing.pop(out.cid, None)
        self._out_ids.pop(out.id, None)
        if out.fd >= 0:
            try:
                os.close(out.fd)
            except OSError:
                pass
            out.fd = -1

    def _out_by_id(self, transfer_id: int) -> Outgoing | None:
        cid = self._out_ids.get(transfer_id)
        return self.outgoing.get(cid) if cid else None

    # ------------------------------------------------------ both directions
    def pause(self, transfer_id: int, on: bool, *, by_visitor: bool) -> None:
        """Pause or go on (the visitor's button, or ``file.pause`` from the server)."""
        inc = self.incoming.get(transfer_id)
        out = self._out_by_id(transfer_id)
        if inc is not None:
            inc.phase = "paused" if on else "receiving"
        elif out is not None and out.sender is not None:
            out.sender.paused = on
            out.phase = "paused" if on else "sending"
        else:
            return
        if by_visitor:
            self.send(FilePause(id=transfer_id, on=on))
        if out is not None and not on:
            self.pump(out)  # within the credit it already has
        self.changed = True

    def cancel(self, transfer_id: int, *, by_visitor: bool, reason: str = "") -> None:
        """Cancel (the visitor's button, or ``file.cancel`` from the server)."""
        words = reason or ("cancelled by you" if by_visitor else "cancelled by the support rep")
        inc = self.incoming.get(transfer_id)
        if inc is not None and inc.phase == "verifying":
            return  # verified and being put in place: too late to cancel
        if inc is not None:
            if by_visitor:
                self.send(FileCancel(id=transfer_id))
            self._discard_in(inc)
            inc.phase, inc.reason = "cancelled", words
            self._finish_view(self._view_in(inc))
            return
        out = self._out_by_id(transfer_id)
        if out is not None:
            if by_visitor:
                self.cancel_out(out, words)
            else:
                out.phase, out.reason = "cancelled", words
                self._close_out(out)
                self._finish_view(self._view_out(out))

    def cancel_key(self, key: str) -> None:
        """The visitor's Cancel on a line of the list (a file still being
        hashed has no id yet)."""
        direction, _, ident = key.partition(":")
        if direction == "out" and ident in self.outgoing:
            out = self.outgoing[ident]
            if out.id:
                self.cancel(out.id, by_visitor=True)
            else:
                out.phase, out.reason = "cancelled", "cancelled by you"
                self._close_out(out)
                self._finish_view(self._view_out(out))
        elif direction == "in" and ident.isdigit():
            self.cancel(int(ident), by_visitor=True)

    def connected(self) -> None:
        """A new connection (after a drop) with files still granted: uploads
        ask where to go on; offers that never got an id are sent again.
        Incoming files wait for the server to offer them again."""
        self._unanswered.clear()
        for out in list(self.outgoing.values()):
            if out.sender is None:
                continue
            if out.id:
                out.resuming = True
                self.send(FileResume(id=out.id))
            else:
                self._send_offer(out)

    def end_all(self, reason: str) -> None:
        """The files privilege ended: every transfer stops here (temporary
        files are removed; the server ends its side)."""
        for inc in list(self.incoming.values()):
            self._discard_in(inc)
            inc.phase, inc.reason = "cancelled", reason
            self._finish_view(self._view_in(inc))
        for out in list(self.outgoing.values()):
            out.phase, out.reason = "cancelled", reason
            self._close_out(out)
            self._finish_view(self._view_out(out))

    def close(self) -> None:
        """The agent exits: files stay open nowhere (records and temporary
        files of incoming transfers stay, for a resume after a restart)."""
        for inc in self.incoming.values():
            if inc.fd >= 0:
                os.close(inc.fd)
                inc.fd = -1
        for out in self.outgoing.values():
            if out.fd >= 0:
                os.close(out.fd)
                out.fd = -1

    # --------------------------------------------------------------- views
    def views(self) -> list[TransferView]:
        """Every transfer, running ones first, for the visitor's list."""
        running = [self._view_in(i) for i in self.incoming.values()] + [self._view_out(o) for o in self.outgoing.values()]
        return running + self.finished[::-1]

    def _finish_view(self, view: TransferView) -> None:
        self.finished = [v for v in self.finished if v.key != view.key][-49:] + [view]
        self.changed = True

    def _view_in(self, inc: Incoming) -> TransferView:
        rate = inc.meter.rate()
        left = inc.size - inc.receiver.acked
        eta = left / rate if rate > 0 and inc.phase == "receiving" else None
        return TransferView(f"in:{inc.id}", "in", filenames.safe_name(inc.name), inc.size, inc.receiver.acked, inc.phase,
                            rate, eta, inc.reason, inc.saved_as, inc.id)

    def _view_out(self, out: Outgoing) -> TransferView:
        done = out.sender.acked if out.sender is not None else 0
        if out.phase == "done":
            done = out.size
        rate = out.meter.rate()
        eta = (out.size - done) / rate if rate > 0 and out.phase == "sending" else None
        return TransferView(f"out:{out.cid}", "out", out.name, out.size, done, out.phase, rate, eta, out.reason, "", out.id)
