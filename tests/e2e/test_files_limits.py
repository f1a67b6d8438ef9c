"""Files past the server's limits, in the help box (Chromium): a file over
``max_file_bytes`` and one past ``max_files_per_session`` are refused by the
server, and the card says so in words; files dropped on the conversation
are offered like picked ones. The server's chunk and message bounds are
set below the protocol's defaults: the help box learns them from its config
and cuts its uploads to fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from test_files_browser import chatting

from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, ServerProcess

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

MAX_BYTES = 100_000
MAX_FILES = 3
CHUNK_BYTES = 40_000  # below FILE_CHUNK_BYTES
MESSAGE_BYTES = 16_384  # below MAX_MESSAGE_BYTES: a chunk goes in three parts


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_MAX_FILE_BYTES": str(MAX_BYTES), "DESKLINK_MAX_FILES_PER_SESSION": str(MAX_FILES),
           "DESKLINK_FILE_CHUNK_BYTES": str(CHUNK_BYTES), "DESKLINK_MAX_MESSAGE_BYTES": str(MESSAGE_BYTES)}
    with ServerProcess(env=env) as srv:
        yield srv


DROP = """(zone, files) => {
  const dt = new DataTransfer();
  for (const [name, text] of files) dt.items.add(new File([text], name, { type: 'text/plain' }));
  for (const type of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }
}"""


def test_too_large_and_too_many_files_say_why_and_drops_are_offered(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str
) -> None:
    rw, vw, box, chat, _ = chatting(browser, server, admin, host_site, unique)
    try:
        # One byte over the server's largest file.
        box.get_by_test_id("file-input").set_input_files([{"name": "huge.iso", "mimeType": "application/octet-stream", "buffer": b"\0" * (MAX_BYTES + 1)}])
        card = box.get_by_test_id("file-card")
        expect(card).to_have_attribute("data-status", "failed")
        expect(card.get_by_test_id("file-status")).to_contain_text("That file is too large to send here.")
        expect(chat.get_by_test_id("file-card")).to_have_count(0)

        # Just under the largest file: several chunks of the server's own
        # (lower) chunk size, each in parts of its (lower) message bound.
        box.get_by_test_id("file-input").set_input_files([{"name": "a.bin", "mimeType": "application/octet-stream", "buffer": bytes(range(256)) * (90_000 // 256)}])
        theirs = chat.get_by_test_id("file-card")
        expect(theirs).to_have_count(1)
        expect(theirs.nth(0)).to_have_attribute("data-status", "ready")

        # Dropped on the conversation: offered like picked files (up to the session's count).
        box.get_by_test_id("scroll").evaluate(DROP, [["b.txt", "beta"], ["c.txt", "gamma"]])
        expect(theirs).to_have_count(MAX_FILES)
        for i in range(MAX_FILES):
            expect(theirs.nth(i)).to_have_attribute("data-status", "ready")
        assert sorted(theirs.get_by_test_id("file-name").all_text_contents()) == ["a.bin", "b.txt", "c.txt"]

        # One more than the session may have.
        box.get_by_test_id("file-input").set_input_files([{"name": "d.txt", "mimeType": "text/plain", "buffer": b"delta"}])
        last = box.locator("[data-testid=file-card]").last
        expect(last).to_have_attribute("data-status", "failed")
        expect(last.get_by_test_id("file-status")).to_contain_text("No more files can be sent in this conversation.")
        expect(theirs).to_have_count(MAX_FILES)
        assert rw.errors == [] and vw.errors == []
    finally:
        rw.close()
        vw.close()
