"""Files between the rep's console in Chromium and the real agent on Xvfb:
the rep asks for file access in the viewer and the visitor allows it in the
agent; a 50 MB file goes to the visitor's computer with "Send to computer"
(accepted in the agent, saved under its name only once verified) and one
comes back with "Ask for a file" (picked in the agent, downloaded by the
console's browser); hashes are equal both ways.

The agent runs with ``--terminal`` (its questions answered on stdin), so the
test drives the console the way a rep does and the agent the way its
terminal mode documents; the agent's windows are clicked in
tests/agent_files/test_agent_windows_e2e.py.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from desklink.agent.file_paths import PART_SUFFIX
from desklink.testing import AdminAPI, ServerProcess
from desklink.testing_x import XDisplay

from test_screen_viewer import Scene

HostSite = Any  # tests/e2e/conftest.py:HostSite

pytestmark = pytest.mark.browser

MB = 1024 * 1024


@pytest.fixture
def display() -> Iterator[XDisplay]:
    with XDisplay(1024, 768) as d:
        yield d


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def test_fifty_megabytes_each_way_between_the_console_and_the_agent(
    browser: Browser, server: ServerProcess, admin: AdminAPI, host_site: HostSite, unique: str,
    display: XDisplay, tmp_path: Path,
) -> None:
    inbox, home = tmp_path / "inbox", tmp_path / "home"
    home.mkdir()
    scene = Scene(browser, server, admin, host_site, unique)
    agent: subprocess.Popen[str] | None = None
    try:
        code = scene.request_screen().replace(" ", "")
        env = {**display.env, "HOME": str(home), "XDG_STATE_HOME": str(home / ".state"), "PYTHONUNBUFFERED": "1"}
        agent = subprocess.Popen(
            [sys.executable, "-m", "desklink", "agent", "--server", server.url, "--code", code, "--terminal",
             "--files-dir", str(inbox)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )
        display.children.append(agent)

        def answer(line: str) -> None:
            assert agent is not None and agent.stdin is not None
            agent.stdin.write(line + "\n")
            agent.stdin.flush()

        answer("y")  # see the screen
        expect(scene.status()).to_have_text("Sharing")
        group = scene.screen.get_by_test_id("screen-files")
        status = group.get_by_test_id("files-status")
        expect(status).to_have_text("Files: off")
        group.get_by_test_id("files-request").click()
        expect(status).to_have_text("Files: asking…")
        answer("y")  # send files to and from this computer
        expect(status).to_have_text("Files: allowed")

        # To the visitor's computer.
        out = tmp_path / "fix-kit.bin"
        out.write_bytes(os.urandom(50 * MB))
        group.get_by_test_id("files-send-input").set_input_files(str(out))
        card = scene.chat.locator("[data-testid=file-card][data-to=computer]")
        expect(card).to_have_count(1)
        answer("y")  # accept it (into --files-dir)
        expect(card).to_have_attribute("data-status", "delivered", timeout=120_000)
        saved = inbox / "fix-kit.bin"
        assert _sha(saved) == _sha(out)
        assert not list(inbox.glob("*" + PART_SUFFIX))

        # From the visitor's computer, asked for.
        mine = home / "crash.dmp"
        mine.write_bytes(os.urandom(50 * MB))
        group.get_by_test_id("files-ask").click()
        form = scene.screen.get_by_test_id("files-ask-form")
        form.get_by_test_id("files-ask-note").fill("the crash dump, please")
        form.get_by_test_id("files-ask-send").click()
        answer(str(mine))  # the visitor picks it
        theirs = scene.chat.locator("[data-testid=file-card][data-from=visitor]")
        expect(theirs).to_have_attribute("data-status", "ready", timeout=120_000)
        expect(theirs.get_by_test_id("file-name")).to_have_text("crash.dmp")
        with scene.rep.expect_download(timeout=120_000) as info:
            theirs.get_by_test_id("file-download").click()
        got = tmp_path / "got.dmp"
        info.value.save_as(got)
        assert _sha(got) == _sha(mine)
        assert agent.poll() is None  # sharing goes on after both files
    finally:
        if agent is not None and agent.poll() is None:
            agent.terminate()
            agent.wait(timeout=15)
        if agent is not None and agent.stdin is not None:
            agent.stdin.close()
        scene.close()
