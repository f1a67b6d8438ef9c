"""Wire messages (docs/protocol.md, "Messages"): example-based decoding.

Every client message type is decoded by the endpoint that accepts it, and
refused with the right error code by the one that does not. Properties over
arbitrary input live in test_messages_properties.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol import limits
from desklink.protocol.codes import ERROR_CODES
from desklink.protocol.messages import (
    SERVER_TYPES,
    Accept,
    Cancel,
    ChatSend,
    End,
    JoinChat,
    ScreenRequest,
    Leave,
    Msg,
    Ping,
    RHello,
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
    decode_rep,
    decode_visitor,
    encode,
    error,
)

from . import _docs
from ._strategies import REP_STRUCTS, VISITOR_STRUCTS

TOKEN = "t" * 16

VISITOR_EXAMPLES: list[Msg] = [
    VHello(token=TOKEN),
    VHello(token="x" * 128, last_seq=41),
    ChatSend(cid="c1", text="hello, is anyone there?"),
    ChatSend(cid="c" * limits.MAX_CLIENT_ID_CHARS, text="ünïcødé ✓ 🎉", session_id="ignored"),
    Typing(on=True),
    Typing(on=False),
    Cancel(),
    Leave(),
    Ping(),
]
REP_EXAMPLES: list[Msg] = [
    RHello(),
    RHello(resume={"s1": 0, "s2": 17}),
    SetPresence(status="online"),
    SetPresence(status="away"),
    Accept(request_id="r1"),
    Accept(request_id="r" * 64),
    ChatSend(cid="c1", text="hi", session_id="s1"),
    Typing(on=True, session_id="s1"),
    End(session_id="s1", disposition="resolved"),
    End(session_id="s1", disposition="not_resolved", note="called back"),
    End(session_id="s1", disposition="escalated", note=""),
    ScreenRequest(session_id="s1"),
    Ping(),
    Watch(session_id="s1"),
    Unwatch(session_id="s1"),
    Whisper(session_id="s1", cid="w1", text="try safe mode"),
    JoinChat(session_id="s1"),
    TakeOver(session_id="s1"),
    HandoffList(),
    Transfer(session_id="s1", to_rep_id=2, note="billing knows this customer"),
    Transfer(session_id="s1", to_queue_id=3),
    Invite(session_id="s1", to_rep_id=2),
    HandoffAccept(session_id="s1", id="o1"),
    HandoffDecline(session_id="s1", id="o1"),
    LeaveChat(session_id="s1"),
]


def _tag(msg: Msg) -> str:
    return str(type(msg).__struct_config__.tag)


def _code(decode: Any, data: str | bytes, **kw: Any) -> str:
    with pytest.raises(ProtocolError) as info:
        decode(data, **kw)
    return info.value.code


# --------------------------------------------------------------------------
# every message type, both directions


@pytest.mark.parametrize("msg", VISITOR_EXAMPLES, ids=repr)
def test_visitor_messages_round_trip(msg: Msg) -> None:
    wire = encode(msg)
    assert json.loads(wire)["t"] == _tag(msg)
    assert decode_visitor(wire) == msg
    assert decode_visitor(wire.encode()) == msg


@pytest.mark.parametrize("msg", REP_EXAMPLES, ids=repr)
def test_rep_messages_round_trip(msg: Msg) -> None:
    wire = encode(msg)
    assert json.loads(wire)["t"] == _tag(msg)
    assert decode_rep(wire) == msg
    assert decode_rep(wire.encode()) == msg


def test_examples_cover_every_type() -> None:
    assert {_tag(m) for m in VISITOR_EXAMPLES} == set(VISITOR_STRUCTS)
    assert {_tag(m) for m in REP_EXAMPLES} == set(REP_STRUCTS)


def test_hello_means_different_structs_per_endpoint() -> None:
    assert decode_visitor(f'{{"t":"hello","token":"{TOKEN}"}}') == VHello(token=TOKEN, last_seq=0)
    assert decode_rep('{"t":"hello"}') == RHello(resume={})
    # the visitor's hello needs its token; the rep's does not take one
    assert _code(decode_visitor, '{"t":"hello"}') == "bad_message"
    assert decode_rep(f'{{"t":"hello","token":"{TOKEN}"}}') == RHello()


@pytest.mark.parametrize("tag", sorted(set(REP_STRUCTS) - set(VISITOR_STRUCTS)))
def test_rep_only_types_are_unknown_to_visitors(tag: str) -> None:
    assert _code(decode_visitor, json.dumps({"t": tag})) == "bad_type"


@pytest.mark.parametrize("tag", sorted(set(VISITOR_STRUCTS) - set(REP_STRUCTS)))
def test_visitor_only_types_are_unknown_to_reps(tag: str) -> None:
    assert _code(decode_rep, json.dumps({"t": tag})) == "bad_type"


def test_decoded_messages_are_frozen() -> None:
    msg = decode_visitor('{"t":"chat.send","cid":"a","text":"b"}')
    with pytest.raises(AttributeError):
        msg.text = "changed"  # type: ignore[misc]


def test_unknown_fields_are_ignored() -> None:
    assert decode_visitor('{"t":"cancel","extra":{"a":[1,2,{"b":null}]}}') == Cancel()
    assert decode_rep('{"t":"accept","request_id":"r","why":"x"}') == Accept(request_id="r")


def test_field_order_does_not_matter() -> None:
    assert decode_rep('{"disposition":"resolved","session_id":"s","t":"end"}') == End(
        session_id="s", disposition="resolved"
    )


# --------------------------------------------------------------------------
# error codes


@pytest.mark.parametrize(
    "data",
    ["", "   ", "{", "nul", "{'t': 'ping'}", '{"t":"ping"', "[1,", b"\xff\xfe", b"\x00", "1e999"],
    ids=repr,
)
def test_not_json_is_bad_message(data: str | bytes) -> None:
    assert _code(decode_visitor, data) == "bad_message"
    assert _code(decode_rep, data) == "bad_message"


@pytest.mark.parametrize("data", ["null", "1", '"ping"', "[]", '[{"t":"ping"}]', "true"])
def test_json_that_is_not_an_object_is_bad_message(data: str) -> None:
    assert _code(decode_visitor, data) == "bad_message"
    assert _code(decode_rep, data) == "bad_message"


@pytest.mark.parametrize("data", ["{}", '{"type":"ping"}', '{"T":"ping"}', '{"cid":"a","text":"b"}'])
def test_missing_t_is_bad_type(data: str) -> None:
    assert _code(decode_visitor, data) == "bad_type"
    assert _code(decode_rep, data) == "bad_type"


@pytest.mark.parametrize("t", ["", "Ping", "chat", "chat.sendx", "pong", "welcome", "error", " ping"])
def test_unknown_t_is_bad_type(t: str) -> None:
    assert _code(decode_visitor, json.dumps({"t": t})) == "bad_type"
    assert _code(decode_rep, json.dumps({"t": t})) == "bad_type"


@pytest.mark.parametrize("t", [1, None, True, ["ping"], {"t": "ping"}])
def test_non_string_t_is_refused(t: object) -> None:
    for decode in (decode_visitor, decode_rep):
        with pytest.raises(ProtocolError) as info:
            decode(json.dumps({"t": t}))
        assert not isinstance(info.value, TooLarge)
        assert info.value.code in ("bad_type", "bad_message")


@pytest.mark.parametrize(
    ("decode", "data"),
    [
        # wrong JSON types
        (decode_visitor, '{"t":"hello","token":16}'),
        (decode_visitor, f'{{"t":"hello","token":"{TOKEN}","last_seq":"3"}}'),
        (decode_visitor, f'{{"t":"hello","token":"{TOKEN}","last_seq":1.0}}'),
        (decode_visitor, f'{{"t":"hello","token":"{TOKEN}","last_seq":true}}'),
        (decode_visitor, '{"t":"chat.send","cid":1,"text":"x"}'),
        (decode_visitor, '{"t":"chat.send","cid":"a","text":["x"]}'),
        (decode_visitor, '{"t":"typing","on":1}'),
        (decode_visitor, '{"t":"typing","on":"true"}'),
        (decode_rep, '{"t":"hello","resume":[]}'),
        (decode_rep, '{"t":"hello","resume":{"s":"1"}}'),
        (decode_rep, '{"t":"presence","status":1}'),
        (decode_rep, '{"t":"accept","request_id":7}'),
        (decode_rep, '{"t":"end","session_id":"s","disposition":"resolved","note":null}'),
        # values out of their declared range
        (decode_visitor, '{"t":"hello","token":"short"}'),
        (decode_visitor, f'{{"t":"hello","token":"{"x" * 129}"}}'),
        (decode_visitor, f'{{"t":"hello","token":"{TOKEN}","last_seq":-1}}'),
        (decode_visitor, '{"t":"chat.send","cid":"","text":"x"}'),
        (decode_visitor, f'{{"t":"chat.send","cid":"{"c" * 65}","text":"x"}}'),
        (decode_rep, '{"t":"hello","resume":{"s":-1}}'),
        (decode_rep, '{"t":"presence","status":"busy"}'),
        (decode_rep, '{"t":"presence","status":"Online"}'),
        (decode_rep, '{"t":"accept","request_id":""}'),
        (decode_rep, f'{{"t":"accept","request_id":"{"r" * 65}"}}'),
        (decode_rep, '{"t":"end","session_id":"s","disposition":"fixed"}'),
        (decode_rep, '{"t":"end","session_id":"","disposition":"resolved"}'),
        # required fields missing
        (decode_visitor, '{"t":"chat.send","text":"x"}'),
        (decode_visitor, '{"t":"chat.send","cid":"a"}'),
        (decode_visitor, '{"t":"typing"}'),
        (decode_rep, '{"t":"presence"}'),
        (decode_rep, '{"t":"accept"}'),
        (decode_rep, '{"t":"end","session_id":"s"}'),
    ],
)
def test_wrong_fields_are_bad_message(decode: Any, data: str) -> None:
    assert _code(decode, data) == "bad_message"


def test_error_codes_raised_are_known() -> None:
    for data in ["x", "{}", '{"t":"nope"}', '{"t":"typing","on":0}']:
        assert _code(decode_visitor, data) in ERROR_CODES
    assert _code(decode_visitor, "{}", max_bytes=1) in ERROR_CODES


def test_literal_values_do_not_change_the_error_code() -> None:
    """The code is chosen by parsing msgspec's error text, which quotes the
    value the peer sent; a value that looks like the tag error must not turn a
    wrong field into an unknown type."""
    for data in [
        '{"t":"presence","status":"Invalid value `$.t`"}',
        '{"t":"end","session_id":"s","disposition":"Invalid value - at `$.t`"}',
    ]:
        assert _code(decode_rep, data) == "bad_message"


# --------------------------------------------------------------------------
# size limit


def test_message_at_the_limit_is_decoded_and_one_byte_over_is_too_large() -> None:
    wire = encode(ChatSend(cid="a", text="x" * 100))
    size = len(wire.encode())
    assert decode_visitor(wire, max_bytes=size) == ChatSend(cid="a", text="x" * 100)
    with pytest.raises(TooLarge) as info:
        decode_visitor(wire, max_bytes=size - 1)
    assert info.value.code == "too_large"
    assert info.value.http_status == 413
    assert isinstance(info.value, ProtocolError)


def test_size_counts_utf8_bytes_not_characters() -> None:
    wire = encode(ChatSend(cid="a", text="é" * 10))
    assert len(wire.encode()) == len(wire) + 10
    with pytest.raises(TooLarge):
        decode_visitor(wire, max_bytes=len(wire))
    assert decode_visitor(wire, max_bytes=len(wire) + 10).text == "é" * 10


def test_default_limit_is_max_message_bytes() -> None:
    padding = "x" * (limits.MAX_MESSAGE_BYTES - len('{"t":"ping","p":""}'))
    at_limit = '{"t":"ping","p":"' + padding + '"}'
    assert len(at_limit) == limits.MAX_MESSAGE_BYTES
    assert decode_visitor(at_limit) == Ping()
    assert decode_rep(at_limit) == Ping()
    with pytest.raises(TooLarge):
        decode_visitor(at_limit + " ")
    with pytest.raises(TooLarge):
        decode_rep((at_limit + " ").encode())


def test_size_is_checked_before_parsing() -> None:
    # garbage over the limit is too large, not malformed
    with pytest.raises(TooLarge):
        decode_visitor("{" * 100, max_bytes=99)


# --------------------------------------------------------------------------
# never anything but ProtocolError: inputs that have escaped it


def _escaping(inputs: list[str | bytes]) -> list[str]:
    """Every (decoder, input) that raised something other than ProtocolError
    or returned something other than a message."""
    escaped = []
    for decode in (decode_visitor, decode_rep):
        for data in inputs:
            try:
                result = decode(data)
            except ProtocolError:
                continue
            except Exception as exc:  # noqa: BLE001 - that is the point
                escaped.append(f"{decode.__name__}({data[:40]!r}...) raised {type(exc).__name__}: {exc}")
                continue
            if not isinstance(result, Msg):
                escaped.append(f"{decode.__name__}({data[:40]!r}...) returned {result!r}")
    return escaped


def test_lone_surrogates_in_a_str_are_protocol_errors() -> None:
    # A Python str can hold lone surrogates and the decoders accept str.
    assert _escaping(['"\ud800"', '{"t":"ping","x":"\udfff"}', '{"t":"chat.send","cid":"a","text":"\ud83d"}']) == []


def test_invalid_utf8_in_a_string_value_is_a_protocol_error() -> None:
    assert _escaping(
        [
            b'{"t":"chat.send","cid":"a","text":"\xff"}',
            b'{"t":"chat.send","cid":"\xed\xa0\x80","text":"a"}',  # an encoded surrogate
            b'{"t":"\x80ping"}',
        ]
    ) == []


def test_deep_nesting_is_a_protocol_error() -> None:
    depth = 5000
    inputs: list[str | bytes] = [
        '{"t":"ping","x":' + "[" * depth + "0" + "]" * depth + "}",
        '{"t":"ping","x":' + '{"a":' * depth + "0" + "}" * depth + "}",
    ]
    assert all(len(data) < limits.MAX_MESSAGE_BYTES for data in inputs)  # a peer can send these
    assert _escaping(inputs) == []


# --------------------------------------------------------------------------
# server side


def test_encode_server_dicts() -> None:
    assert json.loads(encode({"t": "pong"})) == {"t": "pong"}
    assert json.loads(encode({"t": "chat", "text": "<b>é</b>", "seq": 3})) == {"t": "chat", "text": "<b>é</b>", "seq": 3}
    assert isinstance(encode({"t": "pong"}), str)


def test_error_message_shape() -> None:
    assert error("bad_type", "what") == {"t": "error", "code": "bad_type", "message": "what"}
    assert error("conflict_taken", "too late", "r1") == {
        "t": "error",
        "code": "conflict_taken",
        "message": "too late",
        "ref": "r1",
    }
    assert "ref" not in error("internal", "x", "")
    assert error("internal", "x")["t"] in SERVER_TYPES


def test_server_types_do_not_overlap_client_structs() -> None:
    # A server message fed back to a decoder is never mistaken for a client one
    # (except the shared names typing/presence/whisper whose fields differ).
    for t in SERVER_TYPES:
        if t in ("typing", "presence", "whisper"):
            continue
        assert _code(decode_visitor, json.dumps({"t": t})) == "bad_type"
        assert _code(decode_rep, json.dumps({"t": t})) == "bad_type"


def test_structs_encode_with_msgspec_tags() -> None:
    for msg in VISITOR_EXAMPLES + REP_EXAMPLES:
        assert msgspec.json.decode(encode(msg))["t"] == _tag(msg)


# --------------------------------------------------------------------------
# docs/protocol.md, "Messages"


def _documented(title: str) -> dict[str, set[str]]:
    """t -> field names, from a message table of the docs."""
    out: dict[str, set[str]] = {}
    for row in _docs.table(title, "t"):
        (tag,) = _docs.backticked(row[0])
        fields = {re.match(r"\w+", f).group(0) for f in _docs.backticked(row[1]) if re.match(r"\w+", f)}  # type: ignore[union-attr]
        out.setdefault(tag, set()).update(fields)
    return out


@pytest.mark.parametrize(
    ("title", "structs"), [("visitor -> server", VISITOR_STRUCTS), ("rep -> server", REP_STRUCTS)]
)
def test_documented_client_messages_match_the_structs(title: str, structs: dict[str, type]) -> None:
    documented = _documented(title)
    assert set(documented) == set(structs)
    for tag, fields in documented.items():
        assert fields <= set(structs[tag].__struct_fields__), tag


def test_the_decoders_accept_exactly_the_documented_types() -> None:
    for decode, title in ((decode_visitor, "visitor -> server"), (decode_rep, "rep -> server")):
        documented = set(_documented(title))
        for tag in documented | set(SERVER_TYPES) | {"nope"}:
            try:
                decode(json.dumps({"t": tag}))
            except ProtocolError as exc:
                # a documented type may still miss required fields, never be unknown
                assert (exc.code == "bad_type") == (tag not in documented), (decode.__name__, tag)


def test_documented_server_messages_match_server_types() -> None:
    documented = {_docs.backticked(row[0])[0] for row in _docs.table("server -> clients", "t")}
    assert documented == set(SERVER_TYPES)
    assert all(description.strip() for description in SERVER_TYPES.values())


def test_seq_beyond_the_database_range_is_refused() -> None:
    from desklink.errors import ProtocolError
    from desklink.protocol.messages import decode_rep, decode_visitor

    for decode, data in (
        (decode_visitor, '{"t":"hello","token":"0000000000000000","last_seq":%d}' % (2**62 + 1)),
        (decode_rep, '{"t":"hello","resume":{"s":%d}}' % (2**62 + 1)),
    ):
        try:
            decode(data)
        except ProtocolError as exc:
            assert exc.code == "bad_message"
        else:
            raise AssertionError("an out-of-range seq was accepted")
