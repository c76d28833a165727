"""The page's routes, one table: method, path, handler and who may open it.

Every member route takes the member from the session, never from the URL: a set id that is not the
caller's answers 404, exactly as one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web

from replens.contract import EditVia, Exercise, LoadUnit
from replens.hub.journal import RecordedSet, TakenError, UnknownSetError
from replens.hub.web import pages
from replens.hub.web.access import Role
from replens.hub.web.export import to_csv, to_json
from replens.hub.web.forms import FormError, edit_form, form_unit, parse_edit
from replens.hub.web.html import short_when
from replens.hub.web.model import history as exercise_history
from replens.hub.web.model import presence_windows, records, sets_in_windows, week_of
from replens.hub.web.sessions import client_of, log_in, member_name, staff_password_ok
from replens.hub.web.state import COOKIE, PRE_COOKIE, Access, session_of, state_of
from replens.local_days import day_start, week_start

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CLAIM_LOOKBACK = timedelta(days=30)
"""How far back "Was this you?" looks for unclaimed sets."""
RECENT_SETS = 12


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    handler: Handler
    access: Access

    @property
    def name(self) -> str:
        return self.handler.__name__


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html")


def not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound(text=pages.message_page("Not found", "There is nothing here for you."),
                            content_type="text/html")


def see_other(location: str) -> web.HTTPSeeOther:
    """To raise from a handler (the middleware answers it)."""
    return web.HTTPSeeOther(location)


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def _own_set(request: web.Request, *, reps: bool = False) -> RecordedSet:
    """The set in the URL if it is the caller's; 404 otherwise (whether it exists or not)."""
    state, member = state_of(request), session_of(request).subject
    set_id = request.match_info["set_id"]
    found = await asyncio.to_thread(state.reader.sets_by_id, [set_id], reps=reps)
    if not found or found[0].member != member:
        raise not_found()
    return found[0]


async def _unit(request: web.Request) -> LoadUnit:
    """The caller's unit: every load on their pages is shown, and typed, in it."""
    return await asyncio.to_thread(state_of(request).reader.member_unit, session_of(request).subject)


async def _claimable(request: web.Request) -> list[RecordedSet]:
    """Unclaimed sets nobody was recognised at, started while the caller was in the gym (last 30 days)."""
    state, member = state_of(request), session_of(request).subject
    since = state.clock() - CLAIM_LOOKBACK
    visits = await asyncio.to_thread(state.reader.member_visits, member, since)
    windows = presence_windows(visits, member, state.config.identity.presence_timeout_s)
    if not windows:
        return []
    earliest = min(t0 for t0, _ in windows)
    candidates = await asyncio.to_thread(state.reader.unattributed_sets, earliest)
    return sets_in_windows(candidates, windows)


# member routes ------------------------------------------------------------------------------------------------
async def week(request: web.Request) -> web.StreamResponse:
    state, session = state_of(request), session_of(request)
    now = state.clock()
    sets = await asyncio.to_thread(state.reader.member_sets, session.subject, week_start(now))
    name = await member_name(state, session.subject)
    return html(pages.week_page(name, week_of(sets, now), session.csrf, await _unit(request)))


async def member_records(request: web.Request) -> web.StreamResponse:
    state, session = state_of(request), session_of(request)
    sets = await asyncio.to_thread(state.reader.member_sets, session.subject)
    return html(pages.records_page(records(sets), session.csrf, await _unit(request)))


async def history(request: web.Request) -> web.StreamResponse:
    state, session = state_of(request), session_of(request)
    try:
        exercise = Exercise(request.match_info["exercise"])
    except ValueError:
        raise not_found() from None
    measured = await asyncio.to_thread(state.reader.member_exercise_sets, session.subject, exercise.value)
    recent = [s for s, _ in reversed(measured[-RECENT_SETS:])]  # oldest first from the journal: newest first here
    return html(pages.history_page(exercise, exercise_history(measured), recent, session.csrf, await _unit(request)))


async def set_detail(request: web.Request) -> web.StreamResponse:
    state, session = state_of(request), session_of(request)
    found = await _own_set(request, reps=True)
    trail = await asyncio.to_thread(state.reader.set_edits, found.set_id)
    unit = await _unit(request)
    form = edit_form(found, f"{pages.set_link(found)}/edit", session.csrf, unit)
    return html(pages.set_page(found, trail, form, session.csrf, unit))


