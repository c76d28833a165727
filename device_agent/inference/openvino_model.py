"""Compile the shipped model files with OpenVINO: checked sha256 and shape, explicit device and precision."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import openvino as ov

from replens.arrays import Float32Array
from replens.errors import ConfigError, ModelError

log = logging.getLogger(__name__)

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
Device = Literal["CPU", "GPU", "NPU", "AUTO"]
Precision = Literal["f32", "f16", "bf16"]
DEVICES: tuple[str, ...] = ("CPU", "GPU", "NPU", "AUTO")
PRECISIONS: tuple[str, ...] = ("f32", "f16", "bf16")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One manifest entry: which file, its sha256, and the input shape (NHWC) the code expects."""

    name: str
    file: str
    sha256: str
    input_shape: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class InferenceSettings:
    """Where and how to run a model.

    Attributes:
        device: OpenVINO device. AUTO picks one itself; the precision and thread settings are then
            passed to each candidate device.
        precision: inference precision hint, always set: the CPU plugin would otherwise pick bf16 on
            CPUs that have it, which moves BlazePose landmarks by several pixels.
        threads: CPU inference threads (ignored by GPU and NPU). 1 leaves the other cores to the
            other stations.
    """

    device: str = "CPU"
    precision: str = "f32"
    threads: int = 1

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ConfigError(f"inference device {self.device!r} is not one of {', '.join(DEVICES)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"inference precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.threads < 1:
            raise ConfigError(f"inference threads must be >= 1 (got: {self.threads})")


def load_manifest(models_dir: Path = MODELS_DIR) -> dict[str, ModelSpec]:
    """Read ``manifest.json`` of a model folder, keyed by model name."""
    path = models_dir / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            m["name"]: ModelSpec(m["name"], m["file"], m["sha256"].lower(), tuple(int(d) for d in m["input_shape"]))
            for m in raw["models"]
        }
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelError(f"{path}: unreadable model manifest: {err}") from err


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _config_for(settings: InferenceSettings, device: str) -> dict[str, Any]:
    """Properties for one hardware device: threads only exist on the CPU plugin."""
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": settings.precision}
    if device == "CPU":
        config["INFERENCE_NUM_THREADS"] = settings.threads
    return config


def compile_on_device(core: ov.Core, model: ov.Model, settings: InferenceSettings, path: Path) -> ov.CompiledModel:
    """Compile for the configured device with the precision and thread hints; ``path`` names the file in errors.

    Raises:
        ConfigError: the device is not present on this machine.
        ModelError: the plugin cannot compile the model.
    """
    device = settings.device
    available = list(core.available_devices)
    if device == "AUTO":
        config: dict[str, Any] = {"DEVICE_PROPERTIES": {d: _config_for(settings, d.split(".")[0]) for d in available}}
    elif not any(d.split(".")[0] == device for d in available):
        raise ConfigError(f"inference device {device!r} is not present here (have: {', '.join(available)})")
    else:
        config = _config_for(settings, device)
    try:
        return core.compile_model(model, device, config)
    except RuntimeError as err:
        raise ModelError(f"{path}: cannot compile on {device} at {settings.precision}: {err}") from err


def read_user_model(path: Path, core: ov.Core) -> ov.Model:
    """Read a user-supplied model (IR ``.xml`` + ``.bin``, ONNX...) that has no manifest and no sha256.

    Raises:
        ModelError: the file (or an IR's ``.bin``) is missing, or OpenVINO cannot read it.
    """
    if not path.is_file():
        raise ModelError(f"{path}: model file missing")
    if path.suffix.lower() == ".xml" and not path.with_suffix(".bin").is_file():
        raise ModelError(f"{path}: the IR's weights file {path.with_suffix('.bin').name} is missing")
    try:
        return core.read_model(str(path))
    except (RuntimeError, ValueError) as err:
        raise ModelError(f"{path}: OpenVINO cannot read it: {err}") from err


class CompiledModel:
    """A verified model compiled for one device; call it with one NHWC float32 batch.

    ``outputs`` keeps only those of the model's outputs, in that order (None: all). OpenVINO then drops
    the layers that feed only the others, so a head nobody reads costs nothing.

    Raises:
        ModelError: the file is missing, its sha256 differs from the manifest, OpenVINO cannot read
            it, or its input shape is not the manifest's.
        ConfigError: the device is not present on this machine.
    """

    def __init__(
        self,
        name: str,
        settings: InferenceSettings | None = None,
        *,
        models_dir: Path = MODELS_DIR,
        core: ov.Core | None = None,
        outputs: tuple[int, ...] | None = None,
    ) -> None:
        self.settings = settings or InferenceSettings()
        manifest = load_manifest(models_dir)
        if name not in manifest:
            raise ModelError(f"{models_dir / 'manifest.json'}: no model named {name!r}")
        self.spec = manifest[name]
        self.path = models_dir / self.spec.file
        core = core or ov.Core()
        model = self._read(core)
        if outputs is not None:
            results = model.get_results()
            model = ov.Model([results[i] for i in outputs], model.get_parameters(), model.get_friendly_name())
        self._compiled = self._compile(core, model)
        self._request = self._compiled.create_infer_request()
        log.info("model %s compiled on %s (precision %s)", name, self.settings.device, self.precision)
        if self.precision not in (None, self.settings.precision):
            # e.g. f16 on a CPU with bf16 but no f16 arithmetic: the plugin runs bf16, which moved landmarks
            # by a median 19 px on a real clip. Say so rather than let the hint look honoured.
            log.warning("model %s: asked for %s inference, %s runs %s instead (this CPU lacks it); use f32 "
                        "for results that match the reference", name, self.settings.precision,
                        self.settings.device, self.precision)

    def _read(self, core: ov.Core) -> ov.Model:
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file missing")
        actual = sha256_of(self.path)
        if actual != self.spec.sha256:
            raise ModelError(
                f"{self.path}: sha256 {actual} does not match the manifest's {self.spec.sha256} (corrupt?)"
            )
        try:
            model = core.read_model(str(self.path))
        except RuntimeError as err:
            raise ModelError(f"{self.path}: OpenVINO cannot read it: {err}") from err
        shape = tuple(int(d) for d in model.inputs[0].get_shape())
        if shape != self.spec.input_shape:
            raise ModelError(f"{self.path}: input shape {shape}, expected {self.spec.input_shape}")
        return model

    def _compile(self, core: ov.Core, model: ov.Model) -> ov.CompiledModel:
        return compile_on_device(core, model, self.settings, self.path)

    @property
    def precision(self) -> str | None:
        """The precision the compiled model reports (``f32``, ``bf16``...); None where AUTO hides it."""
        try:
            value = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        except RuntimeError:
            return None
        return str(value.get_type_name())

    @property
    def threads(self) -> int | None:
        """CPU inference threads the compiled model reports; None off the CPU plugin."""
        try:
            return int(self._compiled.get_property("INFERENCE_NUM_THREADS"))
        except RuntimeError:
            return None

    def __call__(self, batch: Float32Array) -> list[Float32Array]:
        """Run one batch of shape ``input_shape``; return the outputs in the model's order."""
        if batch.shape != self.spec.input_shape:
            raise ValueError(f"{self.spec.name}: input {batch.shape}, expected {self.spec.input_shape}")
        self._request.infer({0: np.ascontiguousarray(batch, dtype=np.float32)})
        # Copies: the request reuses its output buffers on the next call.
        outputs = range(len(self._compiled.outputs))
        return [np.array(self._request.get_output_tensor(i).data, dtype=np.float32) for i in outputs]
