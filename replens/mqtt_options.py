"""Connection settings both the agent (paho) and the hub (aiomqtt) derive from ``mqtt:`` config."""

from __future__ import annotations

import ssl

from replens.config.mqtt import MqttConfig


def tls_context(config: MqttConfig) -> ssl.SSLContext | None:
    """A client TLS context, or None when TLS is not configured."""
    if config.tls is None:
        return None
    context = ssl.create_default_context(cafile=str(config.tls.ca_cert) if config.tls.ca_cert else None)
    if config.tls.certfile:
        context.load_cert_chain(str(config.tls.certfile), str(config.tls.keyfile) if config.tls.keyfile else None)
    if config.tls.insecure:
        context.check_hostname = False
    return context


def password(config: MqttConfig) -> str | None:
    return config.password.get_secret_value() if config.password else None