async def set_edit(request: web.Request) -> web.StreamResponse:
    """The journal's one edit path (as ``replens sets edit`` and MQTT's SetEdit), recorded as via web."""
    state, session = state_of(request), session_of(request)
    found = await _own_set(request)
    form = await request.post()
    try:
        change = parse_edit({k: str(v) for k, v in form.items()}, found, by=f"member {session.subject}")
    except FormError as err:
        return html(pages.message_page("Not saved", f"Not saved: {err}."), status=400)
    await asyncio.to_thread(state.journal.edit, change, EditVia.WEB)
    state.on_change()
    raise see_other(pages.set_link(found))


async def unclaimed(request: web.Request) -> web.StreamResponse:
    return html(pages.unclaimed_page(await _claimable(request), session_of(request).csrf, await _unit(request)))


async def claim(request: web.Request) -> web.StreamResponse:
    state, member = state_of(request), session_of(request).subject
    set_id = request.match_info["set_id"]
    if set_id not in {s.set_id for s in await _claimable(request)}:
        raise not_found()
    try:
        await asyncio.to_thread(functools.partial(state.journal.claim, set_id, member, "web", if_nobodys=True))
    except (UnknownSetError, TakenError):  # gone, or someone was quicker: as if it had never been offered
        raise not_found() from None
    state.on_change()
    raise see_other(f"/set/{set_id}")


async def me(request: web.Request) -> web.StreamResponse:
    state, session = state_of(request), session_of(request)
    body_weight = await asyncio.to_thread(state.reader.member_body_weight, session.subject)
    return html(pages.me_page(await member_name(state, session.subject), session.csrf, await _unit(request),
                              body_weight))


async def set_unit(request: web.Request) -> web.StreamResponse:
    """The member's own choice of kg or lb (as ``replens members set NAME --unit``); a bad value changes nothing."""
    state, member = state_of(request), session_of(request).subject
    form = await request.post()
    try:
        unit = form_unit({"unit": str(form.get("unit", ""))}, default=None)
    except FormError as err:
        return html(pages.message_page("Not saved", f"Not saved: {err}."), status=400)
    await asyncio.to_thread(state.journal.set_member_unit, member, unit)
    state.on_change()  # Home Assistant shows their loads in the new unit
    raise see_other("/me")


async def _all_sets(request: web.Request) -> list[RecordedSet]:
    state = state_of(request)
    return await asyncio.to_thread(state.reader.member_sets, session_of(request).subject, None, reps=True)


