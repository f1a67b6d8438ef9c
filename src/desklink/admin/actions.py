"""The one core that changes users and queues.

Every change, from the admin center or the command line, goes through
:class:`AdminActions`, which does the same things in the same order:

1. validate the input (:mod:`desklink.admin.rules`, ``server/auth.py``);
2. make the change in the store; a change that would leave no enabled admin
   is refused in the same transaction;
3. disabling or a new password deletes the user's logins (sign-out);
4. for every user whose role, queues, status or name changed, append an
   access change: every node reads those (``server/access.py``) and
   re-checks that user's open consoles and viewers within
   ``access_poll_interval_s``, whichever process made the change;
5. write one audit entry per change (never a password);
6. publish an ``access`` note on the user's broker channel when a broker is
   at hand, so nodes it reaches re-check at once instead of at their next
   poll. A broker failure is logged and nothing else: step 4 carries the
   change anyway.

Steps 2 to 5 are separate short transactions, one right after the other; a
crash in between can lose an audit entry or delay a re-check until the
user's next login, never apply half a change.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from desklink.admin import rules
from desklink.admin.rules import Actor
from desklink.broker.base import Broker
from desklink.dispatch import channels as ch
from desklink.errors import NotFound, ProtocolError
from desklink.protocol import limits
from desklink.protocol.branding import BrandingLimits
from desklink.protocol.filepolicy import FilePolicy
from desklink.protocol.server_messages import RecordingPolicy
from desklink.server import second_factor
from desklink.server.auth import Accounts
from desklink.store import Store
from desklink.store.records import ROLES, Branding, Queue, Role, User

log = logging.getLogger("desklink.admin")


class AdminActions:
    def __init__(
        self,
        store: Store,
        accounts: Accounts,
        *,
        max_name_chars: int,
        broker: Broker | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_file_bytes: int = limits.MAX_FILE_BYTES,
        max_files_per_session: int = limits.MAX_FILES_PER_SESSION,
        branding_limits: BrandingLimits | None = None,
        hours_intervals_per_day: int = limits.HOURS_INTERVALS_PER_DAY,
        hours_holidays: int = limits.HOURS_HOLIDAYS,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.max_name_chars = max_name_chars
        #: The server's settings: a queue's file policy may be stricter, never looser.
        self.max_file_bytes = max_file_bytes
        self.max_files_per_session = max_files_per_session
        self.hours_intervals_per_day = hours_intervals_per_day
        self.hours_holidays = hours_holidays
        self.broker = broker
        self.now = clock
        self.branding_limits = branding_limits or default_branding_limits()

    # ------------------------------------------------------------------ users
    async def create_user(
        self, actor: Actor, *, username: str, display_name: str, role: str, password: str, queue_ids: Sequence[int] = ()
    ) -> User:
        """A new account (password checked and hashed by ``Accounts``),
        optionally a member of ``queue_ids`` from the start."""
        display = rules.check_name("display name", display_name, self.max_name_chars) if display_name.strip() else ""
        queues = [await self._queue(q) for q in dict.fromkeys(queue_ids)]
        user = await self.accounts.create_user(username, display, role, password)
        for q in queues:
            await self.store.add_queue_member(q.id, user.id)
        data: dict[str, Any] = {"role": user.role, "display_name": user.display_name}
        if queues:
            data["queues"] = [q.slug for q in queues]
        await self._audit(actor, rules.USER_CREATE, rules.user_target(user), data)
        return user

    async def update_user(
        self,
        actor: Actor,
        user_id: int,
        *,
        display_name: str | None = None,
        role: str | None = None,
        disabled: bool | None = None,
        password: str | None = None,
    ) -> User:
        """Change any of display name, role, disabled flag and password.
        Refused as a whole (nothing changed) for bad input, for an admin
        disabling or demoting themselves, and when no enabled admin would be
        left."""
        before = await self.store.get_user(user_id)
        if before is None:
            raise NotFound(f"no user {user_id}")
        new_role = role_of(role) if role is not None else None
        display = rules.check_name("display name", display_name, self.max_name_chars) if display_name is not None else None
        rules.check_not_self_lockout(actor, before, role=new_role, disabled=disabled)
        password_hash = await self.accounts.hash_password(password) if password is not None else None
        losing_admin = before.role == "admin" and ((new_role is not None and new_role != "admin") or disabled is True)
        user = await self.store.update_user(
            user_id,
            display_name=display,
            role=new_role,
            disabled=disabled,
            password_hash=password_hash,
            keep_an_admin=losing_admin,
        )
        if disabled or password is not None:
            await self.store.delete_user_auth_sessions(user_id)
        changes: list[tuple[str, dict[str, Any]]] = []
        if user.role != before.role:
            changes.append((rules.USER_ROLE, {"from": before.role, "to": user.role}))
        if user.disabled != before.disabled:
            changes.append((rules.USER_DISABLE if user.disabled else rules.USER_ENABLE, {}))
        if password is not None:
            changes.append((rules.USER_PASSWORD, {}))
        if user.display_name != before.display_name:
            changes.append((rules.USER_DISPLAY_NAME, {"from": before.display_name, "to": user.display_name}))
        if changes or disabled:
            await self._access_changed([user_id])
        for action, data in changes:
            await self._audit(actor, action, rules.user_target(user), data)
        return user

    # ----------------------------------------------------------------- queues
    async def create_queue(self, actor: Actor, *, slug: str, name: str, allowed_origins: Sequence[str]) -> Queue:
        slug = rules.check_slug(slug)
        name = rules.check_name("name", name, self.max_name_chars)
        origins = rules.check_origins(list(allowed_origins))
        queue = await self.store.create_queue(slug, name, origins, self.now())
        data = {"name": queue.name, "allowed_origins": list(queue.allowed_origins)}
        await self._audit(actor, rules.QUEUE_CREATE, rules.queue_target(queue.slug), data)
        return queue

    async def update_queue(
        self, actor: Actor, queue_id: int, *, name: str | None = None, allowed_origins: Sequence[str] | None = None
    ) -> Queue:
        """Rename a queue or replace its allowed origins."""
        before = await self._queue(queue_id)
        new_name = rules.check_name("name", name, self.max_name_chars) if name is not None else None
        origins = rules.check_origins(list(allowed_origins)) if allowed_origins is not None else None
        queue = await self.store.update_queue(queue_id, name=new_name, allowed_origins=origins)
        target = rules.queue_target(queue.slug)
        if queue.name != before.name:
            await self._audit(actor, rules.QUEUE_RENAME, target, {"from": before.name, "to": queue.name})
        if queue.allowed_origins != before.allowed_origins:
            data = {"from": list(before.allowed_origins), "to": list(queue.allowed_origins)}
            await self._audit(actor, rules.QUEUE_ORIGINS, target, data)
        return queue

    async def set_members(self, actor: Actor, queue_id: int, user_ids: Iterable[int]) -> list[int]:
        """Make ``user_ids`` exactly the queue's members; returns them."""
        queue = await self._queue(queue_id)
        wanted = set(user_ids)
        known = {u.id for u in await self.store.list_users()}
        unknown = sorted(wanted - known)
        if unknown:
            raise ProtocolError(f"no users with ids {unknown}")
        before = set(await self.store.queue_member_ids(queue_id))
        await self.store.set_queue_members(queue_id, sorted(wanted))
        await self._members_changed(actor, queue, added=wanted - before, removed=before - wanted)
        return sorted(wanted)

    async def add_members(self, actor: Actor, queue_id: int, user_ids: Iterable[int]) -> None:
        queue = await self._queue(queue_id)
        before = set(await self.store.queue_member_ids(queue_id))
        added = set(user_ids) - before
        for user_id in sorted(added):
            await self.store.add_queue_member(queue_id, user_id)
        await self._members_changed(actor, queue, added=added, removed=set())

    async def remove_members(self, actor: Actor, queue_id: int, user_ids: Iterable[int]) -> None:
        queue = await self._queue(queue_id)
        removed = {u for u in set(user_ids) if await self.store.remove_queue_member(queue_id, u)}
        await self._members_changed(actor, queue, added=set(), removed=removed)

    async def _members_changed(self, actor: Actor, queue: Queue, *, added: set[int], removed: set[int]) -> None:
        if not added and not removed:
            return
        await self._access_changed(sorted(added | removed))
        names = {u.id: u.username for u in await self.store.list_users()}
        data = {
            "added": sorted(names.get(u, f"#{u}") for u in added),
            "removed": sorted(names.get(u, f"#{u}") for u in removed),
        }
        await self._audit(actor, rules.QUEUE_MEMBERS, rules.queue_target(queue.slug), data)

    async def set_file_policy(
        self,
        actor: Actor,
        queue_id: int,
        *,
        to_visitor: bool | None = None,
        from_visitor: bool | None = None,
        max_file_bytes: int | None = None,
        max_files_per_session: int | None = None,
        blocked_extensions: str | None = None,
    ) -> FilePolicy:
        """Change the queue's file policy (``None`` keeps a field as it is);
        validated by :func:`rules.check_file_policy` against the server's
        settings. Audited with the policy before and after when it changed."""
        queue = await self._queue(queue_id)
        before = await self.store.get_file_policy(queue.id)
        wanted = rules.check_file_policy(
            to_visitor=before.to_visitor if to_visitor is None else to_visitor,
            from_visitor=before.from_visitor if from_visitor is None else from_visitor,
            max_file_bytes=before.max_file_bytes if max_file_bytes is None else max_file_bytes,
            max_files_per_session=before.max_files_per_session if max_files_per_session is None else max_files_per_session,
            blocked_extensions=",".join(before.blocked_extensions) if blocked_extensions is None else blocked_extensions,
            server_max_file_bytes=self.max_file_bytes,
            server_max_files_per_session=self.max_files_per_session,
        )
        if wanted == before:
            return before
        policy = await self.store.set_file_policy(queue.id, wanted)
        data = {"from": rules.policy_view(before), "to": rules.policy_view(policy)}
        await self._audit(actor, rules.QUEUE_FILES, rules.queue_target(queue.slug), data)
        return policy

    async def set_recording_policy(self, actor: Actor, queue_id: int, policy: str) -> RecordingPolicy:
        """Change whether the queue's screen sessions are recorded (always,
        on_request, never). Audited with the policy before and after when it
        changed; a session already sharing keeps the policy it started with."""
        queue = await self._queue(queue_id)
        wanted = rules.check_recording_policy(policy)
        before = await self.store.get_recording_policy(queue.id)
        if wanted == before:
            return before
        await self.store.set_recording_policy(queue.id, wanted)
        await self._audit(actor, rules.QUEUE_RECORDING, rules.queue_target(queue.slug), {"from": before, "to": wanted})
        return wanted

    async def set_queue_hours(self, actor: Actor, queue_id: int, raw: Any) -> dict[str, Any]:
        """Replace the queue's business hours (hours.py; ``{}``: always
        open), checked against ``hours_intervals_per_day`` and
        ``hours_holidays``. Audited with the hours before and after when they
        changed."""
        queue = await self._queue(queue_id)
        wanted = rules.check_hours(raw, max_intervals=self.hours_intervals_per_day, max_holidays=self.hours_holidays)
        before = await self.store.get_queue_hours(queue.id)
        if wanted == before:
            return before
        await self.store.set_queue_hours(queue.id, wanted)
        await self._audit(actor, rules.QUEUE_HOURS, rules.queue_target(queue.slug), {"from": before, "to": wanted})
        return wanted

    async def set_branding(
        self,
        actor: Actor,
        queue_id: int,
        *,
        title: str | None = None,
        color: str | None = None,
        welcome: str | None = None,
        fields: list[Any] | None = None,
    ) -> Branding:
        """Change the help box's title, accent colour, welcome text or
        pre-chat fields (``None`` keeps one as it is). Checked as a whole by
        :func:`rules.check_branding`; audited with before and after when it
        changed."""
        queue = await self._queue(queue_id)
        before = await self.store.get_branding(queue.id)
        new_title, new_color, new_welcome, new_fields = rules.check_branding(
            title=before.title if title is None else title,
            color=before.color if color is None else color,
            welcome=before.welcome if welcome is None else welcome,
            fields=list(before.fields) if fields is None else fields,
            limits=self.branding_limits,
        )
        after = await self.store.set_branding(queue.id, title=new_title, color=new_color, welcome=new_welcome, fields=new_fields)
        if after != before:
            data = {"from": rules.branding_view(before), "to": rules.branding_view(after)}
            await self._audit(actor, rules.QUEUE_BRANDING, rules.queue_target(queue.slug), data)
        return after

    async def set_logo(self, actor: Actor, queue_id: int, data: bytes) -> Branding:
        """Put a new logo in place (PNG, JPEG or WebP by its magic bytes, at
        most the ``max_logo_bytes`` setting); audited with its hash and size."""
        queue = await self._queue(queue_id)
        media = rules.check_logo(data, self.branding_limits.logo_bytes)
        digest = hashlib.sha256(data).hexdigest()
        await self.store.set_logo(queue.id, data=data, content_type=media, sha256=digest, now=self.now())
        data_view = {"sha256": digest, "type": media, "bytes": len(data)}
        await self._audit(actor, rules.QUEUE_LOGO, rules.queue_target(queue.slug), data_view)
        return await self.store.get_branding(queue.id)

    async def remove_logo(self, actor: Actor, queue_id: int) -> Branding:
        """The help box goes back to no logo; audited when there was one."""
        queue = await self._queue(queue_id)
        if await self.store.delete_logo(queue.id):
            await self._audit(actor, rules.QUEUE_LOGO, rules.queue_target(queue.slug), {"removed": True})
        return await self.store.get_branding(queue.id)

    # ---------------------------------------------------------------- helpers
    async def _queue(self, queue_id: int) -> Queue:
        queue = await self.store.get_queue(queue_id)
        if queue is None:
            raise NotFound(f"no queue {queue_id}")
        return queue

    # ---------------------------------------------------------- second factor
    async def set_second_factor_policy(self, actor: Actor, roles: Iterable[str]) -> list[Role]:
        """Say which roles must sign in with a second factor; returns them in
        role order."""
        wanted = set(roles)
        unknown = sorted(wanted - set(ROLES))
        if unknown:
            raise ProtocolError(f"unknown roles {unknown}; roles are {', '.join(ROLES)}")
        chosen = [r for r in ROLES if r in wanted]
        before = await self.store.get_policy(second_factor.POLICY_KEY)
        await self.store.set_policy(second_factor.POLICY_KEY, {"roles": chosen}, self.now())
        was = [r for r in ROLES if second_factor.required_for(before, r)]
        await self._audit(actor, rules.POLICY_SECOND_FACTOR, "policy second_factor", {"roles": chosen, "before": was})
        return chosen

    async def reset_second_factor(self, actor: Actor, user_id: int) -> bool:
        """The user enrols again at their next login (a lost phone); their
        current logins stay. Returns whether they had a second factor."""
        user = await self.store.get_user(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        had = await self.store.clear_second_factor(user.id)
        await self._audit(
            actor, rules.USER_SECOND_FACTOR_RESET, rules.user_target(user), {"user_id": user.id, "had_second_factor": had}
        )
        return had

    async def _audit(self, actor: Actor, action: str, target: str, data: dict[str, Any]) -> None:
        await self.store.add_audit(
            actor_id=actor.user_id, actor=actor.name, action=action, target=target, data=data, now=self.now()
        )

    async def _access_changed(self, user_ids: Sequence[int]) -> None:
        now = self.now()
        for user_id in user_ids:
            await self.store.add_access_change(user_id, now)
        if self.broker is None:
            return
        for user_id in user_ids:
            try:
                await self.broker.publish(ch.user_channel(user_id), ch.envelope("X", {"op": "access"}))
            except Exception:  # noqa: BLE001 (any broker failure: the access watcher carries the change)
                log.warning("could not publish the access change of user %d; nodes pick it up on their next poll", user_id)


def role_of(value: str) -> Role:
    """``value`` as a role, or :class:`ProtocolError`."""
    if value not in ROLES:
        raise ProtocolError(f"role must be one of {', '.join(ROLES)}")
    return value


def default_branding_limits() -> BrandingLimits:
    """The protocol's default branding limits (the settings' defaults)."""
    return BrandingLimits(
        fields=limits.MAX_PRECHAT_FIELDS,
        label_chars=limits.MAX_PRECHAT_LABEL_CHARS,
        options=limits.MAX_PRECHAT_OPTIONS,
        name_chars=limits.MAX_CONTEXT_KEY_CHARS,
        title_chars=limits.MAX_BRAND_TITLE_CHARS,
        welcome_chars=limits.MAX_WELCOME_CHARS,
        answer_chars=limits.MAX_PRECHAT_ANSWER_CHARS,
        logo_bytes=limits.MAX_LOGO_BYTES,
    )
