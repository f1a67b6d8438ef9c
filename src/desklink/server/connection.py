"""What the visitor and rep socket adapters share: the outbox and its writer,
the per-connection rate limit, broker delivery, and error replies.

A connection runs three tasks: the reader (the subclass's message loop), the
writer (drains the priority :class:`~desklink.protocol.outbox.Outbox` to the
socket), and the control task (acts on ``X`` notes from the broker, which may
need the database, off the hub's hot path). When any of them ends, the
others are cancelled and the connection leaves every channel it joined.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, ClassVar

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from desklink.broker.base import BROKER_ERRORS
from desklink.errors import Closing, DeskLinkError, LimitExceeded, ProtocolError
from desklink.protocol import codes
from desklink.protocol.messages import Msg, encode, error
from desklink.protocol.outbox import Outbox, Priority
from desklink.protocol.ratelimit import TokenBucket
from desklink.protocol.server_messages import Out, encode_out
from desklink.relay.effects import Deliver
from desklink.server import auth as authmod
from desklink.server import logs
from desklink.server.metrics import KIND_NAMES
from desklink.server.context import Context

log = logging.getLogger("desklink.ws")

#: Seconds a new socket has to send ``hello`` before it is closed.
HELLO_TIMEOUT_S = 10.0
#: The close reason when an admin disabled the account or changed its password.
SIGNED_OUT = "signed out: the account was disabled or its password changed"
#: The control note that makes a socket re-check its user's access.
ACCESS_NOTE = "access"
#: After a re-check failed on a store error, try again this much later, seconds.
ACCESS_RETRY_S = 1.0


class Connection:
    #: What kind of socket this is (metrics), and which broker targets it
    #: forwards to its peer (see dispatch/channels.py).
    kind: ClassVar[str] = ""
    forwards: ClassVar[frozenset[str]] = frozenset()
    live: ClassVar[set[Connection]] = set()
    #: Messages that spend the file budget (``file_messages_per_minute``)
    #: instead of the chat budget.
    file_messages: ClassVar[tuple[type, ...]] = ()

    def __init__(self, ws: WebSocket, ctx: Context) -> None:
        self.ws = ws
        self.ctx = ctx
        self.outbox: Outbox[str | bytes] = Outbox(ctx.settings.max_outbox_messages)
        self.bucket = TokenBucket(ctx.settings.messages_per_minute, 60.0)
        self.file_bucket = TokenBucket(ctx.settings.file_messages_per_minute, 60.0)
        self.channels: set[str] = set()
        self._wake = asyncio.Event()
        self._controls: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._close_code: int | None = None
        self._close_reason = ""
        #: The console user behind this socket (consoles and viewers, set by
        #: :meth:`watch_sign_out`); None for visitors and agents.
        self.user_id: int | None = None
        self._access_queued = False
        self._resync_queued = False
        #: Messages whose writing is timed (alerts), by ``id()``: their
        #: submit time, for the fan-out histogram (server/metrics.py).
        self._stamped: dict[int, float] = {}

    # ------------------------------------------------------------- sending
    def deliver(self, channel: str, text: str) -> None:
        """Called by the hub for every broker message on a joined channel."""
        target = text[:1]
        if target == "X":
            note = json.loads(text[1:])
            op = note.get("op")
            if op == ACCESS_NOTE:
                self.access_changed()
            elif op == "resync":
                self.resync()
            else:
                self._controls.put_nowait((channel, note))
        elif target in self.forwards:
            self.send_text(text[1:])

    def resync(self) -> None:
        """News for this socket may have been lost in a broker outage: have
        ``on_control`` see one ``{"op": "resync"}`` note however often this
        is asked before it runs (see server/outage.py)."""
        if not self._resync_queued:
            self._resync_queued = True
            self._controls.put_nowait(("", {"op": "resync"}))

    def send(self, message: dict[str, Any]) -> None:
        self.send_text(encode(message))

    def send_out(self, message: Out | Msg) -> None:
        self.send_text(encode_out(message))

    def deliver_effect(self, delivery: Deliver) -> None:
        """One delivery the relay decided on (server/relay_io.py)."""
        data = delivery.data
        if delivery.screen is None or isinstance(data, str):
            self.send_text(str(data))
        else:
            self.send_screen(bytes(data), delivery.screen)

    def send_text(self, text: str) -> None:
        if self._close_code is not None:
            return
        if not self.outbox.push(text):
            log.warning("closing a %s socket that fell %d messages behind", self.kind, self.outbox.limit)
            self.close_soon(codes.CLOSE_SLOW, "too far behind")
            return
        self._wake.set()

    def send_screen(self, data: bytes, kind: str) -> None:
        """Queue a binary screen message behind every control message. A
        cursor shape is never dropped; pointer positions replace each other
        (latest wins); frames are bounded by the relay's window, so their class
        never grows past it."""
        if self._close_code is not None:
            return
        if kind == "pointer":
            self.outbox.replace(data, Priority.POINTER)
        elif not self.outbox.push(data, Priority.CONTROL if kind == "cursor" else Priority.SCREEN):
            self.ctx.metrics.relay_dropped("slow_viewer")
            self.close_soon(codes.CLOSE_SLOW, "too far behind")
            return
        self.ctx.metrics.relay_out(len(data))
        self._wake.set()

    def send_stamped(self, text: str, t0: float) -> None:
        """Like :meth:`send_text`, and observe the time from ``t0`` (epoch
        seconds) to the moment the text is written to the socket."""
        if self._close_code is None:
            self._stamped[id(text)] = t0
        self.send_text(text)

    def send_bulk(self, data: bytes | str) -> None:
        """Queue a file chunk (a part of one) behind everything else, or a
        message that must follow the chunks queued before it (``file.end``).
        The credit window of the file leg bounds how many wait here."""
        if self._close_code is not None:
            return
        if not self.outbox.push(data, Priority.BULK):
            self.close_soon(codes.CLOSE_SLOW, "too far behind")
            return
        self._wake.set()

    def send_error(self, exc: DeskLinkError, ref: str | None = None) -> None:
        self.send(error(exc.code, exc.message, ref))

    def close_soon(self, code: int, reason: str = "") -> None:
        """Close after what is already queued has been sent."""
        if self._close_code is None:
            self._close_code = code
            self._close_reason = reason
        self._wake.set()

    async def _writer(self) -> None:
        while True:
            item = self.outbox.pop()
            if item is not None:
                if isinstance(item, bytes):
                    await self.ws.send_bytes(item)
                else:
                    await self.ws.send_text(item)
                    if self._stamped:
                        t0 = self._stamped.pop(id(item), None)
                        if t0 is not None:
                            self.ctx.metrics.alert_written(t0)
                continue
            if self._close_code is not None:
                await self.ws.close(self._close_code, self._close_reason)
                return
            self._wake.clear()
            await self._wake.wait()

    # ------------------------------------------------------------ channels
    async def join(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels.add(channel)
            await self.ctx.hub.join(channel, self)

    async def watch_sign_out(self, user_id: int) -> None:
        """Listen for the user being signed out or their access changing
        (notes on their channel, and the node's access watcher), then check
        once more: a change between the handshake's check and the join would
        otherwise go unheard."""
        from desklink.dispatch.channels import user_channel

        self.user_id = user_id
        await self.join(user_channel(user_id))
        if not await self.recheck_access():
            raise Closing(self._close_code or codes.CLOSE_AUTH, self._close_reason)

    def access_changed(self) -> None:
        """The user's role, queues, status or name changed: re-check on the
        control task (once, however many notices arrive meanwhile)."""
        if not self._access_queued and self._close_code is None:
            self._access_queued = True
            self._controls.put_nowait(("", {"op": ACCESS_NOTE}))

    async def recheck_access(self) -> bool:
        """Re-read the login (gone when the user was disabled or their
        password changed) and let the subclass apply the user as they are
        now. Closes the socket and returns False when it may not go on."""
        login = await self.ctx.accounts.authenticate(self.ws.cookies.get(authmod.COOKIE_NAME))
        if login is None:
            self.close_soon(codes.CLOSE_AUTH, SIGNED_OUT)
            return False
        refusal = await self.apply_access(login)
        if refusal is not None:
            self.close_soon(*refusal)
            return False
        return True

    async def _recheck_noted(self) -> None:
        self._access_queued = False
        try:
            await self.recheck_access()
        except BROKER_ERRORS as exc:  # an outage: expected, logged once by the node's watch
            log.info("re-checking access of user %s waits for the broker (%s); trying again", self.user_id, exc)
            asyncio.get_running_loop().call_later(ACCESS_RETRY_S, self.access_changed)
        except Exception:
            log.exception("re-checking access of user %s failed; trying again", self.user_id)
            asyncio.get_running_loop().call_later(ACCESS_RETRY_S, self.access_changed)

    async def leave(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            await self.ctx.hub.leave(channel, self)

    # ------------------------------------------------------------- receiving
    async def receive(self, timeout: float | None = None) -> str | bytes | None:
        """The next message (text or binary), or None when the peer went
        away. Past its size limit the socket is closed with 1009."""
        try:
            if timeout is None:
                message = await self.ws.receive()
            else:
                message = await asyncio.wait_for(self.ws.receive(), timeout)
        except TimeoutError:
            raise Closing(codes.CLOSE_AUTH, "no hello in time") from None
        if message["type"] == "websocket.disconnect":
            return None
        text, data = message.get("text"), message.get("bytes")
        limit = self.ctx.settings.max_message_bytes
        size = len(text.encode("utf-8", "surrogatepass")) if text is not None else len(data or b"")
        if size > limit:
            raise Closing(codes.CLOSE_TOO_BIG, f"message over {limit} bytes")
        return str(text) if text is not None else bytes(data or b"")

    async def receive_text(self, timeout: float | None = None) -> str | None:
        """The next text message (the hello), or None when the peer went away."""
        data = await self.receive(timeout)
        if isinstance(data, bytes):
            raise ProtocolError("expected a text message", code="bad_type")
        return data

    def on_binary(self, data: bytes) -> None:
        """A binary frame: bulk channels, on the sockets that carry them."""
        raise ProtocolError("binary frames are not accepted on this endpoint", code="bad_type")

    async def handle_binary(self, data: bytes) -> None:
        """A binary frame, for sockets whose frames need the store or the
        broker (file chunks); by default :meth:`on_binary`."""
        self.on_binary(data)

    def take_token(self) -> None:
        """Spend one of the connection's per-minute message budget."""
        now = time.monotonic()
        if not self.bucket.take(now):
            raise LimitExceeded(
                f"more than {self.ctx.settings.messages_per_minute} messages a minute; message dropped",
                retry_after=self.bucket.retry_after(now),
            )

    def check_rate(self) -> None:
        """Applied to every text message; sockets with other bounds override it."""
        self.take_token()

    async def serve(self) -> None:
        """Run reader, writer and control tasks until one ends."""
        Connection.live.add(self)
        self.ctx.metrics.opened(self.kind)
        logs.current_socket.set(self)  # the tasks below inherit it: their log lines carry log_ids()
        tasks = [
            asyncio.create_task(self._guarded(self.reader())),
            asyncio.create_task(self._writer()),
            asyncio.create_task(self._control_loop()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            Connection.live.discard(self)
            self.ctx.metrics.closed(self.kind)
            for channel in tuple(self.channels):
                await self.leave(channel)
            await self.on_close()
            if self.ws.application_state == WebSocketState.CONNECTED:
                try:
                    await self.ws.close(self._close_code or codes.CLOSE_NORMAL, self._close_reason)
                except (RuntimeError, WebSocketDisconnect, OSError):
                    pass

    async def _guarded(self, coro: Any) -> None:
        try:
            await coro
        except Closing as exc:
            self.close_soon(exc.code, exc.reason)
            await self._wait_closed()
        except WebSocketDisconnect:
            pass

    async def _wait_closed(self) -> None:
        # Let the writer flush and close; the serve() wait picks that up.
        await asyncio.Event().wait()

    async def _control_loop(self) -> None:
        while True:
            channel, note = await self._controls.get()
            if not channel and note.get("op") == ACCESS_NOTE:
                await self._recheck_noted()
                continue
            if note.get("op") == "resync":
                self._resync_queued = False
            try:
                await self.on_control(channel, note)
            except DeskLinkError as exc:
                self.send_error(exc)
            except Exception:
                log.exception("control note %s on %s failed", note, channel)
                self.send(error("internal", "the server failed to handle an update"))

    def log_ids(self) -> dict[str, Any]:
        """The ids on every log line of this socket (server/logs.py);
        subclasses add the sessions they know."""
        ids: dict[str, Any] = {"socket": KIND_NAMES.get(self.kind, type(self).__name__)}
        if self.user_id is not None:
            ids["user_id"] = self.user_id
        return ids

    # ------------------------------------------------------------ subclass
    async def reader(self) -> None:
        raise NotImplementedError

    async def on_control(self, channel: str, note: dict[str, Any]) -> None:
        raise NotImplementedError

    async def on_close(self) -> None:
        return None

    async def apply_access(self, login: authmod.Login) -> tuple[int, str] | None:
        """The user's access as it is now (``login.user`` is fresh from the
        store): adjust the socket, or return ``(close code, reason)`` when
        it may not go on."""
        return None

    async def message_loop(self, decode: Any, handlers: dict[Any, Any]) -> None:
        """Read, rate-limit, decode and handle messages until the peer leaves.
        A bad message gets an ``error`` reply; the connection carries on."""
        while True:
            ref = None
            try:
                text = await self.receive()
                if text is None:
                    return
                if isinstance(text, bytes):
                    await self.handle_binary_safely(text)
                    continue
                msg = self._decode_within_rate(decode, text)
                ref = type(msg).__struct_config__.tag
                handler = handlers.get(type(msg))
                if handler is None:
                    raise ProtocolError(f"{ref} is not allowed now", code="bad_state")
            except DeskLinkError as exc:
                self.send_error(exc, ref)
                continue
            await self.handle_safely(handler, msg, ref)

    def _decode_within_rate(self, decode: Any, text: str) -> Any:
        """Decode one text message, spending its budget: the file budget for
        :attr:`file_messages`, the chat budget (:meth:`check_rate`) for
        everything else, undecodable messages included."""
        if not self.file_messages:
            self.check_rate()
            return decode(text, self.ctx.settings.max_message_bytes)
        try:
            msg = decode(text, self.ctx.settings.max_message_bytes)
        except DeskLinkError:
            self.check_rate()
            raise
        if not isinstance(msg, self.file_messages):
            self.check_rate()
            return msg
        now = time.monotonic()
        if not self.file_bucket.take(now):
            raise LimitExceeded(
                f"more than {self.ctx.settings.file_messages_per_minute} file messages a minute; message dropped",
                retry_after=self.file_bucket.retry_after(now),
            )
        return msg

    async def handle_binary_safely(self, data: bytes) -> None:
        """Like :meth:`handle_safely` for a binary message (file chunks):
        any error becomes an ``error`` reply, never a closed socket."""
        try:
            await self.handle_binary(data)
        except (Closing, DeskLinkError):
            raise
        except Exception:
            log.exception("handling a binary message failed")
            self.send(error("internal", "the server failed to handle that message", "file.chunk"))

    async def handle_safely(self, handler: Any, msg: Any, ref: str | None) -> None:
        """Run one message's handler; any error becomes an ``error`` reply."""
        try:
            await handler(msg)
        except Closing:
            raise
        except DeskLinkError as exc:
            self.send_error(exc, ref)
        except Exception:
            log.exception("handling %s failed", ref)
            self.send(error("internal", "the server failed to handle that message", ref))


async def socket_login(ws: WebSocket, ctx: Context) -> authmod.Login | None:
    """For the console's sockets: a same-site Origin and a valid login
    cookie, checked before accepting. Closes the handshake and returns None
    otherwise."""
    if not ctx.origins.same_site(ws.headers.get("origin"), ws):
        await ws.close(codes.CLOSE_POLICY)
        return None
    login = await ctx.accounts.authenticate(ws.cookies.get(authmod.COOKIE_NAME))
    if login is None:
        await ws.close(codes.CLOSE_AUTH)
    return login
