"""Errors split by what the caller should do about them."""

from __future__ import annotations


class RepLensError(Exception):
    """Base of every error RepLens raises on purpose."""


class ConfigError(RepLensError):
    """Permanent: the configuration is wrong. Exit with status 2; restarting will not help."""


class ContractError(RepLensError):
    """A payload broke the MQTT contract: reject it, log it, count it, carry on."""


class TransientError(RepLensError):
    """Broker, database or disk trouble that may pass: back off and retry, never drop."""


class ModelError(RepLensError):
    """A model file is missing, corrupt or of the wrong shape."""


class SourceError(RepLensError):
    """A frame source cannot be opened or read (file, camera, stream)."""
