"""The second factor over HTTP: finishing a login with a code, a user's own
"Security" settings, and the admin policy and reset.

Users manage their own factor with a current code each time (enrol, confirm,
new recovery codes, turn off); wrong codes count against the login limits
and answer 403 ``auth_failed`` (the login itself is fine). Admins say which
roles must use a second factor and can reset a user's factor (the user enrols
again at the next login); both are written to the audit log.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from desklink.admin.rules import Actor
from desklink.errors import Forbidden
from desklink.server.api_console import NO_STORE, login_response, user_view
from desklink.server.auth import Enrolment, Login
from desklink.server.context import Context
from desklink.server.http import Access, client_ip, endpoint, json_response
from desklink.server.schemas import CodeBody, SecondFactorBody, SecondFactorPolicyBody
from desklink.server.second_factor import POLICY_KEY, required_for
from desklink.store.records import ROLES


def _ip(request: Request, ctx: Context) -> str:
    return client_ip(request)


def enrolment_view(enrolment: Enrolment) -> dict[str, str]:
    return {"secret": enrolment.secret, "uri": enrolment.uri, "qr": enrolment.qr}


@endpoint("/api/auth/second-factor", ("POST",), Access.PUBLIC, body=SecondFactorBody)
async def finish_login(request: Request, ctx: Context, _: Any, body: SecondFactorBody) -> Response:
    """Finish a login with the ticket and a current code or a recovery code."""
    if not ctx.origins.same_site(request.headers.get("origin"), request):
        raise Forbidden("cross-site login refused", code="csrf_failed")
    step = await ctx.accounts.finish_login(body.ticket, body.code, _ip(request, ctx))
    return login_response(request, ctx, step)


@endpoint("/api/me/second-factor", ("GET",), Access.REP)
async def my_status(request: Request, ctx: Context, login: Login) -> Response:
    """Whether you have a second factor, must have one, and recovery codes left."""
    return json_response(await ctx.accounts.second_factor_status(login.user))


@endpoint("/api/me/second-factor", ("POST",), Access.REP)
async def my_enrol(request: Request, ctx: Context, login: Login) -> Response:
    """Start adding a second factor: the secret, otpauth URI and QR code."""
    enrolment = await ctx.accounts.begin_enrolment(login.user)
    return json_response(enrolment_view(enrolment), headers=NO_STORE)


@endpoint("/api/me/second-factor/confirm", ("POST",), Access.REP, body=CodeBody)
async def my_confirm(request: Request, ctx: Context, login: Login, body: CodeBody) -> Response:
    """Confirm the new second factor with a current code; answers the recovery codes once."""
    codes = await ctx.accounts.confirm_enrolment(login.user, body.code, _ip(request, ctx))
    return json_response({"recovery_codes": codes}, headers=NO_STORE)


@endpoint("/api/me/second-factor/recovery-codes", ("POST",), Access.REP, body=CodeBody)
async def my_recovery_codes(request: Request, ctx: Context, login: Login, body: CodeBody) -> Response:
    """Replace your recovery codes (needs a current code); answers the new ones once."""
    codes = await ctx.accounts.regenerate_recovery_codes(login.user, body.code, _ip(request, ctx))
    return json_response({"recovery_codes": codes}, headers=NO_STORE)


@endpoint("/api/me/second-factor/disable", ("POST",), Access.REP, body=CodeBody)
async def my_disable(request: Request, ctx: Context, login: Login, body: CodeBody) -> Response:
    """Turn your second factor off (needs a current code; refused when your role requires one)."""
    await ctx.accounts.disable_second_factor(login.user, body.code, _ip(request, ctx))
    return Response(status_code=204)


@endpoint("/api/admin/second-factor", ("GET",), Access.ADMIN)
async def admin_overview(request: Request, ctx: Context, login: Login) -> Response:
    """The second-factor policy and every user's second-factor state."""
    policy = await ctx.store.get_policy(POLICY_KEY)
    states = await ctx.store.second_factor_states()
    users: list[dict[str, Any]] = []
    for user in await ctx.store.list_users():
        view = user_view(user)
        state = states.get(user.id)
        view["second_factor"] = "off" if state is None else "on" if state else "enrolling"
        view["second_factor_required"] = required_for(policy, user.role)
        users.append(view)
    return json_response({"policy": {"roles": [r for r in ROLES if required_for(policy, r)]}, "users": users})


@endpoint("/api/admin/second-factor/policy", ("PUT",), Access.ADMIN, body=SecondFactorPolicyBody)
async def admin_set_policy(request: Request, ctx: Context, login: Login, body: SecondFactorPolicyBody) -> Response:
    """Say which roles must sign in with a second factor (audited)."""
    roles = await ctx.admin.set_second_factor_policy(Actor.admin(login.user), body.roles)
    return json_response({"policy": {"roles": roles}})


@endpoint("/api/admin/users/{user_id:int}/second-factor", ("DELETE",), Access.ADMIN)
async def admin_reset(request: Request, ctx: Context, login: Login) -> Response:
    """Reset a user's second factor: they enrol again at their next login (audited)."""
    await ctx.admin.reset_second_factor(Actor.admin(login.user), request.path_params["user_id"])
    return Response(status_code=204)


ROUTES = [finish_login, my_status, my_enrol, my_confirm, my_recovery_codes, my_disable, admin_overview, admin_set_policy, admin_reset]
