"""Wire messages: properties over arbitrary input.

The decoders are the first thing a peer's bytes reach. Whatever arrives they
return one of the declared structs or raise ``ProtocolError``; over the limit
it is ``TooLarge``; the code tells the peer what was wrong.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from desklink.errors import ProtocolError, TooLarge
from desklink.protocol.messages import Msg, decode_rep, decode_visitor, encode

from . import _strategies as S

DECODERS = [(decode_visitor, S.VISITOR_STRUCTS), (decode_rep, S.REP_STRUCTS)]
decoder_params = pytest.mark.parametrize(("decode", "structs"), DECODERS, ids=["visitor", "rep"])


def _check_outcome(decode: Any, structs: dict[str, type], data: str | bytes) -> Msg | None:
    """Decode; a result must be one of the endpoint's structs, a failure a
    ``ProtocolError`` (anything else propagates and fails the test)."""
    try:
        result = decode(data)
    except ProtocolError as exc:
        assert exc.code in ("bad_message", "bad_type", "too_large")
        return None
    assert type(result) in structs.values()
    assert structs[type(result).__struct_config__.tag] is type(result)
    return result


def _serialised(obj: Any) -> st.SearchStrategy[str | bytes]:
    return st.sampled_from(
        [
            json.dumps(obj),
            json.dumps(obj, ensure_ascii=False),
            json.dumps(obj).encode(),
            json.dumps(obj, ensure_ascii=False).encode("utf-8"),
        ]
    )


# --------------------------------------------------------------------------
# (1) any input: a declared struct or ProtocolError


@decoder_params
@given(data=st.text())
def test_any_text(decode: Any, structs: dict[str, type], data: str) -> None:
    _check_outcome(decode, structs, data)


@decoder_params
@given(data=st.binary())
def test_any_bytes(decode: Any, structs: dict[str, type], data: bytes) -> None:
    _check_outcome(decode, structs, data)


@decoder_params
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(obj=S.jsonish, data=st.data())
def test_any_json(decode: Any, structs: dict[str, type], obj: Any, data: st.DataObject) -> None:
    wire = data.draw(_serialised(obj))
    result = _check_outcome(decode, structs, wire)
    if result is None:
        return
    # what was decoded is what was sent: the tag and every field it gave
    assert isinstance(obj, dict)
    assert obj["t"] == type(result).__struct_config__.tag
    decoded = msgspec.structs.asdict(result)
    for name, value in decoded.items():
        if name in obj:
            assert value == obj[name]
            assert type(value) is type(obj[name])


@decoder_params
@given(obj=S.tagged_objects, cut=st.integers(min_value=0))
def test_truncated_json(decode: Any, structs: dict[str, type], obj: Any, cut: int) -> None:
    wire = json.dumps(obj)
    _check_outcome(decode, structs, wire[: cut % (len(wire) + 1)])


@given(
    which=st.sampled_from(DECODERS),
    obj=S.tagged_objects,
    junk=st.binary(min_size=1, max_size=4),
    at=st.integers(min_value=0),
)
def test_corrupted_json_bytes(which: Any, obj: Any, junk: bytes, at: int) -> None:
    decode, structs = which
    wire = json.dumps(obj, ensure_ascii=False).encode()
    at %= len(wire) + 1
    _check_outcome(decode, structs, wire[:at] + junk + wire[at:])


@given(
    which=st.sampled_from(DECODERS),
    prefix=st.text(max_size=5),
    surrogate=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
)
def test_any_str_even_with_lone_surrogates(which: Any, prefix: str, surrogate: str) -> None:
    # A Python str may hold lone surrogates; the decoders take str.
    decode, structs = which
    _check_outcome(decode, structs, '{"t":"ping","x":"' + prefix + surrogate + '"}')


# --------------------------------------------------------------------------
# (2) over the limit: TooLarge


@decoder_params
@given(data=st.text(min_size=1) | st.binary(min_size=1), fraction=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_over_the_limit_is_too_large(decode: Any, structs: dict[str, type], data: str | bytes, fraction: float) -> None:
    size = len(data.encode() if isinstance(data, str) else data)
    max_bytes = int(size * fraction)
    assert max_bytes < size
    with pytest.raises(TooLarge) as info:
        decode(data, max_bytes)
    assert info.value.code == "too_large"


@given(msg=S.visitor_structs)
def test_visitor_message_exactly_at_the_limit_decodes(msg: Msg) -> None:
    wire = encode(msg)
    size = len(wire.encode())
    assert decode_visitor(wire, size) == msg
    with pytest.raises(TooLarge):
        decode_visitor(wire, size - 1)


@given(msg=S.rep_structs)
def test_rep_message_exactly_at_the_limit_decodes(msg: Msg) -> None:
    wire = encode(msg).encode()
    assert decode_rep(wire, len(wire)) == msg
    with pytest.raises(TooLarge):
        decode_rep(wire, len(wire) - 1)


# --------------------------------------------------------------------------
# (3) error codes


@decoder_params
@given(
    t=st.text(max_size=20),
    fields=st.dictionaries(S.keys, S.json_values, max_size=4),
    first=st.booleans(),
)
def test_unknown_t_is_bad_type(decode: Any, structs: dict[str, type], t: str, fields: dict[str, Any], first: bool) -> None:
    assume(t not in structs)
    obj = {"t": t, **fields} if first else {**fields, "t": t}
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps(obj))
    assert info.value.code == "bad_type"


@decoder_params
@given(fields=S.untagged_objects)
def test_missing_t_is_bad_type(decode: Any, structs: dict[str, type], fields: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps(fields))
    assert info.value.code == "bad_type"


TOKEN = "k" * 16
#: (decoder, valid message, field, strategy of wrong values for that field)
WRONG_FIELDS: list[tuple[Any, dict[str, Any], str, st.SearchStrategy[Any]]] = [
    (decode_visitor, {"t": "hello", "token": TOKEN}, "token", S.not_str | st.text(max_size=15) | st.text(min_size=129, max_size=200)),
    (decode_visitor, {"t": "hello", "token": TOKEN}, "last_seq", S.not_seq),
    (decode_visitor, {"t": "chat.send", "cid": "c", "text": "x"}, "cid", S.not_str | st.just("") | st.text(min_size=65, max_size=80)),
    (decode_visitor, {"t": "chat.send", "cid": "c", "text": "x"}, "text", S.not_str),
    (decode_visitor, {"t": "chat.send", "cid": "c", "text": "x"}, "session_id", S.not_str),
    (decode_visitor, {"t": "typing", "on": True}, "on", S.not_bool),
    (decode_rep, {"t": "hello"}, "resume", S.not_str.filter(lambda v: not isinstance(v, dict)) | st.text()),
    (decode_rep, {"t": "hello"}, "resume", st.dictionaries(st.text(max_size=5), S.not_seq, min_size=1, max_size=3)),
    (decode_rep, {"t": "presence", "status": "online"}, "status", S.not_str | S.not_literal_text.filter(lambda s: s not in ("online", "away"))),
    (decode_rep, {"t": "accept", "request_id": "r"}, "request_id", S.not_str | st.just("") | st.text(min_size=65, max_size=80)),
    (decode_rep, {"t": "end", "session_id": "s", "disposition": "resolved"}, "session_id", S.not_str | st.just("")),
    (decode_rep, {"t": "end", "session_id": "s", "disposition": "resolved"}, "disposition", S.not_str | S.not_literal_text.filter(lambda s: s not in ("resolved", "not_resolved", "escalated"))),
    (decode_rep, {"t": "end", "session_id": "s", "disposition": "resolved"}, "note", S.not_str),
    (decode_rep, {"t": "chat.send", "cid": "c", "text": "x", "session_id": "s"}, "text", S.not_str),
    (decode_rep, {"t": "typing", "on": False, "session_id": "s"}, "on", S.not_bool),
]


@pytest.mark.parametrize(("decode", "valid", "field", "wrong"), WRONG_FIELDS, ids=[f"{v['t']}.{f}" for _, v, f, _ in WRONG_FIELDS])
@given(data=st.data())
def test_wrong_field_is_bad_message(decode: Any, valid: dict[str, Any], field: str, wrong: Any, data: st.DataObject) -> None:
    decode(json.dumps(valid))  # the base message is valid
    value = data.draw(wrong, label=field)
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps({**valid, field: value}))
    assert info.value.code == "bad_message"
    assert not isinstance(info.value, TooLarge)


REQUIRED_FIELDS = [
    (decode_visitor, {"t": "hello", "token": TOKEN}, "token"),
    (decode_visitor, {"t": "chat.send", "cid": "c", "text": "x"}, "cid"),
    (decode_visitor, {"t": "chat.send", "cid": "c", "text": "x"}, "text"),
    (decode_visitor, {"t": "typing", "on": True}, "on"),
    (decode_rep, {"t": "presence", "status": "online"}, "status"),
    (decode_rep, {"t": "accept", "request_id": "r"}, "request_id"),
    (decode_rep, {"t": "end", "session_id": "s", "disposition": "resolved"}, "session_id"),
    (decode_rep, {"t": "end", "session_id": "s", "disposition": "resolved"}, "disposition"),
    (decode_rep, {"t": "chat.send", "cid": "c", "text": "x"}, "cid"),
    (decode_rep, {"t": "typing", "on": True}, "on"),
]


@pytest.mark.parametrize(("decode", "valid", "field"), REQUIRED_FIELDS, ids=[f"{v['t']}.{f}" for _, v, f in REQUIRED_FIELDS])
def test_missing_required_field_is_bad_message(decode: Any, valid: dict[str, Any], field: str) -> None:
    decode(json.dumps(valid))
    obj = {k: v for k, v in valid.items() if k != field}
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps(obj))
    assert info.value.code == "bad_message"


# --------------------------------------------------------------------------
# (4) round trips


@given(msg=S.chat_sends | S.typings)
def test_shared_messages_round_trip_on_both_endpoints(msg: Msg) -> None:
    wire = encode(msg)
    assert decode_visitor(wire) == msg
    assert decode_rep(wire) == msg
    assert decode_visitor(wire.encode()) == msg


@given(msg=S.vhellos)
def test_vhello_round_trip(msg: Msg) -> None:
    assert decode_visitor(encode(msg)) == msg


@given(msg=S.rhellos | S.accepts | S.ends | S.presences)
def test_rep_messages_round_trip(msg: Msg) -> None:
    assert decode_rep(encode(msg)) == msg


@given(msg=S.visitor_structs | S.rep_structs)
def test_encoding_is_canonical(msg: Msg) -> None:
    # encode(decode(encode(m))) == encode(m): no field is lost or renamed
    wire = encode(msg)
    decode = decode_rep if type(msg) in S.REP_STRUCTS.values() else decode_visitor
    assert encode(decode(wire)) == wire
    assert json.loads(wire)["t"] == type(msg).__struct_config__.tag
