"""Bench-only timing probes for a DeskLink *server* process.

``bench/alerts.py --trace`` puts this folder on the server's ``PYTHONPATH``
so Python imports it at start-up. It does nothing unless
``DESKLINK_BENCH_TRACE`` names an output file; then it wraps a few methods
(no source file changes) and records ``time.perf_counter()`` stamps, which on
Linux read CLOCK_MONOTONIC and so compare directly with the bench client's:

* ``submit.start`` / ``submit.end``: ``Dispatcher.submit`` entered / returned
* ``publish``: the broker ``publish`` of an ``alert`` (after the DB writes)
* ``deliver``: the hub handing an ``alert`` to one rep connection
* ``sent``: ``WebSocket.send_text`` of an ``alert`` returned (bytes handed
  to the transport)
* ``gcN``: a garbage collection of generation N (value: its duration);
  after a full one, ``gc2.objects``: the objects the collector tracks
* ``lag``: the event loop was late by the value (seconds) for a 5 ms sleep
* ``sqlhop``: one call handed to an aiosqlite worker thread (each SQLite
  statement, cursor, fetch, BEGIN and COMMIT is one such thread hop)
* ``sqlconn``: a new aiosqlite connection (and so a new worker thread)

The events are written as JSON lines when the server exits (SIGTERM).
"""

from __future__ import annotations

import os

_PATH = os.environ.get("DESKLINK_BENCH_TRACE")

if _PATH:
    import asyncio
    import atexit
    import gc
    import json
    import signal
    import time

    _pc = time.perf_counter
    _events: list[tuple[float, str, float]] = []
    _add = _events.append
    _ALERT_ENV = b'R{"t":"alert",'
    _ALERT_STR_ENV = 'R{"t":"alert",'
    _ALERT = '{"t":"alert",'

    _dumped = [False]

    def _dump() -> None:
        if _dumped[0]:
            return
        _dumped[0] = True
        with open(_PATH, "w") as f:  # type: ignore[arg-type]
            for t, kind, value in _events:
                f.write(json.dumps([t, kind, value]) + "\n")

    atexit.register(_dump)

    def _on_term(signum: int, frame: object) -> None:
        # uvicorn shuts down on SIGTERM, restores this handler and raises the
        # signal again, which would skip atexit: write the events, then die
        # of the signal as before.
        _dump()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, _on_term)

    _gc_started = [0.0]

    def _gc_callback(phase: str, info: dict) -> None:  # type: ignore[type-arg]
        if phase == "start":
            _gc_started[0] = _pc()
        else:
            _add((_gc_started[0], f"gc{info['generation']}", _pc() - _gc_started[0]))
            if info["generation"] == 2:
                # After the pause was stamped: how big the heap it walked is.
                _add((_gc_started[0], "gc2.objects", float(len(gc.get_objects()))))

    gc.callbacks.append(_gc_callback)

    async def _lag_monitor() -> None:
        for _ in range(100_000_000):
            t = _pc()
            await asyncio.sleep(0.005)
            late = _pc() - t - 0.005
            if late > 0.002:
                _add((t, "lag", late))

    def _install() -> None:
        import starlette.websockets as sw

        from desklink.broker import memory, redis
        from desklink.dispatch import dispatcher as dm
        from desklink.server import connection as cm
        from desklink.server import hub as hm

        submit = dm.Dispatcher.submit

        async def traced_submit(self, **kw):  # type: ignore[no-untyped-def]
            _add((_pc(), "submit.start", 0.0))
            try:
                return await submit(self, **kw)
            finally:
                _add((_pc(), "submit.end", 0.0))

        dm.Dispatcher.submit = traced_submit  # type: ignore[method-assign]

        for cls in (memory.MemoryBroker, redis.RedisBroker):

            def wrap(publish):  # type: ignore[no-untyped-def]
                async def traced_publish(self, channel, data):  # type: ignore[no-untyped-def]
                    if data[:14] == _ALERT_ENV:
                        _add((_pc(), "publish", 0.0))
                    return await publish(self, channel, data)

                return traced_publish

            cls.publish = wrap(cls.publish)  # type: ignore[method-assign]

        deliver = cm.Connection.deliver

        def traced_deliver(self, channel, text):  # type: ignore[no-untyped-def]
            if text[:14] == _ALERT_STR_ENV:
                _add((_pc(), "deliver", 0.0))
            deliver(self, channel, text)

        cm.Connection.deliver = traced_deliver  # type: ignore[method-assign]

        send_text = sw.WebSocket.send_text

        async def traced_send_text(self, data):  # type: ignore[no-untyped-def]
            await send_text(self, data)
            if data[:13] == _ALERT:
                _add((_pc(), "sent", 0.0))

        sw.WebSocket.send_text = traced_send_text  # type: ignore[method-assign]

        start = hm.Hub.start

        async def traced_start(self):  # type: ignore[no-untyped-def]
            await start(self)
            self._bench_lag = asyncio.create_task(_lag_monitor())

        hm.Hub.start = traced_start  # type: ignore[method-assign]

        try:
            import aiosqlite.core as aq
        except ImportError:
            return
        execute = aq.Connection._execute

        async def traced_execute(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
            _add((_pc(), "sqlhop", 0.0))
            return await execute(self, fn, *args, **kwargs)

        aq.Connection._execute = traced_execute  # type: ignore[method-assign]
        init = aq.Connection.__init__

        def traced_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            _add((_pc(), "sqlconn", 0.0))
            init(self, *args, **kwargs)

        aq.Connection.__init__ = traced_init  # type: ignore[method-assign]

    _install()
