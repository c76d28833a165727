"""``agents:`` camera boxes, their frame source and the stations each one watches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from replens.config.base import StrictModel
from replens.contract.events import Id
from replens.contract.exercises import Exercise

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class SourceConfig(StrictModel):
    """Where the agent's frames come from."""

    url: str | int = Field(
        description="A video file (relative to the config file), a camera index (0) or an rtsp:// or http:// URL."
    )
    realtime: bool = Field(
        default=True,
        description="Pace a video file at its frame rate, as a camera would. Off reads files as fast as possible.",
    )
    loop: bool = Field(default=False, description="Start a video file again at its end (for demos and soak tests).")
    fps_limit: float | None = Field(
        default=None, gt=0, le=240, description="Drop frames above this rate; lower saves CPU, costs timing precision."
    )


class StackTrackerConfig(StrictModel):
    """Model-free weight-stack tracker: optical flow inside a region over the stack."""

    type: Literal["stack"] = "stack"
    roi: tuple[Fraction, Fraction, Fraction, Fraction] | None = Field(
        default=None,
        description="Region over the weight stack as x, y, width, height fractions of the frame; null = whole frame.",
    )
    axis: Literal["auto", "vertical", "horizontal"] = Field(
        default="auto", description="Direction of motion; auto finds the dominant direction."
    )

    @field_validator("roi")
    @classmethod
    def _inside_frame(
        cls, roi: tuple[float, float, float, float] | None
    ) -> tuple[float, float, float, float] | None:
        if roi is not None:
            x, y, w, h = roi
            if w <= 0 or h <= 0 or x + w > 1.0 + 1e-9 or y + h > 1.0 + 1e-9:
                raise ValueError("roi must have positive size and lie inside the frame (x+w <= 1, y+h <= 1)")
        return roi


class PoseTrackerConfig(StrictModel):
    """Body pose (BlazePose on OpenVINO); the exercise profile picks the joints that carry the rep."""

    type: Literal["pose"] = "pose"
    device: Literal["CPU", "GPU", "NPU", "AUTO"] = Field(
        default="CPU", description="OpenVINO device; GPU/NPU take load off the CPU where the box has them."
    )
    precision: Literal["f32", "f16", "bf16"] = Field(
        default="f32", description="Inference precision; bf16 is faster on recent CPUs but moves landmarks."
    )
    threads: int = Field(default=1, ge=1, le=64, description="Inference threads; more is faster, starves others.")


TrackerConfig = Annotated[StackTrackerConfig | PoseTrackerConfig, Field(discriminator="type")]


class CounterConfig(StrictModel):
    """How the signal becomes reps and sets; parameters belong to a station, never to one video."""

    min_range: float = Field(
        default=20.0,
        gt=0,
        description="Smallest excursion that counts as a rep, in tracker units (pixels for the stack tracker). "
        "Higher rejects fidgeting but misses short partial reps.",
    )
    rest_position: Literal["low", "high"] = Field(
        default="low", description="Where the signal rests between reps: low for a weight stack."
    )
    min_rep_s: float = Field(default=0.4, gt=0, description="Faster cycles are treated as noise.")
    max_rep_s: float = Field(default=15.0, gt=0, description="Slower excursions are set-up movement, not reps.")
    set_end_rest_s: float = Field(
        default=20.0, gt=0, description="A set ends after this long without a rep. Higher merges sets split by a pause."
    )
    settle_s: float = Field(
        default=0.4, gt=0, description="Time at rest that completes the last rep; higher is surer, reports later."
    )
    smoothing_s: float = Field(default=0.1, ge=0, description="Smoothing time constant; higher rejects jitter, lags.")
    max_gap_s: float = Field(
        default=1.0, gt=0, description="Gaps in the signal longer than this drop the rep in progress."
    )
    meters_per_unit: float | None = Field(
        default=None, gt=0, description="Scale of the signal, for range of motion in metres and velocities."
    )


class StationConfig(StrictModel):
    """One exercise place watched by a camera."""

    exercise: Exercise = Field(description="Exercise profile name, e.g. lat_pulldown, chest_press, squat.")
    tracker: TrackerConfig = Field(default_factory=StackTrackerConfig)
    counter: CounterConfig = Field(default_factory=CounterConfig)


class AgentConfig(StrictModel):
    """One camera box: its source and its stations."""

    source: SourceConfig
    stations: dict[Id, StationConfig] = Field(min_length=1, description="Stations this camera watches, by id.")
    data_dir: Path | None = Field(default=None, description="Outbox folder; default <data_dir>/agents/<agent id>.")
    mqtt_username: str | None = Field(
        default=None, description="This agent's own broker account (overrides mqtt.username), so ACLs can fence it."
    )
    mqtt_password: SecretStr | None = Field(default=None, description="Password of mqtt_username.")
    stats_interval_s: float = Field(default=30.0, ge=1, le=3600, description="How often health goes to <prefix>/stats.")
