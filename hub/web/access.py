"""Who may see the members' page: invite links and login sessions, stored hashed in one owner-only SQLite file.

A member logs in with a personal link (``replens members invite NAME``); staff log in with a name and password
from the config. Tokens are random (256 bits) and opaque; only their SHA-256 is stored, so a copy of the file
opens nothing. An invite works until it expires or is revoked; revoking (or deleting the member) also ends the
member's sessions. Each session carries its own CSRF token.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from replens.errors import TransientError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS invites (
    token_hash TEXT PRIMARY KEY, member_id TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS invites_member ON invites(member_id);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, subject TEXT NOT NULL, csrf TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_subject ON sessions(role, subject);
"""
TOKEN_BYTES = 32


class Role(StrEnum):
    MEMBER = "member"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Invite:
    """A new invite: ``token`` is shown once (in the link) and never stored."""

    member_id: str
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: a member (``subject`` is the member id) or staff (the staff name)."""

    role: Role
    subject: str
    csrf: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_path(hub_data_dir: Path) -> Path:
    return hub_data_dir / "web.sqlite3"


class AccessStore:
    """Thread-safe (one connection, one lock); the hub and the CLI may open the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        _create_private(path)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise TransientError(f"page logins {path}: cannot open: {err}") from err

    def invite(self, member_id: str, valid_for: timedelta, now: datetime | None = None) -> Invite:
        """A new link for the member; their earlier links stop working (sessions stay)."""
        now = now or datetime.now(UTC)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires = now + valid_for
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM invites WHERE member_id = ?", (member_id,))
            self._db.execute("INSERT INTO invites VALUES (?, ?, ?, ?)",
                             (token_hash(token), member_id, now.timestamp(), expires.timestamp()))
        return Invite(member_id, token, expires)

    def redeem(self, token: str, valid_for: timedelta, now: datetime | None = None) -> tuple[Session, str] | None:
        """A session (and its cookie token) for a valid invite link; None for an unknown, expired or revoked one."""
        now = now or datetime.now(UTC)
        with self._lock:
            row = self._db.execute("SELECT member_id FROM invites WHERE token_hash = ? AND expires_at > ?",
                                   (token_hash(token), now.timestamp())).fetchone()
        if row is None:
            return None
        return self.open_session(Role.MEMBER, str(row[0]), valid_for, now)

    def open_session(self, role: Role, subject: str, valid_for: timedelta,
                     now: datetime | None = None) -> tuple[Session, str]:
        now = now or datetime.now(UTC)
        cookie = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(role, subject, secrets.token_urlsafe(TOKEN_BYTES), now + valid_for)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now.timestamp(),))
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                             (token_hash(cookie), role.value, subject, session.csrf, now.timestamp(),
                              session.expires_at.timestamp()))
        return session, cookie

    def session(self, cookie: str, now: datetime | None = None) -> Session | None:
        now = now or datetime.now(UTC)
        with self._lock:
            row = self._db.execute("SELECT role, subject, csrf, expires_at FROM sessions WHERE token_hash = ? "
                                   "AND expires_at > ?", (token_hash(cookie), now.timestamp())).fetchone()
        if row is None:
            return None
        role, subject, csrf, expires = row
        return Session(Role(role), str(subject), str(csrf), datetime.fromtimestamp(float(expires), UTC))

    def end_session(self, cookie: str) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(cookie),))

    def revoke(self, member_id: str) -> int:
        """Invalidate the member's links and end their sessions; returns how many of both went."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            links = self._db.execute("DELETE FROM invites WHERE member_id = ?", (member_id,)).rowcount
            sessions = self._db.execute("DELETE FROM sessions WHERE role = ? AND subject = ?",
                                        (Role.MEMBER.value, member_id)).rowcount
        return int(links) + int(sessions)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _create_private(path: Path) -> None:
    """Owner-only file (the hashes are not secrets, but who has a login is)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
        return
    os.close(fd)
