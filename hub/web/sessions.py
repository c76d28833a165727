"""Logging in and recognising the caller: session cookies, staff passwords, members still in the gallery."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

from aiohttp import web

from replens.config.web import WebConfig
from replens.hub.web.access import Role, Session
from replens.hub.web.state import COOKIE, WebState
from replens.members import member_names


def client_of(request: web.Request) -> str:
    """The address login attempts are counted by (behind a reverse proxy: the proxy's; see docs)."""
    return request.remote or "unknown"


def log_in(state: WebState, cookie: str, location: str) -> web.StreamResponse:
    """Redirect to ``location`` with the session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS.

    Lax rather than Strict so that the invite link, opened from a message, lands logged in; every change is a
    POST with the session's CSRF token, which a cross-site form cannot know.
    """
    response = web.Response(status=303, headers={"Location": location})
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Lax", secure=state.web.secure, path="/",
                        max_age=int(state.web.session_hours * 3600))
    return response


async def member_name(state: WebState, member_id: str, missing: str = "you") -> str:
    """The member's name from the gallery; ``missing`` when they are not (any more) in it."""
    names = await asyncio.to_thread(member_names, state.config.members_db())
    return names.get(member_id, missing)


async def current_session(state: WebState, request: web.Request) -> Session | None:
    """The caller's live session; a member's ends the moment they are deleted from the gallery."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    found = await asyncio.to_thread(state.access.session, cookie, state.clock())
    if found is None:
        return None
    if found.role is Role.MEMBER and not await member_name(state, found.subject, missing=""):
        await asyncio.to_thread(state.access.end_session, cookie)
        return None
    if found.role is Role.STAFF and found.subject not in {s.name for s in state.web.staff}:
        return None  # removed from the config since
    return found


def staff_password_ok(web_config: WebConfig, name: str, password: str) -> bool:
    """Compared as digests in constant time, checking every account so timing tells nothing."""
    given = hashlib.sha256(password.encode()).digest()
    ok = False
    for account in web_config.staff:
        expected = hashlib.sha256(account.password.get_secret_value().encode()).digest()
        ok |= hmac.compare_digest(given, expected) and hmac.compare_digest(account.name.lower(), name.lower())
    return ok
