"""Sans-I/O protocol core: messages, framing, state machines, limits.

Imports no asyncio, web framework, database or Redis; bytes and values in,
events and values out. Tested without any of those.
"""

from desklink.protocol.codes import ERROR_CODES
from desklink.protocol.lifecycle import REQUEST_TRANSITIONS, next_status
from desklink.protocol.messages import decode_rep, decode_visitor, encode
from desklink.protocol.outbox import Outbox, Priority
from desklink.protocol.ratelimit import TokenBucket

__all__ = [
    "ERROR_CODES",
    "REQUEST_TRANSITIONS",
    "Outbox",
    "Priority",
    "TokenBucket",
    "decode_rep",
    "decode_visitor",
    "encode",
    "next_status",
]
