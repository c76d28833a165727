"""``identity:`` face recognition, presence and set attribution, shared by the hub and the agents."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from replens.config.base import StrictModel


class FaceMatchConfig(StrictModel):
    """How a face becomes a member: per frame, then over a visit."""

    match_distance: float = Field(
        default=0.55,
        gt=0,
        le=2,
        description="Largest face-embedding distance (dlib, Euclidean) that can be the same person. Lower means fewer "
        "false accepts and more 'unknown'; dlib's own default is 0.6.",
    )
    margin: float = Field(
        default=0.06,
        ge=0,
        le=1,
        description="The best member must be this much closer than the runner-up member, else the frame is unknown.",
    )
    min_face_px: int = Field(
        default=48, ge=16, le=2000, description="Faces narrower than this (pixels) are ignored: too few details."
    )
    min_agreeing_frames: int = Field(
        default=3, ge=1, le=1000, description="Frames that must agree on a member before a visit names them."
    )
    visit_gap_s: float = Field(
        default=8.0, gt=0, le=3600, description="A visit ends after this long without a usable face."
    )


class IdentityConfig(StrictModel):
    """Members' faces stay on this box: embeddings only, never published, deleted completely on request."""

    members_db: Path | None = Field(
        default=None, description="The member gallery (SQLite, owner-only); default <hub data dir>/members.sqlite3."
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts the embeddings at rest (any passphrase; use a {REPLENS_...} secret). "
        "Without it embeddings are protected by file permissions only.",
    )
    face: FaceMatchConfig = Field(default_factory=FaceMatchConfig)
    presence_timeout_s: float = Field(
        default=7200.0,
        gt=0,
        le=86_400,
        description="A member counts as present this long after the entrance last saw them (no exit camera).",
    )
    station_face_window_s: float = Field(
        default=30.0, ge=0, le=3600, description="A face at a station this long before or after a set names its lifter."
    )
    appearance_min_similarity: float = Field(
        default=0.6, ge=0, le=1, description="Clothing-colour similarity (0..1) below which no member is chosen."
    )
    appearance_margin: float = Field(
        default=0.1, ge=0, le=1, description="The best member's similarity must beat the runner-up's by this much."
    )
    keep_face_crops: bool = Field(
        default=False, description="Keep enrolment face crops (biometric!) beside the embeddings; off by default."
    )
    crop_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Face crops older than this are deleted (when keep_face_crops is on)."
    )
