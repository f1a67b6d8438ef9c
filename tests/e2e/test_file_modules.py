"""The browser's file modules in Debian's Chromium, inside a module Worker
(no DOM), loaded from the real server's ``/static/`` path:

* ``shared/transfer.js``: CRC-32 and the chunk codec against Python's zlib
  and ``protocol/files.py``; SHA-256 (the vendored @noble/hashes) against
  hashlib, whole and incremental in odd pieces, and of a Blob read in slices;
* the JS ``Sender`` against the Python one: the same script of acks, naks,
  pauses and resumes gives the same chunks, never past the credit, and the
  same count of bytes sent again.
"""

from __future__ import annotations

import base64
import hashlib
import random
import zlib
from typing import Any

import pytest
from playwright.sync_api import Browser
from test_viewer_modules import run_in_worker

from desklink.protocol.files import Sender, encode_chunk
from desklink.protocol.framing import Channel, split_frame
from desklink.testing import ServerProcess

pytestmark = pytest.mark.browser

SIZES = [0, 1, 3, 55, 56, 63, 64, 65, 127, 128, 1000, 65_537]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


HASHES = """
import { crc32, Sha256, hashBlob, encodeChunk, decodeChunk, chunkParts } from '/static/shared/transfer.js';

const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
const out = { small: [], big: null, chunks: [] };
for (const s of DATA.small) {
  const bytes = b64(s);
  out.small.push({ crc: crc32(bytes), sha: new Sha256().update(bytes).hex() });
}
// 5 MB incremental, in odd pieces; the CRC continued piece by piece too
const big = b64(DATA.big);
const hash = new Sha256();
let crc = 0;
let at = 0;
for (const piece of DATA.pieces) {
  const part = big.subarray(at, at + piece);
  hash.update(part);
  crc = crc32(part, crc);
  at += piece;
}
const fromBlob = await hashBlob(new Blob([big]), { piece: 1_000_003 });
out.big = { sha: hash.hex(), crc, fed: at, fromBlob, emptyBlob: await hashBlob(new Blob([])) };
for (const c of DATA.chunks) {
  const encoded = encodeChunk(c.id, c.offset, b64(c.data));
  const back = decodeChunk(encoded);
  out.chunks.push({ hex: hex(encoded), id: back.id, offset: back.offset, crc: back.crc32, len: back.data.length,
    parts: chunkParts(encoded, 65536).map(hex) });
}
let refused = '';
try { encodeChunk(1, 0, new Uint8Array(0)); } catch (err) { refused = err.name; }
out.emptyChunk = refused;
return out;
"""


def test_crc32_sha256_and_chunks_equal_python(browser: Browser, server: ServerProcess) -> None:
    rng = random.Random(11)
    small = [rng.randbytes(n) for n in SIZES]
    big = rng.randbytes(5 * 1024 * 1024 + 17)
    pieces: list[int] = []
    left = len(big)
    while left:
        piece = min(left, rng.choice([1, 7, 63, 64, 65, 4095, 65_537, 333_333]))
        pieces.append(piece)
        left -= piece
    chunks = [
        {"id": 1, "offset": 0, "data": b"x"},
        {"id": 2**40 + 3, "offset": 2**33 + 5, "data": rng.randbytes(300)},
        {"id": 7, "offset": 262_144, "data": rng.randbytes(262_144)},
    ]
    out = run_in_worker(browser, server, HASHES, {
        "small": [b64(s) for s in small], "big": b64(big), "pieces": pieces,
        "chunks": [{**c, "data": b64(c["data"])} for c in chunks],
    })
    for data, got in zip(small, out["small"], strict=True):
        assert got == {"crc": zlib.crc32(data), "sha": hashlib.sha256(data).hexdigest()}, len(data)
    assert out["big"]["fed"] == len(big)
    assert out["big"]["sha"] == hashlib.sha256(big).hexdigest()
    assert out["big"]["fromBlob"] == hashlib.sha256(big).hexdigest()
    assert out["big"]["emptyBlob"] == hashlib.sha256(b"").hexdigest()
    assert out["big"]["crc"] == zlib.crc32(big)
    for c, got in zip(chunks, out["chunks"], strict=True):
        data = c["data"]
        assert isinstance(data, bytes)
        expected = bytes([int(Channel.FILE)]) + encode_chunk(int(c["id"]), int(c["offset"]), data)  # type: ignore[call-overload]
        assert got["hex"] == expected.hex()
        # in parts of at most one WebSocket message, as the server's Reassembler joins them
        assert got["parts"] == [p.hex() for p in split_frame(Channel.FILE, expected[1:], 65536)]
        assert (got["id"], got["offset"], got["crc"], got["len"]) == (c["id"], c["offset"], zlib.crc32(data), len(data))
    assert out["emptyChunk"] == "TransferError"


