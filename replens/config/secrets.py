"""``{REPLENS_*}`` placeholders, filled from the environment or from secret files (Docker's /run/secrets)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from replens.errors import ConfigError

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


class UnresolvedSecret(SecretStr):
    """A secret field whose ``{REPLENS_*}`` placeholder this process was not given.

    Loading leaves it unresolved because each process needs only its own secrets: an agent has no
    InfluxDB token and no hub password, and should not be handed dummy values for them. Reading it
    raises ConfigError naming the variable, the file, the line and the key.
    """

    def __init__(self, placeholder: str, problem: str) -> None:
        super().__init__(placeholder)
        self.problem = problem

    @property
    def placeholder(self) -> str:
        """The text as written in the file, e.g. ``{REPLENS_INFLUX_TOKEN}``."""
        return self._secret_value

    def get_secret_value(self) -> str:
        raise ConfigError(self.problem)

    def _display(self) -> str:
        return "(not set)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnresolvedSecret) and other.placeholder == self.placeholder

    def __hash__(self) -> int:
        return hash(self.placeholder)
