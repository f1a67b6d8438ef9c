"""``desklink``: run the server and manage users and queues from the shell.

Passwords are read from standard input (a prompt on a terminal, one line
otherwise), never from the command line where ``ps`` and shell history
would keep them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import math
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from desklink.agent.args import add_agent_arguments
from desklink.config import Settings
from desklink.errors import ConfigError, DeskLinkError
from desklink.protocol.server_messages import RECORDING_POLICIES

#: Commands that need the server's libraries (the ``server`` extra).
SERVER_COMMANDS = frozenset({"serve", "admin"})
#: One of the server's libraries per need: if any is missing, this is an
#: agent-only install.
SERVER_LIBRARIES = ("starlette", "uvicorn", "sqlalchemy", "alembic", "argon2", "aiosqlite")
AGENT_ONLY = (
    "this is an agent-only install of DeskLink, which shares a screen (desklink agent); "
    'to run the server install its extra: pip install "desklink[server]"'
)


def server_missing() -> bool:
    """True in an agent-only install (the server's libraries are absent)."""
    import importlib.util

    return any(importlib.util.find_spec(name) is None for name in SERVER_LIBRARIES)

#: A queue's recording policy as ``set-recording`` says it back.
RECORDING_WORDS = {
    "always": "always (from the moment sharing starts)",
    "on_request": "on request (the rep presses Record)",
    "never": "never",
}

#: The queue and admin a fresh install starts with, so the sample page works at once.
FIRST_QUEUE = "support"


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.from_env(
        data_dir=Path(args.data_dir) if args.data_dir else None,
        database_url=args.database_url,
        **extra,
    )


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != first:
            raise SystemExit("passwords differ")
        return first
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("expected the password on standard input")
    return line.rstrip("\r\n")


def prepare_data_dir(path: Path) -> None:
    """Create the data directory if needed and make sure this process can
    write in it; ``ConfigError`` with one clear sentence otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the data directory {path}: {exc.strerror or exc}") from None
    probe = path / f".desklink-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write in the data directory {path}: {exc.strerror or exc}") from None


async def open_store(settings: Settings) -> Any:
    """The store, migrated; ``ConfigError`` with one clear sentence (the
    password hidden) when the database cannot be reached or opened."""
    from sqlalchemy.engine import make_url

    from desklink.store import Store

    prepare_data_dir(settings.data_dir)
    try:
        return await Store.open(settings.effective_database_url)
    except Exception as exc:  # noqa: BLE001 - the drivers raise many kinds; all end the start
        shown = make_url(settings.effective_database_url).render_as_string(hide_password=True)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot open the database {shown}: {reason}") from None


def _yes_no(value: str) -> bool:
    if value.lower() in ("yes", "y", "true", "on", "1"):
        return True
    if value.lower() in ("no", "n", "false", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{value!r}: say yes or no")


def _file_policy_line(slug: str, p: Any) -> str:
    def limit(n: int) -> str:
        return str(n) if n else "server setting"

    return (
        f"{slug}: files to visitor={'yes' if p.to_visitor else 'no'} from visitor={'yes' if p.from_visitor else 'no'} "
        f"max_file_bytes={limit(p.max_file_bytes)} max_files={limit(p.max_files_per_session)} "
        f"blocked={','.join(p.blocked_extensions) or '-'}"
    )


async def _with_store(settings: Settings, fn: Callable[[Any], Awaitable[Any]]) -> Any:
    store = await open_store(settings)
    try:
        return await fn(store)
    finally:
        await store.close()


async def ensure_first_admin(settings: Settings) -> tuple[str, str] | None:
    """On a fresh install create the first admin (with a generated password)
    and the ``support`` queue; returns the credentials to print once."""
    from desklink.admin import Actor, AdminActions
    from desklink.broker import MemoryBroker
    from desklink.server.auth import Accounts

    async def run(store: Any) -> tuple[str, str] | None:
        if await store.count_users() > 0:
            return None
        password = secrets.token_urlsafe(15)
        actions = AdminActions(store, Accounts(store, MemoryBroker(), settings), max_name_chars=settings.max_name_chars)
        first = Actor(None, "first run")
        queue = await store.get_queue_by_slug(FIRST_QUEUE)
        if queue is None:
            queue = await actions.create_queue(first, slug=FIRST_QUEUE, name="Support", allowed_origins=[])
        await actions.create_user(
            first, username="admin", display_name="Administrator", role="admin", password=password, queue_ids=[queue.id]
        )
        return "admin", password

    result: tuple[str, str] | None = await _with_store(settings, run)
    return result


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from desklink.server.app import create_app
    from desklink.server.drain import DrainingServer
    from desklink.server.transport import http_protocol

    try:
        settings = _settings(
            args, host=args.host, port=args.port, redis_url=args.redis_url, role=args.role,
            node_name=args.node_name, relay_public_url=args.relay_public_url,
        )
        created = asyncio.run(ensure_first_admin(settings))
    except ConfigError as exc:
        print(f"desklink: {exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - e.g. the first admin could not be stored
        reason = (str(exc).strip().splitlines() or [""])[0]
        print(f"desklink: start-up failed: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1
    url = f"http://{settings.host if ':' not in settings.host else '[' + settings.host + ']'}:{settings.port}"
    if created:
        print("DeskLink first run: created the administrator account.", flush=True)
        print(f"  username: {created[0]}", flush=True)
        print(f"  password: {created[1]}   (shown once; change it in the admin center)", flush=True)
    print(f"DeskLink on {url}/  console {url}/console  admin {url}/admin", flush=True)
    from desklink.server import logs

    node_id = settings.node_id or f"{socket.gethostname()[:40]}:{os.getpid()}"
    logs.configure(settings.log_format, args.log_level, node_id)
    app = create_app(settings)
    from desklink.server.api_files import RedactDownloadKeys

    logging.getLogger("uvicorn.access").addFilter(RedactDownloadKeys())
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # h11 with a header timeout and a per-address connection count.
        http=http_protocol(app.state.guard, settings.header_timeout_s),
        # Every WebSocket message is bounded here, before it is buffered, on
        # every socket, authenticated or not; screen frames come in parts
        # (protocol/framing.py) and are joined only on a joined agent's socket.
        ws_max_size=settings.max_message_bytes,
        # The client address and scheme are decided by one middleware
        # (server/addresses.py, trusted_proxies), never by uvicorn's own.
        proxy_headers=False,
        log_level=args.log_level,
        server_header=False,
        # JSON logs: the root handler set up above formats uvicorn's lines too.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        # Chat and alerts are tiny and screen frames are JPEG: compression
        # would cost every socket ~45 KiB and a quarter of the fan-out CPU
        # (bench/alerts.py) for almost no bytes saved.
        ws_per_message_deflate=False,
        # SIGTERM drains first (server/drain.py); then requests in flight get this long.
        timeout_graceful_shutdown=max(1, math.ceil(settings.drain_timeout_s)),
    )
    DrainingServer(config, app, settings.drain_timeout_s, settings.drain_notice_s).run()
    return 0


# ---------------------------------------------------------------- admin
async def _admin(args: argparse.Namespace, settings: Settings) -> None:
    """Every change goes through ``AdminActions``, as the admin center's do:
    the same checks, the last-admin guard, the audit entry, and an access
    change that every running node reads within ``access_poll_interval_s``
    (with ``DESKLINK_REDIS_URL`` a broker note makes it immediate)."""
    from desklink.admin import Actor, AdminActions
    from desklink.broker import MemoryBroker, open_broker
    from desklink.server.auth import Accounts

    broker = open_broker(settings.redis_url, settings.broker_prefix) if settings.redis_url else None

    async def run(store: Any) -> None:
        actions = AdminActions(
            store, Accounts(store, MemoryBroker(), settings), max_name_chars=settings.max_name_chars, broker=broker,
            max_file_bytes=settings.max_file_bytes, max_files_per_session=settings.max_files_per_session,
            branding_limits=settings.branding_limits,
        )
        actor = Actor.command_line()
        what = (args.what, args.action)

        async def user(name: str) -> Any:
            u = await store.get_user_by_name(name)
            if u is None:
                raise SystemExit(f"no user {name!r}")
            return u

        async def queue(slug: str) -> Any:
            q = await store.get_queue_by_slug(slug)
            if q is None:
                raise SystemExit(f"no queue {slug!r}")
            return q

        if what == ("user", "add"):
            queue_ids = [(await queue(slug)).id for slug in args.queue or []]
            password = _read_password(f"Password for {args.username}: ")
            u = await actions.create_user(
                actor, username=args.username, display_name=args.display_name or "", role=args.role, password=password,
                queue_ids=queue_ids,
            )
            print(f"created {u.role} {u.username} (id {u.id})")
        elif what == ("user", "list"):
            for u in await store.list_users():
                state = "disabled" if u.disabled else "active"
                print(f"{u.id}\t{u.username}\t{u.role}\t{state}\t{u.display_name}")
        elif what in (("user", "disable"), ("user", "enable")):
            u = await user(args.username)
            await actions.update_user(actor, u.id, disabled=args.action == "disable")
            print(f"{args.action}d {u.username}")
        elif what == ("user", "set-password"):
            u = await user(args.username)
            password = _read_password(f"New password for {u.username}: ")
            await actions.update_user(actor, u.id, password=password)
            print(f"password changed for {u.username}")
        elif what == ("user", "reset-second-factor"):
            # The way back in for an admin who lost both phone and recovery codes.
            u = await user(args.username)
            had = await actions.reset_second_factor(actor, u.id)
            print(f"second factor reset for {u.username}" if had else f"{u.username} had no second factor")
        elif what == ("user", "set-role"):
            u = await user(args.username)
            await actions.update_user(actor, u.id, role=args.role)
            print(f"{u.username} is now {args.role}")
        elif what == ("user", "set-display-name"):
            u = await user(args.username)
            u = await actions.update_user(actor, u.id, display_name=args.display_name)
            print(f"{u.username} is now shown as {u.display_name}")
        elif what == ("queue", "add"):
            q = await actions.create_queue(
                actor, slug=args.slug, name=args.name or args.slug, allowed_origins=args.origin or []
            )
            print(f"created queue {q.slug} (id {q.id})")
        elif what == ("queue", "list"):
            for q in await store.list_queues():
                members = await store.queue_member_ids(q.id)
                print(f"{q.id}\t{q.slug}\t{q.name}\torigins={','.join(q.allowed_origins) or '-'}\tmembers={len(members)}")
        elif what == ("queue", "rename"):
            q = await actions.update_queue(actor, (await queue(args.slug)).id, name=args.name)
            print(f"{q.slug} is now called {q.name}")
        elif what == ("queue", "set-origins"):
            q = await actions.update_queue(actor, (await queue(args.slug)).id, allowed_origins=args.origin)
            print(f"{q.slug} now allows {', '.join(q.allowed_origins) or 'only this server'}")
        elif what == ("queue", "set-files"):
            q = await queue(args.slug)
            p = await actions.set_file_policy(
                actor, q.id, to_visitor=args.to_visitor, from_visitor=args.from_visitor, max_file_bytes=args.max_file_bytes,
                max_files_per_session=args.max_files, blocked_extensions=args.blocked_extensions,
            )
            print(_file_policy_line(q.slug, p))
        elif what == ("queue", "set-recording"):
            q = await queue(args.slug)
            policy = await actions.set_recording_policy(actor, q.id, args.policy)
            print(f"{q.slug}: screen recording {RECORDING_WORDS[policy]}")
        elif what == ("queue", "show-files"):
            q = await queue(args.slug)
            print(_file_policy_line(q.slug, await store.get_file_policy(q.id)))
        elif what == ("queue", "add-member"):
            q = await queue(args.slug)
            await actions.add_members(actor, q.id, [(await user(name)).id for name in args.usernames])
            print(f"added {len(args.usernames)} member(s) to {q.slug}")
        elif what == ("queue", "remove-member"):
            q = await queue(args.slug)
            await actions.remove_members(actor, q.id, [(await user(name)).id for name in args.usernames])
            print(f"removed {len(args.usernames)} member(s) from {q.slug}")

    try:
        await _with_store(settings, run)
    finally:
        if broker is not None:
            await broker.aclose()


async def _send_summary(args: argparse.Namespace, settings: Settings) -> int:
    """``admin send-summary``: compose the daily summary of ``--date``
    (default: yesterday in ``daily_summary_tz``) and send it now, whether or
    not the schedule already did."""
    import dataclasses
    from datetime import UTC, date, datetime

    from desklink.server import daily_summary as summary
    from desklink.server import mail

    if args.to:
        settings = dataclasses.replace(settings, daily_summary_to=tuple(a.strip() for a in args.to if a.strip()))
        settings.validate()
    if not settings.smtp_host:
        raise ConfigError("no mail server: set DESKLINK_SMTP_HOST (and DESKLINK_SMTP_PORT, DESKLINK_SMTP_FROM...)")
    if not settings.daily_summary_to:
        raise ConfigError("no recipients: set DESKLINK_DAILY_SUMMARY_TO or give --to")
    try:
        day = date.fromisoformat(args.date) if args.date else summary.yesterday(datetime.now(UTC), settings)
    except ValueError:
        raise ConfigError(f"--date {args.date!r} is not a date like 2026-12-03") from None

    async def run(store: Any) -> int:
        try:
            msg = await summary.send_summary(store, settings, day)
        except mail.SEND_ERRORS as exc:
            print(
                f"error: the summary for {day} could not be sent through the SMTP server {mail.where(settings)}: "
                f"{mail.reason(exc)}",
                file=sys.stderr,
            )
            return 1
        print(f"sent the summary for {day} ({settings.daily_summary_tz}) to {msg['To']} through {mail.where(settings)}")
        return 0

    result: int = await _with_store(settings, run)
    return result


def cmd_admin(args: argparse.Namespace) -> int:
    try:
        if args.what == "send-summary":
            return asyncio.run(_send_summary(args, _settings(args)))
        asyncio.run(_admin(args, _settings(args)))
    except DeskLinkError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from desklink.agent.main import run_from_args

    return run_from_args(args)


def cmd_build_agent(args: argparse.Namespace) -> int:
    from desklink import agent_build

    try:
        out = Path(args.out) if args.out else _settings(args).effective_agent_dir
        agent_build.build(out, wheel=not args.no_wheel)
    except ConfigError as exc:
        print(f"desklink: {exc.message}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="desklink", description="DeskLink remote support: the server, and the agent that shares a screen")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", help="where SQLite and local data live (default ./data)")
        sp.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db")

    serve = sub.add_parser("serve", help="run the server with embedded defaults")
    common(serve)
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")
    serve.add_argument("--redis-url", help="Redis for several nodes (default: in-process broker)")
    serve.add_argument(
        "--role", choices=["all", "web", "relay"],
        help="all: one node does everything (default); web: pages, API and chat, screen sessions on relay nodes;"
        " relay: only the screen sockets (web and relay need --redis-url and DESKLINK_RELAY_SECRET)",
    )
    serve.add_argument("--node-name", help="this node's name among the relay nodes (default host:port)")
    serve.add_argument("--relay-public-url", help="where clients reach this relay node (default http://host:port)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)

    admin = sub.add_parser("admin", help="manage users and queues")
    common(admin)
    what = admin.add_subparsers(dest="what", required=True)
    users = what.add_parser("user", help="accounts").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="create (password from stdin)")
    add.add_argument("username")
    add.add_argument("--role", default="rep", choices=["rep", "supervisor", "admin"])
    add.add_argument("--display-name")
    add.add_argument("--queue", action="append", help="queue slug to join (repeatable)")
    users.add_parser("list", help="list accounts")
    for action in ("disable", "enable", "set-password", "reset-second-factor"):
        users.add_parser(action).add_argument("username")
    role = users.add_parser("set-role")
    role.add_argument("username")
    role.add_argument("role", choices=["rep", "supervisor", "admin"])
    shown = users.add_parser("set-display-name", help="the name visitors see")
    shown.add_argument("username")
    shown.add_argument("display_name")
    queues = what.add_parser("queue", help="queues").add_subparsers(dest="action", required=True)
    qadd = queues.add_parser("add", help="create a queue")
    qadd.add_argument("slug")
    qadd.add_argument("--name")
    qadd.add_argument("--origin", action="append", help="site allowed to embed the help box (repeatable)")
    queues.add_parser("list")
    rename = queues.add_parser("rename", help="change the name the help box shows")
    rename.add_argument("slug")
    rename.add_argument("name")
    so = queues.add_parser("set-origins", help="replace the allowed origins")
    so.add_argument("slug")
    so.add_argument("origin", nargs="*")
    files = queues.add_parser("set-files", help="the queue's file policy (options not given stay as they are)")
    files.add_argument("slug")
    files.add_argument("--to-visitor", type=_yes_no, metavar="yes|no", help="may reps send files to the visitor")
    files.add_argument("--from-visitor", type=_yes_no, metavar="yes|no", help="may the visitor send files")
    files.add_argument("--max-file-bytes", type=int, help="largest file, bytes (0: the server's max_file_bytes)")
    files.add_argument("--max-files", type=int, help="most files per session (0: the server's max_files_per_session)")
    files.add_argument("--blocked-extensions", help='extensions refused, e.g. "exe, bat, msi" ("" for none)')
    queues.add_parser("show-files", help="show the queue's file policy").add_argument("slug")
    rec = queues.add_parser("set-recording", help="whether the queue's screen sessions are recorded")
    rec.add_argument("slug")
    rec.add_argument("policy", choices=RECORDING_POLICIES,
                     help="always: from the start of sharing; on_request: when the rep presses Record; never")
    for action in ("add-member", "remove-member"):
        members = queues.add_parser(action)
        members.add_argument("slug")
        members.add_argument("usernames", nargs="+")
    admin.set_defaults(func=cmd_admin)

    send_summary = what.add_parser(
        "send-summary", help="send the daily summary e-mail now (settings DESKLINK_SMTP_*, DESKLINK_DAILY_SUMMARY_*)"
    )
    send_summary.add_argument("--date", help="the day to report, YYYY-MM-DD (default: yesterday in daily_summary_tz)")
    send_summary.add_argument("--to", action="append", help="a recipient instead of daily_summary_to (repeatable)")

    agent = sub.add_parser("agent", help="share this computer's screen with a support rep")
    add_agent_arguments(agent)
    agent.set_defaults(func=cmd_agent)

    build = sub.add_parser("build-agent", help="build the one-file agent for this system, and the agent wheel")
    common(build)
    build.add_argument("--out", help="where to put them (default: the agent_dir setting, <data-dir>/agents)")
    build.add_argument("--no-wheel", action="store_true", help="build only the one-file agent")
    build.set_defaults(func=cmd_build_agent)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in SERVER_COMMANDS and server_missing():
        print(f"desklink: {AGENT_ONLY}", file=sys.stderr)
        return 2
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
