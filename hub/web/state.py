"""What the page's handlers share: the journal (read and edit), logins, the limiter, and the request's session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from aiohttp import web

from replens.config import RepLensConfig
from replens.config.web import WebConfig
from replens.hub.journal import Journal, JournalReader
from replens.hub.web.access import AccessStore, Session
from replens.hub.web.limits import LoginLimiter


class Access(StrEnum):
    """Who may open a route: anyone (login pages), a member's session, or staff."""

    PUBLIC = "public"
    MEMBER = "member"
    STAFF = "staff"
    SIGNED_IN = "signed_in"  # either (logging out)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WebState:
    """``journal`` is the hub's own (edits and claims go through it); ``reader`` reads on a connection of its own."""

    config: RepLensConfig
    web: WebConfig
    reader: JournalReader
    journal: Journal
    access: AccessStore
    limiter: LoginLimiter
    on_change: Callable[[], None] = lambda: None
    failure_delay_s: float = 0.5
    """Each wrong link or password waits this long before its answer: guessing gets slow before it gets refused."""
    clock: Callable[[], datetime] = field(default=_now)


STATE = web.AppKey("replens_state", WebState)
SESSION_KEY = web.RequestKey("replens_session", Session)
"""request[SESSION_KEY]: the caller's :class:`Session` (set by the middleware on routes that need one)."""
COOKIE = "replens_session"
PRE_COOKIE = "replens_pre"
"""The staff login form's double-submit token (no session exists before logging in)."""


def state_of(request: web.Request) -> WebState:
    return request.app[STATE]


def session_of(request: web.Request) -> Session:
    return request[SESSION_KEY]  # the middleware sets it on member and staff routes
