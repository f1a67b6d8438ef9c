"""``/download``: the agent, served by the DeskLink server itself.

Theory of operation
-------------------
The provider puts agent builds in one folder (``agent_dir``, default
``<data_dir>/agents``; ``desklink build-agent`` writes there): one-file
agents named ``desklink-agent-<system>-<cpu>[.exe]`` and the agent wheel
``desklink-<version>-py3-none-any.whl``. :class:`AgentShelf` lists that
folder (at most ``max_agent_files`` names, each at most
``max_agent_file_bytes``) and hashes each file once per size and mtime, so a
rebuilt agent gets a new hash without a restart.

Only names in that listing are ever served: ``/download/{name}`` looks the
name up in it (a dictionary lookup, never a path joined from the URL), so
``..``, slashes or any name the folder does not list get the "not on this
server" page (404). ``?code=`` carries the visitor's join code into the
downloaded file's name (``Content-Disposition``,
:func:`desklink.protocol.agent_names.carry`), where the agent reads it back.

The page detects the visitor's system from the User-Agent (the page's script
refines that with ``navigator.userAgentData`` where the browser has it) and
offers only what works there: the one-file agent and the wheel on Linux; on
Windows and macOS, until native builds exist, it says so and points to
sharing from the help box.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from desklink.errors import ProtocolError
from desklink.protocol import agent_names, joincode
from desklink.server.agent_shelf import AgentFile
from desklink.server.context import Context
from desklink.server.http import Access, endpoint

#: What the page calls each system.
SYSTEM_TITLES = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}


def detect_system(user_agent: str) -> str:
    """``linux``, ``windows``, ``macos``, ``android``, ``ios``, ``chromeos``
    or ``unknown`` from a User-Agent header."""
    ua = user_agent.lower()
    if "windows" in ua:
        return "windows"
    if "iphone" in ua or "ipad" in ua:
        return "ios"
    if "android" in ua:
        return "android"
    if "cros" in ua:
        return "chromeos"
    if "macintosh" in ua or "mac os x" in ua:
        return "macos"
    if "linux" in ua or "x11" in ua:
        return "linux"
    return "unknown"


def _code(request: Request) -> tuple[str, str]:
    """(9 digits or "", a problem sentence or "") from ``?code=``."""
    raw = request.query_params.get("code", "")
    if not raw:
        return "", ""
    try:
        return joincode.parse(raw).digits, ""
    except ProtocolError:
        return "", "The code in this link is not a join code (it has 9 digits); the agent will ask you for it."


# ---------------------------------------------------------------- the page
def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{max(1, round(n / 1e3))} kB"


def _command(text: str, testid: str) -> str:
    return f'<pre class="command" data-testid="{testid}"><code>{_e(text)}</code></pre>'


def _linux(files: list[AgentFile], wheel: AgentFile | None, server: str, digits: str) -> str:
    parts: list[str] = []
    agents = [f for f in files if f.system == "linux"]
    if agents:
        for f in agents:
            saved = agent_names.carry(f.name, digits, server) if digits else f.name
            href = f"/download/{f.name}" + (f"?code={digits}" if digits else "")
            parts.append(
                f'<div class="offer" data-testid="offer-agent" data-file="{_e(f.name)}">'
                f'<a class="button primary" data-testid="download-agent" href="{_e(href)}" download>'
                f"Download the DeskLink agent for Linux ({_e(f.machine)})</a>"
                f'<p class="meta">One file, nothing else to install, no Python needed. {_e(_size(f.size))}.'
                f' SHA-256 <code data-testid="agent-sha256">{_e(f.sha256)}</code></p>'
                "<p>Then, in a terminal, make it runnable and start it"
                + (" (it knows your code and this server from its name):" if digits else ":")
                + "</p>"
                + _command(f'chmod +x ~/Downloads/{saved} && ~/Downloads/{saved}', "agent-run")
                + "</div>"
            )
    else:
        parts.append(
            '<p class="missing" data-testid="no-linux-build">This server has no one-file agent for Linux yet. '
            "Share your screen from the chat window instead (view only, nothing to install), "
            "or ask the support team to build the agent (<code>desklink build-agent</code>).</p>"
        )
    if wheel is not None:
        pip = f"pip install {server}/download/{wheel.name}"
        run = f"desklink agent --server {server}" + (f" --code {digits}" if digits else "")
        parts.append(
            '<div class="offer" data-testid="offer-wheel">'
            "<p>If you prefer pip (Python 3.11 or newer):</p>"
            + _command(pip, "wheel-install")
            + _command(run, "wheel-run")
            + f'<p class="meta">{_e(wheel.name)}, {_e(_size(wheel.size))}. SHA-256 <code data-testid="wheel-sha256">'
            f"{_e(wheel.sha256)}</code></p></div>"
        )
    return "".join(parts)


def _native_missing(system: str, files: list[AgentFile], digits: str) -> str:
    title = SYSTEM_TITLES[system]
    builds = [f for f in files if f.system == system]
    if builds:
        links = "".join(
            f'<p><a class="button primary" data-testid="download-agent" href="{_e("/download/" + f.name + (f"?code={digits}" if digits else ""))}" download>'
            f"Download the DeskLink agent for {title} ({_e(f.machine)})</a></p>"
            f'<p class="meta">{_e(_size(f.size))}. SHA-256 <code>{_e(f.sha256)}</code>. '
            f"Remote control is not available on {title} yet: the support team can see your screen only.</p>"
            for f in builds
        )
        return f'<div class="offer" data-testid="offer-agent">{links}</div>'
    return (
        f'<p class="missing" data-testid="no-native-build">A DeskLink agent for {title} is not available yet. '
        "You can still show your screen: in the chat window, click <strong>Share from this browser</strong> "
        "(view only, nothing to install; you choose what to share and can stop at any moment).</p>"
    )


def render_page(files: list[AgentFile], *, detected: str, server: str, digits: str, problem: str) -> str:
    wheel = next((f for f in reversed(files) if f.is_wheel), None)
    sections = []
    for system, title in SYSTEM_TITLES.items():
        body = _linux(files, wheel, server, digits) if system == "linux" else _native_missing(system, files, digits)
        hidden = "" if system == detected or detected not in SYSTEM_TITLES else " hidden"
        sections.append(
            f'<section class="system" data-system="{system}" data-testid="system-{system}"{hidden}>'
            f"<h2>{title}</h2>{body}</section>"
        )
    other = ""
    if detected not in SYSTEM_TITLES:
        other = (
            '<p class="missing" data-testid="unsupported-system">The DeskLink agent runs on computers, not on phones or '
            "tablets. Share your screen from the chat window instead if your browser can.</p>"
        )
    rows = "".join(
        f'<tr data-testid="file-row"><td><a href="/download/{_e(f.name)}">{_e(f.name)}</a></td>'
        f"<td>{_e(_size(f.size))}</td><td><code>{_e(f.sha256)}</code></td></tr>"
        for f in files
    )
    table = (
        f'<details class="all"><summary>All files on this server</summary><table data-testid="files">'
        f"<tr><th>File</th><th>Size</th><th>SHA-256</th></tr>{rows}</table></details>"
        if files
        else '<p class="meta" data-testid="no-files">No agent builds are on this server yet.</p>'
    )
    code_line = (
        f'<p class="code" data-testid="download-code">Your join code: <strong>{_e(digits[:3])} {_e(digits[3:6])} {_e(digits[6:])}</strong></p>'
        if digits
        else ""
    )
    warn = f'<p class="problem" data-testid="download-problem">{_e(problem)}</p>' if problem else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Get the DeskLink agent</title>"
        '<link rel="icon" href="/static/shared/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/shared/base.css">'
        '<link rel="stylesheet" href="/static/download/download.css">'
        '<script type="module" src="/static/download/download.js"></script>'
        f'</head><body data-detected="{_e(detected)}"><main class="download">'
        "<h1>Let the support team see your screen</h1>"
        "<p>The DeskLink agent shows your screen to the support person you are chatting with, and only after "
        "you click <strong>Allow</strong>. You can stop at any moment.</p>"
        f"{warn}{code_line}{other}{''.join(sections)}"
        '<p class="others"><a href="#" data-testid="show-all-systems" id="show-all">Other systems</a></p>'
        f"{table}</main></body></html>"
    )


def _not_here(name: str) -> Response:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not on this server</title>'
        '<link rel="stylesheet" href="/static/shared/base.css">'
        '<link rel="stylesheet" href="/static/download/download.css"></head><body><main class="download">'
        f'<h1 data-testid="not-here">That file is not on this server</h1><p>{_e(name[:80])} is not one of the agent '
        'files this server offers. <a href="/download">See what this server offers</a>.</p></main></body></html>'
    )
    return HTMLResponse(body, status_code=404, headers={"Cache-Control": "no-store"})


@endpoint("/download", ("GET",), Access.PUBLIC)
async def download_page(request: Request, ctx: Context, login: Any) -> Response:
    """The agent download page for the visitor's system."""
    files = await ctx.agents.listing()
    digits, problem = _code(request)
    page = render_page(
        files,
        detected=detect_system(request.headers.get("user-agent", "")),
        server=ctx.origins.own(request),
        digits=digits,
        problem=problem,
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@endpoint("/download/{name}", ("GET",), Access.PUBLIC)
async def download_file(request: Request, ctx: Context, login: Any) -> Response:
    """One listed agent file (``?code=`` puts the join code in its name)."""
    name = request.path_params["name"]
    found = {f.name: f for f in await ctx.agents.listing()}.get(name)
    if found is None or not found.path.is_file():
        return _not_here(name)
    digits, _ = _code(request)
    saved = agent_names.carry(found.name, digits, ctx.origins.own(request)) if digits and not found.is_wheel else found.name
    return FileResponse(
        found.path,
        filename=saved,
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-store", "X-Content-SHA256": found.sha256},
    )


ROUTES = [download_page, download_file]
