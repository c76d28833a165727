"""AES-GCM sealing of small blobs under a key derived from a passphrase by scrypt (member gallery at rest).

``cryptography`` is an optional extra (``replens[identity]``), imported only when a key is configured.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from replens.errors import RepLensError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SALT_BYTES = 16
NONCE_BYTES = 12
KEY_BYTES = 32


class CipherError(RepLensError):
    """A blob cannot be opened (wrong key, tampered data) or the cipher cannot be set up."""


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """Cost of the key derivation: n=2**15, r=8 takes about 32 MiB and 0.1 s, once per open."""

    n: int = 2**15
    r: int = 8
    p: int = 1

    def encode(self) -> str:
        return f"scrypt:{self.n}:{self.r}:{self.p}"

    @classmethod
    def decode(cls, text: str) -> ScryptParams:
        name, n, r, p = text.split(":")
        if name != "scrypt":
            raise CipherError(f"unknown key derivation {name!r}")
        return cls(int(n), int(r), int(p))


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


class Cipher:
    """Seals with a fresh random nonce per blob; ``context`` binds a blob to its place (no swapping rows)."""

    def __init__(self, passphrase: str, salt: bytes, params: ScryptParams) -> None:
        if not passphrase:
            raise CipherError("the encryption key is empty")
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
        except ImportError as err:
            raise CipherError("encrypting the member gallery needs: pip install 'replens[identity]'") from err
        kdf = Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p)
        self._aead: AESGCM = AESGCM(kdf.derive(passphrase.encode()))

    def seal(self, plain: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag as err:
            raise CipherError("authentication failed (wrong key or altered data)") from err
