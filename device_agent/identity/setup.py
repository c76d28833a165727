"""Which face watchers an agent runs: its entrance role, and stations that recognise faces."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from replens.config.agent import AgentConfig
from replens.config.identity import IdentityConfig
from replens.contract import EnrolCommand, EnrolResult, VisitRole
from replens.device_agent.drafts import Draft
from replens.device_agent.sources.frame import Frame
from replens.errors import ConfigError


class FrameWatcher(Protocol):
    def process(self, frame: Frame) -> list[Draft]: ...

    def finish(self, t_s: float) -> list[Draft]: ...


class EnrollingWatcher(Protocol):
    """An entrance watcher can also enrol the next person in front of it."""

    def enrol(self, request: EnrolCommand, on_done: Callable[[EnrolResult], None]) -> None: ...


STATION_FACE_FPS = 2.0  # a lifter's face is visible for seconds at a time; more is wasted CPU


def make_watchers(agent_id: str, config: AgentConfig, identity: IdentityConfig | None,
                  members_db: Path | None) -> tuple[list[FrameWatcher], EnrollingWatcher | None]:
    """Every face watcher of the agent, and which of them is the entrance (it can enrol members)."""
    station_faces = {sid: st for sid, st in config.stations.items() if st.recognise_faces}
    if config.entrance is None and not station_faces:
        return [], None
    if identity is None or members_db is None:
        raise ConfigError(f"agent {agent_id}: face recognition needs the identity settings and the members database")
    from replens.device_agent.identity.watcher import (  # dlib and the face model load only when used
        FaceWatcher,
        GallerySource,
        WatcherSettings,
        match_settings,
    )
    from replens.device_agent.zones import Zone

    key = identity.encryption_key.get_secret_value() if identity.encryption_key is not None else None
    gallery = GallerySource(members_db, key, match_settings(identity.face))
    watchers: list[FrameWatcher] = []
    entrance: FaceWatcher | None = None
    if config.entrance is not None:
        settings = WatcherSettings(agent_id, config.entrance.camera, VisitRole.ENTRANCE, config.entrance.process_fps,
                                   appearance=config.entrance.appearance)
        entrance = FaceWatcher(settings, identity.face, gallery)
        watchers.append(entrance)
    for station_id, station in station_faces.items():
        settings = WatcherSettings(agent_id, station_id, VisitRole.STATION, STATION_FACE_FPS)
        watchers.append(FaceWatcher(settings, identity.face, gallery, zone=Zone.of(station.zone)))
    return watchers, entrance
