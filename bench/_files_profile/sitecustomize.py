"""Loaded into the server by ``bench/files.py --profile FILE`` (this folder
goes first on the server's PYTHONPATH): runs cProfile on the main thread
(the event loop) from start-up to exit and writes the stats to
``$DESKLINK_BENCH_CPROFILE`` when the process ends (SIGTERM from
``ServerProcess.stop``: a handler set here dumps, then exits; should the
server set its own, the normal exit dumps through ``atexit``). Does nothing without that
variable. cProfile slows Python code down: take rates from a run without it."""

import atexit
import cProfile
import os
import signal

_out = os.environ.get("DESKLINK_BENCH_CPROFILE")
if _out:
    _prof = cProfile.Profile()
    _prof.enable()

    def _dump() -> None:
        _prof.disable()
        _prof.dump_stats(_out)

    def _terminated(_signum: int, _frame: object) -> None:
        _dump()
        os._exit(0)

    atexit.register(_dump)
    signal.signal(signal.SIGTERM, _terminated)
