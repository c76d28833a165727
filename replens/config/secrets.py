"""``{REPLENS_*}`` placeholders, filled from the environment or from secret files (Docker's /run/secrets)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\{(REPLENS_[A-Z0-9_]+)\}")
DEFAULT_SECRETS_DIR = Path("/run/secrets")


class MissingSecretError(LookupError):
    """A placeholder names a secret that is neither in the environment nor in the secrets folder."""


def resolve_placeholders(text: str, env: Mapping[str, str], secrets_dir: Path = DEFAULT_SECRETS_DIR) -> str:
    """Replace every placeholder in ``text``; secret files may hold a trailing newline, which is dropped."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in env:
            return env[name]
        for candidate in (secrets_dir / name, secrets_dir / name.lower()):
            if candidate.is_file():
                return candidate.read_text().rstrip("\r\n")
        raise MissingSecretError(
            f"{name} is not set: export it or write it to {secrets_dir / name}"
        )

    return PLACEHOLDER.sub(lookup, text)
