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

    publish_linger_s: float = Field(
        default=0.05, ge=0.0, le=1.0,
        description="Agents: seconds to wait after an event for the ones that follow, to send them in one message. "
        "Under load one message carries many events, which is what lets one hub serve a whole gym; 0 sends at once.",
    )
    batch_max_events: int = Field(
        default=200, ge=1, le=1000,
        description="Agents: most events in one message (also capped at 128 KiB). 1 sends one event per message, "
        "as agents before batching did.",
    )

    @field_validator("prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        Topics(value)  # raises ValueError with the reason
        return value

    @property
    def topics(self) -> Topics:
        return Topics(self.prefix)
