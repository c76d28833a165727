"""A camera that recognises members: frames → faces → visit decisions → ``VisitEvent`` drafts.

Used by the entrance role (who is in the gym) and by stations with ``recognise_faces`` (who is
lifting here). Only member ids and scores leave this module; faces and descriptors stay in memory.
The member gallery is re-read when its file changes, so enrolling needs no agent restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from replens.arrays import Float32Array
from replens.config.identity import FaceMatchConfig
from replens.contract import EnrolCommand, EnrolResult, EventKind, SetPhase, VisitRole, utc_from_unix
from replens.device_agent.drafts import Draft
from replens.device_agent.identity.appearance import AppearanceAccumulator, describe
from replens.device_agent.identity.decision import FaceSample, VisitDecider, VisitDecision, VisitSettings
from replens.device_agent.identity.embedder import FaceEmbedder
from replens.device_agent.identity.face_detector import FaceDetector
from replens.device_agent.identity.gallery import Gallery, MatchSettings
from replens.device_agent.identity.photos import MIN_ENROL_FACE_PX
from replens.device_agent.sources.frame import Frame
from replens.device_agent.zones import Zone, frame_size
from replens.errors import RepLensError

log = logging.getLogger(__name__)

GALLERY_CHECK_S = 10.0  # how often the members file's mtime is looked at
# Whole-frame detections of body-sized blobs scored 0.50-0.51 on the gym clips; real faces score 0.9+.
ENTRANCE_MIN_SCORE = 0.6
ENROL_TIMEOUT_S = 60.0  # media time an enrolment request waits for enough good faces


def visit_settings(config: FaceMatchConfig) -> VisitSettings:
    return VisitSettings(min_face_px=config.min_face_px, min_agreeing_frames=config.min_agreeing_frames,
                         visit_gap_s=config.visit_gap_s)


def match_settings(config: FaceMatchConfig) -> MatchSettings:
    return MatchSettings(threshold=config.match_distance, margin=config.margin)


class GallerySource:
    """The member gallery from the members database, re-read when the file changes."""

    def __init__(self, path: Path, key: str | None, settings: MatchSettings) -> None:
        self.path = path
        self._key = key
        self._settings = settings
        self._mtime: float | None = None
        self._checked = 0.0
        self.gallery = Gallery(settings)

    def refresh(self, now: float | None = None) -> Gallery:
        now = time.monotonic() if now is None else now
        if now - self._checked < GALLERY_CHECK_S and self._mtime is not None:
            return self.gallery
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime is not None and mtime != self._mtime:
            self.gallery = self._load()
            self._mtime = mtime
            log.info("identity: %d member(s) in the gallery %s", len(self.gallery), self.path)
        return self.gallery

    def enrol(self, name: str, embeddings: list[Float32Array]) -> str:
        """Add a member to the gallery file; returns their id. Raises MemberError (e.g. a duplicate name)."""
        from replens.members import MembersStore

        with MembersStore(self.path, self._key) as store:
            member = store.add(name, embeddings, consent=True)
        self._mtime = None  # read the file again at the next frame
        return member.id

    def _load(self) -> Gallery:
        from replens.members import MembersStore

        with MembersStore(self.path, self._key) as store:
            return Gallery.of(store.gallery(), self._settings)


@dataclass
class Enrolment:
    """A request to enrol the next person in front of the camera, collecting their faces."""

    request: EnrolCommand
    on_done: Callable[[EnrolResult], None]
    started_t_s: float | None = None
    last_taken_t_s: float = -1.0
    embeddings: list[Float32Array] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WatcherSettings:
    agent_id: str
    camera: str
    role: VisitRole
    process_fps: float
    appearance: bool = False


class FaceWatcher:
    """Analyses at most ``process_fps`` frames a second; emits visit drafts for the outbox."""

    def __init__(self, settings: WatcherSettings, faces: FaceMatchConfig, gallery: GallerySource, *,
                 detector: FaceDetector | None = None, embedder: FaceEmbedder | None = None,
                 zone: Zone | None = None) -> None:
        self.settings = settings
        self._gallery = gallery
        self.detector = detector or FaceDetector(min_face_px=faces.min_face_px, min_score=ENTRANCE_MIN_SCORE)
        self.embedder = embedder or FaceEmbedder()
        self.decider = VisitDecider(gallery.refresh(), visit_settings(faces),
                                    id_prefix=f"{settings.agent_id}.{settings.camera}.{int(time.time() * 1000)}")
        self.zone = zone
        self._pose = None
        if settings.appearance:
            from replens.device_agent.trackers.pose.tracker import PoseTracker  # OpenVINO loads only when used

            self._pose = PoseTracker()
        self._looks = AppearanceAccumulator()
        self._next_t = -1.0
        self._wall_offset_s = 0.0
        self.frames_analysed = 0
        self.enrolment: Enrolment | None = None

    def enrol(self, request: EnrolCommand, on_done: Callable[[EnrolResult], None]) -> None:
        """Take the next faces this camera sees for a new member; ``on_done`` gets the outcome."""
        if not request.consent:
            on_done(self._result(request, None, "refused: enrolment needs the member's consent (consent: true)"))
            return
        if self.enrolment is not None:
            on_done(self._result(request, None, f"busy: still enrolling {self.enrolment.request.name}"))
            return
        self.enrolment = Enrolment(request, on_done)

    def process(self, frame: Frame) -> list[Draft]:
        self._wall_offset_s = frame.wall_time_s - frame.t_s
        if frame.t_s < self._next_t:
            return self._drafts(self.decider.update(frame.t_s, []))  # only ends a lapsed visit
        self._next_t = frame.t_s + 1.0 / self.settings.process_fps
        self.decider.gallery = self._gallery.refresh()
        self.frames_analysed += 1
        image = self._visible(frame.image)
        samples = self._faces(image)
        if self.enrolment is not None:
            self._enrol_step(frame.t_s, samples)
        if samples and self._pose is not None:
            pose = self._pose.update(Frame(image, frame.t_s, frame.wall_time_s, frame.index))
            if pose is not None:
                self._looks.add(describe(image, pose.landmarks))
        return self._drafts(self.decider.update(frame.t_s, samples))

    def finish(self, t_s: float) -> list[Draft]:
        if self.enrolment is not None:
            self._end_enrolment(None, "the camera stopped before enough faces were seen")
        return self._drafts(self.decider.finish(t_s))

    def _enrol_step(self, t_s: float, samples: list[FaceSample]) -> None:
        job = self.enrolment
        assert job is not None
        if job.started_t_s is None:
            job.started_t_s = t_s
        if len(samples) == 1 and samples[0].width_px >= MIN_ENROL_FACE_PX and t_s - job.last_taken_t_s >= 0.3:
            job.embeddings.append(samples[0].embedding)
            job.last_taken_t_s = t_s
        if len(job.embeddings) >= job.request.frames:
            try:
                member = self._gallery.enrol(job.request.name, job.embeddings)
            except RepLensError as err:
                self._end_enrolment(None, f"refused: {err}")
            else:
                self._end_enrolment(member, f"enrolled from {len(job.embeddings)} frames")
        elif t_s - job.started_t_s > ENROL_TIMEOUT_S:
            self._end_enrolment(None, f"timed out: {len(job.embeddings)} of {job.request.frames} frames showed "
                                      f"exactly one face at least {MIN_ENROL_FACE_PX:.0f} px wide")

    def _end_enrolment(self, member: str | None, message: str) -> None:
        job = self.enrolment
        assert job is not None
        self.enrolment = None
        log.info("identity: enrolment of %s: %s", job.request.name, message)
        job.on_done(self._result(job.request, member, message))

    @staticmethod
    def _result(request: EnrolCommand, member: str | None, message: str) -> EnrolResult:
        return EnrolResult(name=request.name, ok=member is not None, member=member, message=message,
                           at=utc_from_unix(time.time()))

    def _visible(self, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Outside a station's zone is black: faces of people at the next station do not count here."""
        if self.zone is None:
            return image
        mask = self.zone.mask(frame_size(image))
        return np.where(mask[:, :, None], image, 0).astype(np.uint8)

    def _faces(self, image: npt.NDArray[np.uint8]) -> list[FaceSample]:
        faces = [f for f in self.detector.detect(image) if self.decider.wants(f.width)]
        if not faces:
            return []
        embeddings = self.embedder.embed_many(image, faces)
        return [FaceSample(f.width, e) for f, e in zip(faces, embeddings, strict=True)]

    def _drafts(self, decisions: list[VisitDecision]) -> list[Draft]:
        drafts = []
        for d in decisions:
            drafts.append(Draft(EventKind.VISITS, {
                "agent_id": self.settings.agent_id,
                "visit_id": d.visit_id,
                "camera": self.settings.camera,
                "role": self.settings.role,
                "event": d.phase,
                "member": d.member_id,
                "score": min(1.0, max(0.0, d.score)),
                "frames": d.frames,
                "started_at": utc_from_unix(self._wall_offset_s + d.started_at),
                "seen_at": utc_from_unix(self._wall_offset_s + d.last_seen_at),
                "ended_at": utc_from_unix(self._wall_offset_s + d.last_seen_at) if d.phase is SetPhase.END else None,
                "appearance": self._looks.mean(),
            }))
            if d.phase is SetPhase.END:
                self._looks = AppearanceAccumulator()
        return drafts