SENDER = """
import { Sender } from '/static/shared/transfer.js';

const traces = [];
for (const script of DATA) {
const s = new Sender(script.size, script.chunk);
const trace = [];
traces.push(trace);
for (const op of script.ops) {
  try {
    if (op[0] === 'ack') s.ack(op[1], op[2]);
    else if (op[0] === 'resume') s.resumeFrom(op[1], op[2]);
    else if (op[0] === 'nak') s.nak(op[1]);
    else if (op[0] === 'pause') s.paused = op[1];
    else if (op[0] === 'pump') {
      const spans = [];
      let span;
      while ((span = s.nextSpan()) !== null) {
        spans.push(span);
        s.sent(span[0] + span[1]);
      }
      trace.push(['sent', spans, s.until]);
    }
  } catch (err) {
    trace.push(['error', err.name]);
  }
  trace.push(['at', s.position, s.acked, s.until, s.resentBytes, s.finished, s.complete]);
}
}
return traces;
"""


def python_trace(size: int, chunk: int, ops: list[list[Any]]) -> list[list[Any]]:
    s = Sender(size, chunk)
    trace: list[list[Any]] = []
    for op in ops:
        try:
            if op[0] == "ack":
                s.ack(op[1], op[2])
            elif op[0] == "resume":
                s.resume_from(op[1], op[2])
            elif op[0] == "nak":
                s.nak(op[1])
            elif op[0] == "pause":
                s.paused = op[1]
            elif op[0] == "pump":
                spans = []
                while (span := s.next_span()) is not None:
                    spans.append(list(span))
                    s.sent(span[0] + span[1])
                trace.append(["sent", spans, s.until])
        except Exception:  # noqa: BLE001 (both sides refuse the same ops)
            trace.append(["error", "TransferError"])
        trace.append(["at", s.position, s.acked, s.until, s.resent_bytes, s.finished, s.complete])
    return trace


def test_js_sender_matches_python_window_nak_resume(browser: Browser, server: ServerProcess) -> None:
    size, chunk = 1000, 100
    ops: list[list[Any]] = [
        ["pump"],  # no credit yet: nothing
        ["ack", 0, 250], ["pump"],  # 100, 100, 50: never at or past until
        ["ack", 200, 450], ["pump"],
        ["nak", 300], ["pump"],  # back to 300: 150 bytes again
        ["pause", True], ["ack", 450, 800], ["pump"],  # paused: nothing
        ["pause", False], ["pump"],
        ["resume", 600, 900], ["pump"],  # a reconnect: from the server's durable offset
        ["ack", 900, 1000], ["pump"],
        ["ack", 1000, 1000], ["pump"],
        ["ack", 1001, 1001], ["nak", 5], ["ack", 50, 10],  # refused: past the end, before acked, until < acked
    ]
    scripts: list[dict[str, Any]] = [{"size": size, "chunk": chunk, "ops": ops}]
    # and random scripts: the two implementations never disagree
    rng = random.Random(5)
    for _ in range(40):
        rsize = rng.randint(0, 5000)
        acked = 0
        rops: list[list[Any]] = []
        for _ in range(40):
            r = rng.random()
            if r < 0.4:
                acked = min(rsize, acked + rng.randint(0, 700))
                rops.append(["ack", acked, min(rsize, acked + rng.randint(0, 1200))])
            elif r < 0.55:
                rops.append(["nak", rng.randint(acked, rsize)])
            elif r < 0.65:
                rops.append(["resume", acked, min(rsize, acked + rng.randint(0, 900))])
            elif r < 0.75:
                rops.append(["pause", rng.random() < 0.5])
            else:
                rops.append(["pump"])
        scripts.append({"size": rsize, "chunk": rng.choice([1, 64, 256, 1000]), "ops": rops})
    traces = run_in_worker(browser, server, SENDER, scripts)
    for script, trace in zip(scripts[1:], traces[1:], strict=True):
        assert trace == python_trace(script["size"], script["chunk"], script["ops"])
    js = traces[0]
    py = python_trace(size, chunk, ops)
    assert js == py
    sent = [t for t in js if t[0] == "sent"]
    assert sent[0][1] == []
    assert sent[1][1] == [[0, 100], [100, 100], [200, 50]]
    for _, spans, until in sent:
        assert all(o + n <= until for o, n in spans)
    assert [t for t in js if t[0] == "error"] == [["error", "TransferError"]] * 3
    final = [t for t in js if t[0] == "at"][-1]
    assert final[5] is True and final[6] is True  # finished, complete
    assert final[4] == 150 + 200  # resent after the nak (300..450) and after the resume (600..800)

