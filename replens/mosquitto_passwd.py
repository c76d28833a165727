"""Mosquitto password-file lines (``$7$``: PBKDF2-SHA512), so setup needs no mosquitto_passwd binary."""

from __future__ import annotations

import base64
import hashlib
import secrets

ITERATIONS = 101  # what mosquitto_passwd 2.0 writes
SALT_BYTES = 12


def password_line(username: str, password: str, salt: bytes | None = None) -> str:
    if ":" in username or not username:
        raise ValueError(f"MQTT user name {username!r} must be non-empty and contain no ':'")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"{username}:$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
