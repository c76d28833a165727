"""The members' page as an aiohttp application, and the task that serves it inside the hub.

One middleware decides access for every route from the route table (routes.py), checks the CSRF token of
every POST, and adds the security headers. aiohttp's access log is off: URLs carry invite tokens and set
ids, and nothing about a member may reach the logs at INFO.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web

from replens.config import RepLensConfig
from replens.config.web import WebConfig
from replens.hub.journal import Journal, JournalReader
from replens.hub.web import pages
from replens.hub.web.access import AccessStore, Role, Session, access_path
from replens.hub.web.limits import LoginLimiter
from replens.hub.web.routes import ROUTES, Handler, html, redirect
from replens.hub.web.sessions import current_session
from replens.hub.web.state import SESSION_KEY, STATE, Access, WebState

log = logging.getLogger(__name__)

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
RUNNER_OPTIONS: dict[str, Any] = {"access_log": None}
"""aiohttp's access log is off: its lines carry invite tokens and set ids (tests serve with the same options)."""
_ACCESS = {route.name: route.access for route in ROUTES}
_ROLE_FOR = {Access.MEMBER: {Role.MEMBER}, Access.STAFF: {Role.STAFF}, Access.SIGNED_IN: {Role.MEMBER, Role.STAFF}}


def _refused(request: web.Request, access: Access, session: Session | None) -> web.StreamResponse | None:
    """The answer for a caller who may not open this route, or None when they may."""
    if access is Access.PUBLIC or (session is not None and session.role in _ROLE_FOR[access]):
        return None
    if session is not None:  # signed in, but not for this: as if the route did not exist
        return html(pages.message_page("Not found", "There is nothing here for you."), status=404)
    if access is Access.STAFF:
        return redirect("/staff/login")
    return html(pages.message_page("Please log in", "Open your personal link from the gym again."), status=401)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    route_name = request.match_info.route.name
    access = _ACCESS.get(route_name or "", Access.PUBLIC)
    session = None if access is Access.PUBLIC else await current_session(state, request)
    refused = _refused(request, access, session)
    if refused is not None:
        response = refused
    elif request.method == "POST" and session is not None and not await _csrf_ok(request, session):
        response = html(pages.message_page("Refused", "This form expired; reload the page."), status=403)
    else:
        if session is not None:
            request[SESSION_KEY] = session
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # raised by handlers (404, 303); answered as a plain response
            response = web.Response(status=exc.status, body=exc.body, headers=exc.headers)
    response.headers.update(HEADERS)
    return response


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    form = await request.post()
    return hmac.compare_digest(str(form.get("csrf", "")), session.csrf)


def build_app(state: WebState) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[STATE] = state
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    return app


def open_state(config: RepLensConfig, journal: Journal, on_change: Callable[[], None]) -> WebState:
    web_config = config.hub.web
    assert web_config is not None
    return WebState(config=config, web=web_config, reader=JournalReader(journal.path), journal=journal,
                    access=AccessStore(access_path(config.hub_data_dir())),
                    limiter=LoginLimiter(web_config.login_failures, web_config.login_window_s), on_change=on_change)


def _tls(web_config: WebConfig) -> ssl.SSLContext | None:
    if web_config.tls_cert is None or web_config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(web_config.tls_cert, web_config.tls_key)
    return context


class WebServer:
    """Serves the page until cancelled; ``started`` is set once it listens (``port`` then holds the real port)."""

    def __init__(self, state: WebState) -> None:
        self.state = state
        self.started = asyncio.Event()
        self.port: int | None = None

    async def run(self) -> None:
        web_config = self.state.web
        runner = web.AppRunner(build_app(self.state), handle_signals=False, **RUNNER_OPTIONS)
        await runner.setup()
        try:
            site = web.TCPSite(runner, web_config.listen, web_config.port, ssl_context=_tls(web_config))
            await site.start()
            addresses = runner.addresses
            self.port = int(addresses[0][1]) if addresses else web_config.port
            log.info("hub: members' page listening on %s:%d (members reach it at %s)", web_config.listen, self.port,
                     web_config.public_url or f"port {self.port}")
            self.started.set()
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            self.state.reader.close()
            self.state.access.close()
