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



CARDS = """async (data) => {
  const { FileCards, statusText, formatBytes, formatRate, fileErrorText } = await import('/static/shared/file-cards.js');
  const { ChatLog } = await import('/static/shared/chatlog.js');
  const list = document.createElement('ol');
  document.body.append(list);
  const log = new ChatLog(list, { self: 'rep' });
  const sent = [];
  const cards = new FileCards({ log, self: 'rep', origin: 'http://files.example:8080', otherName: () => data.visitor,
    pause: (id, on) => { sent.push(['pause', id, on]); return true; }, cancel: (id) => { sent.push(['cancel', id]); return true; },
    repick: () => '' });
  const T0 = Date.parse('2030-01-01T10:00:00Z');
  const iso = (s) => new Date(T0 + s * 1000).toISOString();
  log.add({ seq: 1, from: 'visitor', name: data.visitor, text: 'first', ts: iso(0) });
  log.add({ seq: 3, from: 'rep', name: 'Riley', text: 'third', ts: iso(30) });
  const base = { session_id: 's', size: 3_500_000, mime: 'text/html', by: data.visitor, via: 'browser', to: 'chat', received: 0, delivered: 0,
    sha256: '', reason: '', download: '', rate: 0, eta_s: null };
  cards.onState({ ...base, id: 7, name: data.name, sender: 'visitor', status: 'uploading', received: 1_000_000, rate: 250_000, eta_s: 10, created: (T0 + 20_000) / 1000 });
  cards.onState({ ...base, id: 8, name: 'fix.zip', sender: 'rep', by: 'Riley', status: 'offered', to: 'computer', created: (T0 + 5_000) / 1000 });
  log.add({ seq: 2, from: 'visitor', name: data.visitor, text: 'second', ts: iso(10) });
  log.add({ seq: 4, from: 'visitor', name: data.visitor, text: 'fourth', ts: iso(40) });
  const order = Array.from(list.children, (c) => c.dataset.testid === 'file-card' ? `file:${c.dataset.id}` : c.textContent.includes('first') ? 'm1'
    : c.textContent.includes('second') ? 'm2' : c.textContent.includes('third') ? 'm3' : 'm4');
  const card7 = list.querySelector('[data-id="7"]');
  const before = { name: card7.querySelector('[data-testid=file-name]').textContent, elements: card7.querySelectorAll('img, script, b').length,
    status: card7.querySelector('[data-testid=file-status]').textContent, rate: card7.querySelector('[data-testid=file-rate]').textContent,
    pauseHidden: card7.querySelector('[data-testid=file-pause]').hidden, downloadHidden: card7.querySelector('[data-testid=file-download]').hidden };
  card7.querySelector('[data-testid=file-pause]').click();
  card7.querySelector('[data-testid=file-cancel]').click();
  cards.onState({ ...base, id: 7, name: data.name, sender: 'visitor', status: 'ready', received: 3_500_000, sha256: 'ab'.repeat(32),
    download: '/files/7/key/x.txt', created: (T0 + 20_000) / 1000 });
  const after = { status: card7.querySelector('[data-testid=file-status]').textContent, href: card7.querySelector('[data-testid=file-download]').href,
    downloadHidden: card7.querySelector('[data-testid=file-download]').hidden, cancelHidden: card7.querySelector('[data-testid=file-cancel]').hidden,
    sha: card7.querySelector('[data-testid=file-sha256]').textContent, title: card7.querySelector('[data-testid=file-download]').title,
    cards: list.querySelectorAll('[data-testid=file-card]').length };
  cards.onState({ ...base, id: 8, name: 'fix.zip', sender: 'rep', by: 'Riley', status: 'delivering', to: 'computer', received: 3_500_000,
    delivered: 1_750_000, rate: 0, created: (T0 + 5_000) / 1000 });
  const card8 = list.querySelector('[data-id="8"]');
  const delivering = { bar: [card8.querySelector('progress').value, card8.querySelector('progress').max],
    rate: card8.querySelector('[data-testid=file-rate]').textContent, status: card8.querySelector('[data-testid=file-status]').textContent,
    pauseHidden: card8.querySelector('[data-testid=file-pause]').hidden, cancelHidden: card8.querySelector('[data-testid=file-cancel]').hidden };
  cards.onState({ ...base, id: 8, name: 'fix.zip', sender: 'rep', by: 'Riley', status: 'failed', to: 'computer', reason: data.name, created: (T0 + 5_000) / 1000 });
  const words = {
    asking: statusText({ status: 'offered', to: 'computer' }, true, data.visitor),
    delivering: statusText({ status: 'delivering', to: 'computer' }, true, data.visitor),
    delivered: statusText({ status: 'delivered', to: 'computer' }, true, data.visitor),
    paused: statusText({ status: 'paused', paused_by: 'Riley' }, false, data.visitor),
    failed: card8.querySelector('[data-testid=file-status]').textContent,
    failedElements: card8.querySelectorAll('img').length,
  };
  return { order, before, sent, after, words, delivering, bytes: [0, 1023, 1024, 1536, 20 * 1048576, 3 * 1073741824].map(formatBytes),
    rate: formatRate(1536, 75), errors: ['too_large', 'too_many_files', 'forbidden', 'storage_full', 'storage_failed'].map((c) => fileErrorText(c, '')),
    dialogs: window.__dialogs || 0 };
}"""


def test_file_cards_draw_text_only_in_time_order(browser: Browser, server: ServerProcess) -> None:
    hostile = "<img src=x onerror=alert(1)><b>x</b>.txt"
    context = browser.new_context()
    try:
        page = context.new_page()
        dialogs: list[str] = []
        errors: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/console")
        out = page.evaluate(CARDS, {"name": hostile, "visitor": "<i>Vic</i>"})
        assert errors == [] and dialogs == []
    finally:
        context.close()
    # by time: the card created at +5 s after the first message, the one at +20 s between the second and third
    assert out["order"] == ["m1", "file:8", "m2", "file:7", "m3", "m4"]
    assert out["before"] == {"name": hostile, "elements": 0, "status": "<i>Vic</i> is sending this file…",
                             "rate": "28% of 3.3 MB · 244 KB/s · 10 s left", "pauseHidden": False, "downloadHidden": True}
    assert out["sent"] == [["pause", 7, True], ["cancel", 7]]
    assert out["after"] == {"status": "Ready to download", "href": "http://files.example:8080/files/7/key/x.txt", "downloadHidden": False,
                            "cancelHidden": True, "sha": "ab" * 32, "title": "SHA-256 " + "ab" * 32, "cards": 2}
    assert out["words"] == {
        "asking": "Waiting for <i>Vic</i> to accept",
        "delivering": "Delivering to <i>Vic</i>’s computer…",
        "delivered": "Saved on <i>Vic</i>’s computer",
        "paused": "Paused by Riley",
        "failed": f"Failed: {hostile}",
        "failedElements": 0,
    }
    # the delivery leg's progress is what the agent acknowledged
    assert out["delivering"] == {"bar": [1_750_000, 3_500_000], "rate": "50% of 3.3 MB", "status": "Delivering to <i>Vic</i>’s computer…",
                                 "pauseHidden": False, "cancelHidden": False}
    assert out["bytes"] == ["0 B", "1023 B", "1.0 KB", "1.5 KB", "20.0 MB", "3.0 GB"]
    assert out["rate"] == "1.5 KB/s · 1 min 15 s left"
    assert all(out["errors"]) and len(set(out["errors"])) == 5
