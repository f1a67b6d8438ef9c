"""Hypothesis strategies shared by the protocol tests.

The expected message sets are written out here from docs/protocol.md rather
than read from the code under test, so a type silently added to or dropped
from a decoder's union shows up as a failure.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from desklink.protocol import limits
from desklink.protocol.messages import (
    Accept,
    Cancel,
    ChatSend,
    End,
    JoinChat,
    Leave,
    Ping,
    RHello,
    ScreenRequest,
    SetPresence,
    TakeOver,
    HandoffAccept,
    HandoffDecline,
    HandoffList,
    Invite,
    LeaveChat,
    Transfer,
    Typing,
    Unwatch,
    VHello,
    Watch,
    Whisper,
)

VISITOR_STRUCTS: dict[str, type] = {
    "hello": VHello,
    "chat.send": ChatSend,
    "typing": Typing,
    "cancel": Cancel,
    "leave": Leave,
    "ping": Ping,
}
REP_STRUCTS: dict[str, type] = {
    "hello": RHello,
    "presence": SetPresence,
    "accept": Accept,
    "chat.send": ChatSend,
    "typing": Typing,
    "end": End,
    "screen.request": ScreenRequest,
    "ping": Ping,
    "watch": Watch,
    "unwatch": Unwatch,
    "whisper": Whisper,
    "join_chat": JoinChat,
    "take_over": TakeOver,
    "handoff.list": HandoffList,
    "transfer": Transfer,
    "invite": Invite,
    "handoff.accept": HandoffAccept,
    "handoff.decline": HandoffDecline,
    "leave_chat": LeaveChat,
}
ALL_TAGS = frozenset(VISITOR_STRUCTS) | frozenset(REP_STRUCTS)
FIELD_NAMES = (
    "token",
    "last_seq",
    "cid",
    "text",
    "session_id",
    "on",
    "resume",
    "status",
    "request_id",
    "disposition",
    "note",
)

# --------------------------------------------------------------------------
# arbitrary JSON

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=16,
)
keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=8).filter(lambda k: k != "t")
any_tag = st.sampled_from(sorted(ALL_TAGS)) | st.text(max_size=12) | json_scalars
#: Objects that look like messages: known or random ``t``, known or random
#: fields with arbitrary values.
tagged_objects = st.builds(lambda base, t: {**base, "t": t}, st.dictionaries(keys, json_values, max_size=5), any_tag)
untagged_objects = st.dictionaries(keys, json_values, max_size=5)
jsonish = tagged_objects | untagged_objects | json_values

# --------------------------------------------------------------------------
# valid structs

ids = st.text(min_size=1, max_size=64)
seqs = st.integers(min_value=0, max_value=2**62)
session_ids = st.text(max_size=64)

chat_sends = st.builds(ChatSend, cid=st.text(min_size=1, max_size=limits.MAX_CLIENT_ID_CHARS), text=st.text(), session_id=session_ids)
typings = st.builds(Typing, on=st.booleans(), session_id=session_ids)
accepts = st.builds(Accept, request_id=ids)
ends = st.builds(
    End,
    session_id=ids,
    disposition=st.sampled_from(["resolved", "not_resolved", "escalated"]),
    note=st.text(),
)
vhellos = st.builds(VHello, token=st.text(min_size=16, max_size=128), last_seq=seqs)
rhellos = st.builds(RHello, resume=st.dictionaries(st.text(max_size=64), seqs, max_size=6))
presences = st.builds(SetPresence, status=st.sampled_from(["online", "away"]))

visitor_structs = vhellos | chat_sends | typings | st.sampled_from([Cancel(), Leave(), Ping()])
rep_structs = rhellos | chat_sends | typings | accepts | ends | presences | st.just(Ping())

# --------------------------------------------------------------------------
# wrong types

not_str = (
    st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
not_bool = (
    st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.none()
    | st.lists(st.booleans(), max_size=3)
)
not_seq = (
    st.integers(max_value=-1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.text(max_size=5)
    | st.none()
    | st.lists(st.integers(), max_size=3)
)
# Strings a peer could pick for a Literal field; kept free of the backtick so
# this property is about types, not about the error-text parsing bug that
# test_messages.py pins separately.
not_literal_text = st.text(max_size=20).filter(lambda s: "`" not in s)


# --------------------------------------------------------------------------
# valid messages, then damaged: close to the boundary between valid and not


@st.composite
def mutated_messages(draw: st.DrawFn) -> dict[str, Any]:
    import msgspec

    obj: dict[str, Any] = msgspec.to_builtins(draw(visitor_structs | rep_structs))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        key = draw(st.sampled_from(sorted(obj)) | keys if obj else keys)
        action = draw(st.sampled_from(["drop", "replace", "add"]))
        if action == "drop":
            obj.pop(key, None)
        else:
            obj[key] = draw(json_values)
    return obj


jsonish = jsonish | mutated_messages()
