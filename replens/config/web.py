"""``hub.web:`` the members' page the hub serves (off unless configured)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, StringConstraints, model_validator

from replens.config.base import StrictModel

StaffName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]


class StaffAccount(StrictModel):
    """A staff login for the page's staff view (every member, every station's last sets, unclaimed sets)."""

    name: StaffName = Field(description="Login name (letters, digits, _ . @ -).")
    password: SecretStr = Field(
        min_length=12, description="Write it as a {REPLENS_*} placeholder; at least 12 characters."
    )


class WebConfig(StrictModel):
    """The members' page: each member sees their own sets from a personal invite link; staff log in."""

    listen: str = Field(default="127.0.0.1", description="Address to listen on; 0.0.0.0 for every interface.")
    port: int = Field(default=8180, ge=0, le=65535, description="TCP port (0: any free port, for tests).")
    public_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="The address members' phones reach the page at (invite links start with it), e.g. "
        "https://gym.example.lan; default http://<listen>:<port>. Behind a reverse proxy, the proxy's address.",
    )
    tls_cert: Path | None = Field(default=None, description="PEM certificate to serve HTTPS (with tls_key).")
    tls_key: Path | None = Field(default=None, description="PEM private key for tls_cert.")
    staff: list[StaffAccount] = Field(default_factory=list, description="Staff logins (none: no staff view).")
    invite_days: float = Field(
        default=14, gt=0, le=365, description="How long an invite link works. Longer is handier, riskier if shared."
    )
    session_hours: float = Field(
        default=24 * 7, gt=0, le=24 * 90,
        description="How long a login lasts on a phone before the link is needed again.",
    )
    login_failures: int = Field(
        default=10, ge=1, le=1000,
        description="Wrong links or passwords from one address per login_window_s before it is refused (429).",
    )
    login_window_s: float = Field(default=300, gt=0, le=86_400, description="The window login_failures counts in.")

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        names = [s.name.lower() for s in self.staff]
        if len(names) != len(set(names)):
            raise ValueError("staff names must differ")
        return self

    @property
    def secure(self) -> bool:
        """Cookies get the Secure flag when members reach the page over HTTPS."""
        return self.tls_cert is not None or (self.public_url or "").startswith("https://")

    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        scheme = "https" if self.tls_cert is not None else "http"
        return f"{scheme}://{self.listen}:{self.port}"
