"""The agent client's file side: file messages and chunks in, the
visitor's questions out, and the blocking work on worker threads.

Theory of operation
-------------------
:class:`FileLink` sits between the network shell (``agent/client.py``), the
core's privileges (``agent/session.py``), the transfer manager
(``agent/files.py``) and the UI. It runs on the agent's event loop:

* binary messages are joined (:class:`~desklink.protocol.framing.Reassembler`,
  bounded by the chunk size from the ``welcome``) and go to the manager only
  while the visitor's yes to files holds;
* an offer the agent already holds part of goes on at once (after a
  reconnect from memory; after a restart from its record, hashed again on a
  worker thread); any other offer, and every ``file.ask``, is a question to
  the visitor, asked once per offer even if the server offers it again;
* hashing a file to send and the final fsync and rename run on worker
  threads, so the loop keeps sending screen frames meanwhile;
* the visitor's list is refreshed on each status change and, for progress,
  at most every clock tick (:meth:`tick`).

File work outlives a connection (a drop does not cancel the visitor's
question or a hash in progress); it ends with the agent (:meth:`close`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desklink.agent.file_paths import downloads_dir, expand_picks, size_words
from desklink.agent.files import FileManager, Incoming, Outgoing
from desklink.agent.session import AgentSession, FilesChanged
from desklink.agent.ui import UI, FileAskQuestion, FileOfferQuestion
from desklink.errors import DeskLinkError
from desklink.protocol import filenames
from desklink.protocol.files import CHUNK_HEAD_BYTES
from desklink.protocol.framing import Channel, Reassembler
from desklink.protocol.messages import FileAck, FileCancel, FileEnd, FileNak, FilePause, FileRefuse
from desklink.protocol.server_messages import Error, FileAskOut, FileOfferOut, FileState

log = logging.getLogger("desklink.agent")


class FileLink:
    def __init__(
        self, core: AgentSession, ui: UI, server: str, *, kick: Callable[[], None], files_dir: Path | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.core = core
        self.ui = ui
        self.kick = kick
        self.files_dir = files_dir
        self.files = FileManager(
            server, core.send_file_message, core.send_file_chunk, states=state_dir,
            send_after_chunks=core.send_file_message_after_chunks,
        )
        #: File work that outlives a connection (hashing, the visitor deciding).
        self.tasks: set[asyncio.Task[None]] = set()
        #: Offers the visitor is being asked about (an offer repeated after a
        #: reconnect is not asked twice).
        self.offers_open: set[int] = set()
        #: The visitor's open questions (offers by id, requests by ask id):
        #: settled with None when the question goes away (the rep cancelled,
        #: file sharing ended), so no task waits for a window that is gone.
        self.questions: dict[int | str, asyncio.Future[Any]] = {}
        #: Offers the rep cancelled while the visitor was being asked.
        self.withdrawn: set[int] = set()
        self._pruned = False

    @property
    def granted(self) -> bool:
        return self.core.privileges.granted("files")

    def welcomed(self) -> None:
        """The server's limits for file legs (from its ``welcome``)."""
        self.files.chunk_bytes = self.core.limits.file_chunk_bytes
        self.files.window_bytes = self.core.limits.file_window_bytes
        if not self._pruned:
            self._pruned = True
            self.files.prune_records()

    def reassembler(self) -> Reassembler:
        """A new connection's joiner of chunk parts."""
        return Reassembler({Channel.FILE: self.core.limits.file_chunk_bytes + CHUNK_HEAD_BYTES})

    def receive_bytes(self, raw: bytes, parts: Reassembler) -> None:
        """A binary message: only file chunks come this way (in parts)."""
        try:
            whole = parts.feed(raw)
        except (DeskLinkError, ValueError) as exc:
            log.warning("ignored a binary message: %s", exc)
            return
        if whole is not None and whole[0] == Channel.FILE and self.granted:
            complete = self.files.receive_chunk(whole[1])
            if complete is not None:
                self._task(self._place(complete))
            self.kick()

    def send_files(self, paths: list[str], ask: str = "") -> None:
        """The visitor picked files or folders to send (the files window's
        "Send a file...", or the answer to the rep's ``file.ask``)."""
        if self.granted:
            self._task(self._send_files(paths, ask))

    def pause(self, transfer_id: int, on: bool) -> None:
        self.files.pause(transfer_id, on, by_visitor=True)
        self.show()

    def cancel(self, key: str) -> None:
        self.files.cancel_key(key)
        self.show()

    def tick(self) -> None:
        """Progress for the visitor's list, at most once per clock tick."""
        if self.files.changed:
            self.show()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.files.close()

    def _task(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def show(self) -> None:
        self.files.changed = False
        self.ui.post("transfers", self.files.views())
        self.kick()

    def privilege(self, action: FilesChanged) -> None:
        if action.granted:
            self.files.connected()  # after a reconnect: uploads go on
        else:
            self.files.end_all(action.why or "file sharing ended")
            self.offers_open.clear()
            for key in list(self.questions):
                self._settle(key, None)
        self.ui.post("files", action.granted, self.core.rep, action.why)
        self.show()

    def event(self, msg: Any) -> None:
        files = self.files
        if isinstance(msg, FileOfferOut):
            self._offered(msg)
        elif isinstance(msg, FileAskOut):
            self._task(self._answer_file_ask(msg))
        elif isinstance(msg, FileAck):
            files.ack(msg)
        elif isinstance(msg, FileNak):
            files.nak(msg)
        elif isinstance(msg, FileEnd):
            inc = files.end_incoming(msg)
            if inc is not None:
                self._task(self._place(inc))
        elif isinstance(msg, FilePause):
            files.pause(msg.id, msg.on, by_visitor=False)
        elif isinstance(msg, FileCancel):
            files.cancel(msg.id, by_visitor=False, reason=msg.reason)
            if msg.id in self.questions:
                self.offers_open.discard(msg.id)
                self.withdrawn.add(msg.id)
                self._settle(msg.id, None)
                self.ui.post("file_offer_gone", msg.id)
        elif isinstance(msg, FileState):
            files.state(msg)
        elif isinstance(msg, Error) and isinstance(msg.ref, str):
            files.refused_by_server(msg.ref, msg.message)
        if files.changed and not isinstance(msg, FileAck):
            self.show()

    def _offered(self, offer: FileOfferOut) -> None:
        """A file from the rep: goes on at once if this agent holds part of it
        (a reconnect, or a restart with its record), else the visitor decides."""
        if self.files.knows(offer):
            self.files.accept_again(offer)
            return
        if offer.id in self.offers_open:
            return  # the visitor is still deciding (offered again after a reconnect)
        record = self.files.record_for(offer)
        self.offers_open.add(offer.id)
        if record is not None:
            self._task(self._restore(offer, record))
        else:
            self._task(self._ask_offer(offer))

    async def _restore(self, offer: FileOfferOut, record: dict[str, Any]) -> None:
        try:
            inc = await asyncio.to_thread(self.files.restore, offer, record)
        except OSError as exc:
            log.warning("could not resume %s (%s): asking again", offer.name, exc)
            await self._ask_offer(offer)
            return
        finally:
            self.offers_open.discard(offer.id)
        self.files.accept_restored(inc)
        self.show()

    def _settle(self, key: int | str, value: Any) -> None:
        answer = self.questions.pop(key, None)
        if answer is not None and not answer.done():
            answer.set_result(value)

    def _question(self, key: int | str) -> asyncio.Future[Any]:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.questions[key] = answer
        return answer

    async def _ask_offer(self, offer: FileOfferOut) -> None:
        loop = asyncio.get_running_loop()
        answer = self._question(offer.id)

        def settle(dest: Path | None) -> None:
            self._settle(offer.id, dest)

        question = FileOfferQuestion(
            id=offer.id, rep=offer.rep, name=filenames.safe_name(offer.name), size=size_words(offer.size),
            dest=self.files_dir or downloads_dir(),
        )
        self.ui.post("file_offer", question, lambda dest: loop.call_soon_threadsafe(settle, dest))
        try:
            dest = await answer
        finally:
            self.offers_open.discard(offer.id)
        if not self.granted or offer.id in self.withdrawn:
            return  # the window went away with the offer: nothing to answer
        if dest is None:
            self.files.refuse(offer)
        else:
            self.files.accept(offer, dest)
        self.show()

    async def _answer_file_ask(self, ask: FileAskOut) -> None:
        loop = asyncio.get_running_loop()
        answer = self._question(ask.ask)

        def settle(paths: list[str] | None) -> None:
            self._settle(ask.ask, paths)

        self.ui.post("file_ask", FileAskQuestion(ask=ask.ask, rep=ask.rep, note=ask.note),
                     lambda paths: loop.call_soon_threadsafe(settle, paths))
        paths = await answer
        if not self.granted:
            return
        if not paths:
            self.core.send_file_message(FileRefuse(ask=ask.ask))
            self.kick()
            return
        await self._send_files(paths, ask.ask)

    async def _send_files(self, paths: list[str], ask: str) -> None:
        try:
            picked = await asyncio.to_thread(expand_picks, paths)
        except (OSError, ValueError) as exc:
            self.ui.post("notice", f"Nothing was sent: {exc}.")
            if ask:
                self.core.send_file_message(FileRefuse(ask=ask))
                self.kick()
            return
        outs = [self.files.prepare(p, ask) for p in picked]
        self.show()
        for out in outs:
            await self._hash_and_offer(out)

    async def _hash_and_offer(self, out: Outgoing) -> None:
        try:
            sha: str | OSError = await asyncio.to_thread(self.files.hash_outgoing, out)
        except OSError as exc:
            sha = exc
        self.files.offer(out, sha)  # nothing goes if file sharing ended meanwhile
        self.show()

    async def _place(self, inc: Incoming) -> None:
        try:
            final: Path | OSError = await asyncio.to_thread(self.files.place_incoming, inc)
        except OSError as exc:
            final = exc
        self.files.placed(inc, final)
        self.show()
