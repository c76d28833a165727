"""``influxdb:`` where the hub writes time series. Key names follow Home Assistant's influxdb integration."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator

from replens.config.base import StrictModel


class InfluxConfig(StrictModel):
    """Where the hub writes sets, reps and health; key names as in Home Assistant's influxdb integration."""

    api_version: Literal[1, 2, 3] = Field(
        default=1,
        description="1: InfluxDB 1.x /write (and the v1 endpoint of 2.x/3.x). 2: InfluxDB 2.x. 3: InfluxDB 3.",
    )
    host: str = Field(default="localhost", description="Server hostname or IP address.")
    port: int = Field(default=8086, ge=1, le=65535)
    ssl: bool = Field(default=False, description="Use https.")
    verify_ssl: bool = Field(default=True, description="Check the server certificate (turn off only for testing).")
    ssl_ca_cert: Path | None = Field(default=None, description="CA certificate for a self-signed server.")
    path: str = Field(default="", description="URL path prefix when InfluxDB sits behind a reverse proxy.")
    username: str | None = Field(default=None, description="api_version 1: user name.")
    password: SecretStr | None = Field(default=None, description="api_version 1: password.")
    database: str = Field(default="replens", description="api_version 1 and 3: database name.")
    retention_policy: str | None = Field(default=None, description="api_version 1: retention policy (server default).")
    token: SecretStr | None = Field(default=None, description="api_version 2 and 3: API token.")
    organization: str | None = Field(default=None, description="api_version 2: organisation name or id.")
    bucket: str | None = Field(default=None, description="api_version 2: bucket.")
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="Per-request timeout.")
    batch_size: int = Field(
        default=5000, ge=1, le=100_000, description="Points per write; bigger batches write faster, retry more."
    )
    flush_interval_s: float = Field(
        default=0.2, ge=0.0, le=60, description="Wait this long to gather a batch; lower is fresher, costs requests."
    )

    @model_validator(mode="after")
    def _required_per_version(self) -> Self:
        missing: list[str] = []
        if self.api_version == 2:
            missing = [k for k in ("token", "organization", "bucket") if getattr(self, k) is None]
        elif self.api_version == 3:
            missing = [k for k in ("token",) if getattr(self, k) is None]
        if missing:
            raise ValueError(f"api_version {self.api_version} needs {', '.join(missing)}")
        return self
