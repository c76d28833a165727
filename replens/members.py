"""The member gallery: names, consent and face embeddings in one owner-only SQLite file, optionally encrypted.

Only member ids travel (MQTT topics, InfluxDB), so ids are random and never derived from names.
Deleting a member removes every row of theirs and rewrites the file (secure_delete, then VACUUM), so
nothing of them lingers in free pages.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import secrets
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.cipher import Cipher, CipherError, ScryptParams, new_salt
from replens.errors import RepLensError

log = logging.getLogger(__name__)

EMBEDDING_SIZE = 128
MAX_NAME_CHARS = 64
_CHECK_PLAIN = b"replens member gallery"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, consent INTEGER NOT NULL CHECK (consent = 1),
    consent_at TEXT NOT NULL, enrolled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    id INTEGER PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members(id), vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_member ON embeddings(member_id);
CREATE TABLE IF NOT EXISTS crops (
    id INTEGER PRIMARY KEY, member_id TEXT NOT NULL REFERENCES members(id), jpeg BLOB NOT NULL,
    taken_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS crops_member ON crops(member_id);
"""

Embedding = Float32Array


class MemberError(RepLensError):
    """A member operation cannot be done; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    consent_at: datetime
    enrolled_at: datetime
    embeddings: int
    crops: int


class MembersStore:
    """Thread-safe (one connection, one lock). ``key`` encrypts embeddings and crops with AES-GCM."""

    def __init__(self, path: Path, key: str | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cipher: Cipher | None = None
        _create_private(path)
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise MemberError(f"member gallery {path}: cannot open: {err}") from err
        try:
            self._setup_encryption(key)
        except BaseException:
            self._db.close()
            raise

    # enrolment ------------------------------------------------------------------------------------------
    def add(
        self, name: str, embeddings: Sequence[npt.ArrayLike], *, consent: bool, crops: Sequence[bytes] = ()
    ) -> Member:
        """Enrol a new member; consent must have been recorded, names are unique regardless of case."""
        name = _check_name(name)
        if not consent:
            raise MemberError(
                f"refusing to enrol {name!r}: face embeddings are biometric data, so the member's consent must "
                "be recorded first (consent=True, `--consent` on the command line)"
            )
        vectors = _check_embeddings(embeddings)
        with self._write() as db:
            self._refuse_taken(db, name, None)
            member_id = _new_id(db)
            now = _now()
            db.execute(
                "INSERT INTO members(id, name, consent, consent_at, enrolled_at) VALUES (?, ?, 1, ?, ?)",
                (member_id, name, now, now),
            )
            self._insert_embeddings(db, member_id, vectors)
            db.executemany(
                "INSERT INTO crops(member_id, jpeg, taken_at) VALUES (?, ?, ?)",
                [(member_id, self._seal("crop", member_id, jpeg), now) for jpeg in crops],
            )
        return self.get(member_id)

    def add_embeddings(self, name_or_id: str, embeddings: Sequence[npt.ArrayLike]) -> Member:
        vectors = _check_embeddings(embeddings)
        with self._write() as db:
            member_id, _ = self._resolve(db, name_or_id)
            self._insert_embeddings(db, member_id, vectors)
        return self.get(member_id)

    def rename(self, name_or_id: str, new_name: str) -> Member:
        new_name = _check_name(new_name)
        with self._write() as db:
            member_id, _ = self._resolve(db, name_or_id)
            self._refuse_taken(db, new_name, member_id)
            db.execute("UPDATE members SET name = ? WHERE id = ?", (new_name, member_id))
        return self.get(member_id)

    def delete(self, name_or_id: str) -> Member:
        """Remove the member, their embeddings and crops, then rewrite the file so no trace is left."""
        member = self.get(name_or_id)
        with self._write() as db:
            for table, column in (("crops", "member_id"), ("embeddings", "member_id"), ("members", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (member.id,))
        self._vacuum()
        # Nothing that names the member at INFO: logs travel further than the gallery.
        log.info("members: deleted a member with %d embeddings and %d crops", member.embeddings, member.crops)
        log.debug("members: the deleted member was %s", member.id)
        return member

    def purge_crops(self, older_than_days: float) -> int:
        """Delete enrolment face crops older than this; returns how many went."""
        cutoff = (datetime.now(UTC) - timedelta(days=older_than_days)).isoformat()
        with self._write() as db:
            removed = db.execute("DELETE FROM crops WHERE taken_at < ?", (cutoff,)).rowcount
        if removed:
            self._vacuum()
        return int(removed)

    # reading --------------------------------------------------------------------------------------------
    def get(self, name_or_id: str) -> Member:
        with self._lock:
            member_id, _ = self._resolve(self._db, name_or_id)
            (member,) = self._query("WHERE m.id = ?", (member_id,))
        return member

    def names(self) -> dict[str, str]:
        """Member id → name."""
        with self._lock:
            return {str(i): str(n) for i, n in self._db.execute("SELECT id, name FROM members")}

    def gallery(self) -> dict[str, list[Embedding]]:
        """Member id → face embeddings, (128,) float32 each: what the face matcher compares against."""
        with self._lock:
            rows = self._db.execute("SELECT member_id, vector FROM embeddings ORDER BY id").fetchall()
        found: dict[str, list[Embedding]] = {}
        for member_id, blob in rows:
            plain = self._open("embedding", member_id, blob)
            found.setdefault(member_id, []).append(np.frombuffer(plain, dtype="<f4").astype(np.float32))
        return found

    def members(self) -> list[Member]:
        """Everyone enrolled, by name."""
        with self._lock:
            return self._query("", ())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> MembersStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # internals ------------------------------------------------------------------------------------------
    def _query(self, where: str, args: tuple[str, ...]) -> list[Member]:
        rows = self._db.execute(
            "SELECT m.id, m.name, m.consent_at, m.enrolled_at, "
            "(SELECT COUNT(*) FROM embeddings e WHERE e.member_id = m.id), "
            f"(SELECT COUNT(*) FROM crops c WHERE c.member_id = m.id) FROM members m {where} ORDER BY m.name",
            args,
        ).fetchall()
        return [
            Member(str(i), str(n), datetime.fromisoformat(c), datetime.fromisoformat(e), int(k), int(p))
            for i, n, c, e, k, p in rows
        ]

    def _resolve(self, db: sqlite3.Connection, name_or_id: str) -> tuple[str, str]:
        """(id, name) of a member given by id or by name (any case)."""
        row = db.execute("SELECT id, name FROM members WHERE id = ? OR name = ? ORDER BY id = ? DESC",
                         (name_or_id, name_or_id, name_or_id)).fetchone()
        if row is not None:
            return str(row[0]), str(row[1])
        known = dict(db.execute("SELECT lower(name), name FROM members").fetchall())
        close = difflib.get_close_matches(name_or_id.lower(), list(known), n=1, cutoff=0.6)
        hint = f"; did you mean {known[close[0]]!r}?" if close else f" ({len(known)} members enrolled)"
        raise MemberError(f"no member {name_or_id!r} in {self.path}{hint}")

    def _refuse_taken(self, db: sqlite3.Connection, name: str, own_id: str | None) -> None:
        row = db.execute("SELECT id, name FROM members WHERE name = ? AND id IS NOT ?", (name, own_id)).fetchone()
        if row is not None:
            raise MemberError(f"member {row[1]!r} (id {row[0]}) already has that name; names must differ "
                              "(regardless of case)")

    def _insert_embeddings(self, db: sqlite3.Connection, member_id: str, vectors: list[bytes]) -> None:
        db.executemany("INSERT INTO embeddings(member_id, vector) VALUES (?, ?)",
                       [(member_id, self._seal("embedding", member_id, v)) for v in vectors])

    def _seal(self, kind: str, member_id: str, plain: bytes) -> bytes:
        return plain if self._cipher is None else self._cipher.seal(plain, f"{kind}:{member_id}".encode())

    def _open(self, kind: str, member_id: str, stored: bytes) -> bytes:
        if self._cipher is None:
            return stored
        try:
            return self._cipher.open(stored, f"{kind}:{member_id}".encode())
        except CipherError as err:
            raise MemberError(f"{self.path}: cannot decrypt the member gallery: {err}") from err

    def _setup_encryption(self, key: str | None) -> None:
        with self._write() as db:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if "encryption" not in meta:
                meta = {"encryption": b"aes-gcm" if key else b"none"}
                if key:
                    meta.update(salt=new_salt(), kdf=ScryptParams().encode().encode())
                db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", list(meta.items()))
        if meta["encryption"] == b"none":
            if key:
                self._encrypt_existing(key)
            return
        if not key:
            raise MemberError(f"member gallery {self.path} is encrypted: set identity.encryption_key to open it")
        try:
            cipher = Cipher(key, bytes(meta["salt"]), ScryptParams.decode(bytes(meta["kdf"]).decode()))
        except CipherError as err:
            raise MemberError(f"member gallery {self.path}: {err}") from err
        self._check_key(cipher, meta.get("check"))
        self._cipher = cipher

    def _check_key(self, cipher: Cipher, check: bytes | None) -> None:
        if check is None:  # first open with this key
            with self._write() as db:
                db.execute("INSERT INTO meta(key, value) VALUES ('check', ?)", (cipher.seal(_CHECK_PLAIN, b"check"),))
            return
        try:
            cipher.open(bytes(check), b"check")
        except CipherError as err:
            raise MemberError(
                f"{self.path}: cannot decrypt the member gallery: wrong identity.encryption_key?"
            ) from err

    def _encrypt_existing(self, key: str) -> None:
        """A key configured for a plain gallery: encrypt every blob in place, then drop the plain pages."""
        salt, params = new_salt(), ScryptParams()
        cipher = Cipher(key, salt, params)
        with self._write() as db:
            for table, column, kind in (("embeddings", "vector", "embedding"), ("crops", "jpeg", "crop")):
                rows = db.execute(f"SELECT id, member_id, {column} FROM {table}").fetchall()
                db.executemany(f"UPDATE {table} SET {column} = ? WHERE id = ?",
                               [(cipher.seal(b, f"{kind}:{m}".encode()), i) for i, m, b in rows])
            db.execute("DELETE FROM meta")
            db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
                ("encryption", b"aes-gcm"), ("salt", salt), ("kdf", params.encode().encode()),
                ("check", cipher.seal(_CHECK_PLAIN, b"check")),
            ])
        self._cipher = cipher
        self._vacuum()
        log.info("members: encrypted the gallery %s", self.path)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise MemberError(f"member gallery {self.path}: {err}") from err
            try:
                yield self._db
            except sqlite3.Error as err:
                self._db.execute("ROLLBACK")
                raise MemberError(f"member gallery {self.path}: {err}") from err
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _vacuum(self) -> None:
        with self._lock:
            try:
                self._db.execute("VACUUM")
            except sqlite3.Error as err:
                raise MemberError(f"member gallery {self.path}: cannot compact after deleting: {err}") from err


def member_names(path: Path) -> dict[str, str]:
    """Member id → name, read-only and without the key (names are not encrypted); {} when no gallery yet."""
    if not path.exists():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            return {str(i): str(n) for i, n in db.execute("SELECT id, name FROM members")}
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return {}  # created a moment ago, schema not written yet
        raise MemberError(f"member gallery {path}: {err}") from err


def _check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise MemberError("a member needs a name")
    if len(cleaned) > MAX_NAME_CHARS:
        raise MemberError(f"member name {cleaned[:20]!r}… has {len(cleaned)} characters; at most {MAX_NAME_CHARS}")
    if not cleaned.isprintable():
        raise MemberError(f"member name {cleaned!r} contains control characters")
    return cleaned


def _check_embeddings(embeddings: Sequence[npt.ArrayLike]) -> list[bytes]:
    """Each embedding as little-endian float32 bytes; at least one, each (128,) and finite."""
    if len(embeddings) == 0:
        raise MemberError("at least one face embedding is needed")
    vectors = []
    for index, embedding in enumerate(embeddings):
        array = np.asarray(embedding, dtype=np.float64)
        if array.shape != (EMBEDDING_SIZE,) or not np.isfinite(array).all():
            raise MemberError(f"embedding {index}: expected {EMBEDDING_SIZE} finite numbers, got shape {array.shape}")
        vectors.append(array.astype("<f4").tobytes())
    return vectors


def _new_id(db: sqlite3.Connection) -> str:
    """``m`` + 10 random hex digits: valid as an MQTT topic level and InfluxDB value, and says nothing."""
    while True:
        member_id = "m" + secrets.token_hex(5)
        if db.execute("SELECT 1 FROM members WHERE id = ?", (member_id,)).fetchone() is None:
            return member_id


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _create_private(path: Path) -> None:
    """Owner-only: 0700 for a folder we create, 0600 for the file (SQLite gives its journal the same mode)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        path.parent.chmod(0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("members: %s was readable by others (mode %o); making it owner-only", path, mode)
            path.chmod(0o600)
        return
    os.close(fd)
    path.chmod(0o600)