async def data_csv(request: web.Request) -> web.StreamResponse:
    text = to_csv(await _all_sets(request))
    return web.Response(text=text, content_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="replens-my-data.csv"'})


async def data_json(request: web.Request) -> web.StreamResponse:
    state, member = state_of(request), session_of(request).subject
    text = to_json(await member_name(state, member), member, await _all_sets(request), state.clock())
    return web.Response(text=text, content_type="application/json",
                        headers={"Content-Disposition": 'attachment; filename="replens-my-data.json"'})


async def delete_confirm(request: web.Request) -> web.StreamResponse:
    state, session = state_of(request), session_of(request)
    return html(pages.delete_page(await member_name(state, session.subject), session.csrf))


async def delete_me(request: web.Request) -> web.StreamResponse:
    """The same complete deletion as ``replens members delete``; needs the confirmation box ticked."""
    from replens.hub.erasure import erase_member

    state, member = state_of(request), session_of(request).subject
    form = await request.post()
    if form.get("confirm") != "yes":
        return html(pages.message_page("Not deleted", "Tick the box to confirm."), status=400)
    await asyncio.to_thread(erase_member, state.config, member)
    state.on_change()
    response = html(pages.message_page("Deleted", "Your face data, visits and logins are gone. Goodbye."))
    response.del_cookie(COOKIE, path="/")
    return response


async def log_out(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    cookie = request.cookies.get(COOKIE)
    if cookie:
        await asyncio.to_thread(state.access.end_session, cookie)
    response = html(pages.message_page("Logged out", "Open your personal link again to come back."))
    response.del_cookie(COOKIE, path="/")
    return response


# staff routes -------------------------------------------------------------------------------------------------
async def staff_home(request: web.Request) -> web.StreamResponse:
    from replens.members import member_names

    state, session = state_of(request), session_of(request)
    now = state.clock()
    names = await asyncio.to_thread(member_names, state.config.members_db())
    day = day_start(now)
    today = await asyncio.to_thread(state.reader.unclaimed_sets, day, now + timedelta(days=1))
    people = []
    for member_id, name in sorted(names.items(), key=lambda kv: kv[1].lower()):
        last = await asyncio.to_thread(state.reader.member_last_set, member_id)
        theirs = await asyncio.to_thread(state.reader.member_sets, member_id, day)
        people.append((name, len(theirs), "–" if last is None else short_when(last.started_at, now)))
    stations = []
    for agent_id, station in await asyncio.to_thread(state.reader.stations):
        last = await asyncio.to_thread(state.reader.last_ended_set, agent_id, station)
        if last is not None:
            stations.append((last, names.get(last.member, "unknown") if last.member else "unclaimed"))
    loose = [s for s in today if s.member is None]
    return html(pages.staff_page(people, stations, loose, session.csrf, now))


# public routes ------------------------------------------------------------------------------------------------
async def invite_link(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    client = client_of(request)
    if (wait := state.limiter.retry_after_s(client)) > 0:
        return _too_many(wait)
    redeemed = await asyncio.to_thread(state.access.redeem, request.match_info["token"],
                                       timedelta(hours=state.web.session_hours), state.clock())
    if redeemed is None or not await member_name(state, redeemed[0].subject, missing=""):
        state.limiter.failed(client)
        await asyncio.sleep(state.failure_delay_s)
        return html(pages.message_page("Link refused", "This link does not work: it expired or was revoked. "
                                       "Ask the gym for a new one."), status=403)
    return log_in(state, redeemed[1], "/")


async def staff_login_form(request: web.Request) -> web.StreamResponse:
    pre = secrets.token_urlsafe(16)
    response = html(pages.staff_login_page(pre))
    response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="Strict", secure=state_of(request).web.secure,
                        path="/staff/login")
    return response


async def staff_login(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    client = client_of(request)
    if (wait := state.limiter.retry_after_s(client)) > 0:
        return _too_many(wait)
    form = await request.post()
    pre = request.cookies.get(PRE_COOKIE, "")
    if not pre or not hmac.compare_digest(pre, str(form.get("pre", ""))):
        return html(pages.message_page("Refused", "The form expired; open the login page again."), status=403)
    name = str(form.get("name", ""))
    if not staff_password_ok(state.web, name, str(form.get("password", ""))):
        state.limiter.failed(client)
        await asyncio.sleep(state.failure_delay_s)
        return html(pages.staff_login_page(pre, "Wrong name or password."), status=403)
    session_cookie = await asyncio.to_thread(state.access.open_session, Role.STAFF, name,
                                             timedelta(hours=state.web.session_hours), state.clock())
    return log_in(state, session_cookie[1], "/staff")


def _too_many(wait_s: float) -> web.Response:
    response = html(pages.message_page("Too many attempts", "Too many wrong links or passwords from here. "
                                       "Wait a few minutes."), status=429)
    response.headers["Retry-After"] = str(int(wait_s) + 1)
    return response


ROUTES: tuple[Route, ...] = (
    Route("GET", "/", week, Access.MEMBER),
    Route("GET", "/records", member_records, Access.MEMBER),
    Route("GET", "/exercise/{exercise}", history, Access.MEMBER),
    Route("GET", "/set/{set_id}", set_detail, Access.MEMBER),
    Route("POST", "/set/{set_id}/edit", set_edit, Access.MEMBER),
    Route("GET", "/unclaimed", unclaimed, Access.MEMBER),
    Route("POST", "/set/{set_id}/claim", claim, Access.MEMBER),
    Route("GET", "/me", me, Access.MEMBER),
    Route("POST", "/me/unit", set_unit, Access.MEMBER),
    Route("GET", "/me/data.csv", data_csv, Access.MEMBER),
    Route("GET", "/me/data.json", data_json, Access.MEMBER),
    Route("GET", "/me/delete", delete_confirm, Access.MEMBER),
    Route("POST", "/me/delete", delete_me, Access.MEMBER),
    Route("POST", "/logout", log_out, Access.SIGNED_IN),
    Route("GET", "/staff", staff_home, Access.STAFF),
    Route("GET", "/i/{token}", invite_link, Access.PUBLIC),
    Route("GET", "/staff/login", staff_login_form, Access.PUBLIC),
    Route("POST", "/staff/login", staff_login, Access.PUBLIC),
)
