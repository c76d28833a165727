"""``mqtt:`` the broker both agents and hub talk to."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from replens.config.base import StrictModel
from replens.contract.topics import DEFAULT_PREFIX, Topics


class MqttTlsConfig(StrictModel):
    """TLS to the broker; set this section to turn it on."""

    ca_cert: Path | None = Field(default=None, description="CA certificate (PEM) that signed the broker's certificate.")
    certfile: Path | None = Field(default=None, description="Client certificate (PEM), for brokers that require one.")
    keyfile: Path | None = Field(default=None, description="Client private key (PEM).")
    insecure: bool = Field(
        default=False, description="Skip the broker hostname check. Only for testing: it allows impersonation."
    )


class MqttConfig(StrictModel):
    """The broker every agent and the hub connect to."""

    host: str = Field(default="localhost", description="Broker hostname or IP address.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (8883 is usual with TLS).")
    username: str | None = Field(default=None, description="Broker account; use a separate one per agent.")
    password: SecretStr | None = Field(default=None, description="Broker password; use a {REPLENS_*} placeholder.")
    tls: MqttTlsConfig | None = Field(default=None, description="Enable TLS by setting this section.")
    prefix: str = Field(default=DEFAULT_PREFIX, description="First level of every RepLens topic.")
    keepalive_s: int = Field(
        default=30, ge=5, le=3600, description="Seconds between pings; lower notices a dead link sooner, costs traffic."
    )

    @field_validator("prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        Topics(value)  # raises ValueError with the reason
        return value

    @property
    def topics(self) -> Topics:
        return Topics(self.prefix)
