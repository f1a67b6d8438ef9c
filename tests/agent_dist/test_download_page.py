"""/download: the server offers only the files its agent folder lists, with
their SHA-256, for the visitor's system; the join code travels in the
downloaded file's name; anything else is the "not on this server" page."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from desklink.protocol import agent_names
from desklink.testing import ONE_ADDRESS_ENV, AdminAPI, RepClient, ServerProcess, VisitorClient
from screen._agent import Chat

AGENT = "desklink-agent-linux-x86_64"
WHEEL = "desklink-0.1.0-py3-none-any.whl"
UA = {
    "linux": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "macos": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("agents")
    (d / AGENT).write_bytes(b"\x7fELF pretend agent " * 1000)
    (d / WHEEL).write_bytes(b"PK pretend wheel " * 100)
    (d / "notes.txt").write_text("not an agent")
    (d / ".desklink-agent-linux-x86_64.partial").write_bytes(b"half a build")
    (d / "desklink-agent-linux-arm64").mkdir()  # a folder, not a file
    secret = d.parent / "secret-outside"
    secret.write_text("outside the folder")
    os.symlink(secret, d / "desklink-agent-linux-riscv64")  # links are not offered
    return d


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[ServerProcess]:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_AGENT_DIR": str(folder), "DESKLINK_MAX_AGENT_FILE_BYTES": "100000"}
    with ServerProcess(env=env) as srv:
        yield srv


def page(server: ServerProcess, system: str, **params: str) -> httpx.Response:
    r = httpx.get(f"{server.url}/download", params=params, headers={"User-Agent": UA[system]}, timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    return r


def section(html: str, system: str) -> str:
    m = re.search(rf'<section class="system" data-system="{system}"[^>]*>(.*?)</section>', html, re.S)
    assert m is not None, system
    return m.group(0)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_linux_gets_the_one_file_agent_and_the_wheel_with_their_hashes(server: ServerProcess, folder: Path) -> None:
    html = page(server, "linux").text
    linux = section(html, "linux")
    assert "hidden" not in linux.split(">", 1)[0]
    assert f'href="/download/{AGENT}"' in linux
    assert sha(folder / AGENT) in linux and sha(folder / WHEEL) in linux
    assert "19 kB" in linux  # the agent's size
    assert f"pip install {server.url}/download/{WHEEL}" in linux
    assert f"desklink agent --server {server.url}" in linux
    for other in ("windows", "macos"):
        assert " hidden>" in section(html, other).split("</h2>")[0] + ">"
    # The full listing: exactly the agent and the wheel, nothing else in the folder.
    rows = re.findall(r'<tr data-testid="file-row"><td><a href="/download/([^"]+)"', html)
    assert rows == [WHEEL, AGENT]  # sorted by name


def test_the_code_travels_with_the_links_and_the_commands(server: ServerProcess) -> None:
    html = page(server, "linux", code="123-456-789").text
    assert 'data-testid="download-code">Your join code: <strong>123 456 789</strong>' in html
    assert f'href="/download/{AGENT}?code=123456789"' in html
    saved = f"{AGENT}-code-123456789-server-http_127.0.0.1_{server.port}"
    assert f"chmod +x ~/Downloads/{saved} &amp;&amp; ~/Downloads/{saved}" in html
    assert f"desklink agent --server {server.url} --code 123456789" in html
    bad = page(server, "linux", code="12<b>3").text
    assert "is not a join code" in bad and "<b>" not in bad.split("<main", 1)[1]
    assert "?code=" not in bad


@pytest.mark.parametrize("system", ["windows", "macos"])
def test_windows_and_mac_are_told_honestly_and_pointed_to_browser_sharing(server: ServerProcess, system: str) -> None:
    html = page(server, system).text
    shown = section(html, system)
    assert "hidden" not in shown.split(">", 1)[0]
    assert "is not available yet" in shown and "Share from this browser" in shown
    assert "download-agent" not in shown
    assert " hidden>" in section(html, "linux").split("</h2>")[0] + ">"


def test_a_phone_is_told_the_agent_is_for_computers(server: ServerProcess) -> None:
    html = page(server, "android").text
    assert 'data-testid="unsupported-system"' in html


def test_the_download_is_the_listed_file_with_the_code_and_server_in_its_name(server: ServerProcess, folder: Path) -> None:
    r = httpx.get(f"{server.url}/download/{AGENT}", params={"code": "123 456 789"}, timeout=10)
    assert r.status_code == 200
    assert r.content == (folder / AGENT).read_bytes()
    assert r.headers["x-content-sha256"] == sha(folder / AGENT)
    name = re.search(r'filename="([^"]+)"', r.headers["content-disposition"])
    assert name is not None and r.headers["content-disposition"].startswith("attachment")
    carried = agent_names.read_carried("/home/v/Downloads/" + name.group(1) + " (1)")
    assert carried == agent_names.Carried("123456789", server.url)
    # Without a code, or with a bad one, the plain name; a wheel keeps its name (pip needs it).
    for params in ({}, {"code": "nope"}):
        r = httpx.get(f"{server.url}/download/{AGENT}", params=params, timeout=10)
        assert r.status_code == 200 and f'filename="{AGENT}"' in r.headers["content-disposition"]
    r = httpx.get(f"{server.url}/download/{WHEEL}", params={"code": "123456789"}, timeout=10)
    assert r.status_code == 200 and f'filename="{WHEEL}"' in r.headers["content-disposition"]


@pytest.mark.parametrize(
    "path",
    [
        "/download/..%2F..%2F..%2Fetc%2Fpasswd",
        "/download/%2e%2e",
        "/download/notes.txt",
        "/download/.desklink-agent-linux-x86_64.partial",
        "/download/desklink-agent-linux-arm64",
        "/download/desklink-agent-linux-riscv64",
        "/download/desklink-agent-linux-x86_64%00",
        "/download/DESKLINK-AGENT-LINUX-X86_64",
    ],
)
def test_anything_not_listed_is_not_on_this_server(server: ServerProcess, path: str) -> None:
    r = httpx.get(server.url + path, timeout=10)
    assert r.status_code == 404
    assert "outside the folder" not in r.text and "root:" not in r.text and "pretend" not in r.text
    if r.headers["content-type"].startswith("text/html"):
        assert "That file is not on this server" in r.text


def test_a_file_past_the_size_limit_is_not_offered(server: ServerProcess, folder: Path) -> None:
    big = folder / "desklink-agent-linux-ppc64le"
    big.write_bytes(b"x" * 100_001)  # DESKLINK_MAX_AGENT_FILE_BYTES=100000
    try:
        assert "desklink-agent-linux-ppc64le" not in page(server, "linux").text
        assert httpx.get(f"{server.url}/download/{big.name}", timeout=10).status_code == 404
        big.write_bytes(b"x" * 100_000)
        assert f'href="/download/{big.name}"' in page(server, "linux").text
    finally:
        big.unlink()


def test_a_rebuilt_agent_gets_its_new_hash_without_a_restart(server: ServerProcess, folder: Path) -> None:
    path = folder / AGENT
    before = path.read_bytes()
    try:
        path.write_bytes(b"\x7fELF rebuilt agent " * 999)
        html = page(server, "linux").text
        assert sha(path) in html and hashlib.sha256(before).hexdigest() not in html
    finally:
        path.write_bytes(before)


def test_only_max_agent_files_are_listed(tmp_path: Path) -> None:
    for cpu in ("arm64", "riscv64", "x86_64"):
        (tmp_path / f"desklink-agent-linux-{cpu}").write_bytes(cpu.encode())
    env = {**ONE_ADDRESS_ENV, "DESKLINK_AGENT_DIR": str(tmp_path), "DESKLINK_MAX_AGENT_FILES": "2"}
    with ServerProcess(env=env) as srv:
        html = page(srv, "linux").text
        assert re.findall(r'<tr data-testid="file-row"><td><a href="/download/([^"]+)"', html) == [
            "desklink-agent-linux-arm64", "desklink-agent-linux-riscv64",
        ]
        assert httpx.get(f"{srv.url}/download/desklink-agent-linux-x86_64", timeout=10).status_code == 404


def test_a_server_without_builds_says_so_and_never_fails(tmp_path: Path) -> None:
    env = {**ONE_ADDRESS_ENV, "DESKLINK_AGENT_DIR": str(tmp_path / "never-created")}
    with ServerProcess(env=env) as srv:
        html = page(srv, "linux").text
        assert 'data-testid="no-linux-build"' in html and 'data-testid="no-files"' in html
        r = httpx.get(f"{srv.url}/download/{AGENT}", timeout=10)
        assert r.status_code == 404 and "That file is not on this server" in r.text
        admin = AdminAPI(srv)
        try:
            admin.queue("nobuilds")
            ((user, pw),) = admin.reps(1, queue_slug="nobuilds", prefix="nobuilds")
        finally:
            admin.close()

        async def offer() -> dict[str, Any]:
            rep = await RepClient.connect(srv, user, pw)
            visitor = await VisitorClient.submit(srv, queue="nobuilds", name="Vic")
            await rep.expect("alert")
            await rep.send({"t": "accept", "request_id": visitor.request_id})
            sid = (await rep.expect("accepted"))["session"]["id"]
            await rep.send({"t": "screen.request", "session_id": sid})
            got = await visitor.expect("screen.offer")
            await rep.close()
            await visitor.close()
            return got

        got = asyncio.run(offer())
        assert got["install"] is None  # nothing to pip-install from this server
        assert got["download"].startswith(f"{srv.url}/download?code=")


async def test_the_screen_offer_links_to_the_download_page_with_the_code(server: ServerProcess, chat: Chat) -> None:
    offer = await chat.offer()
    digits = offer["code"].replace(" ", "")
    assert offer["download"] == f"{server.url}/download?code={digits}"
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(offer["download"], headers={"User-Agent": UA["linux"]})
    assert r.status_code == 200
    assert f'href="/download/{AGENT}?code={digits}"' in r.text


async def test_the_offer_installs_the_servers_own_wheel(server: ServerProcess, chat: Chat) -> None:
    offer = await chat.offer()
    assert offer["install"] == f"pip install {server.url}/download/{WHEEL}"
