"""``replens agent run`` and ``replens hub run``: long-running services, stopped by SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from pathlib import Path

from replens.config import RepLensConfig, load_config
from replens.errors import ConfigError

log = logging.getLogger(__name__)


def _apply_logging(config: RepLensConfig) -> None:
    logging.getLogger().setLevel(config.logging.level.upper())


def pick_agent(config: RepLensConfig, agent_id: str | None, path: Path) -> str:
    if agent_id is not None:
        if agent_id not in config.agents:
            raise ConfigError(f"{path}: no agent {agent_id!r}; agents here: {', '.join(config.agents) or 'none'}")
        return agent_id
    if len(config.agents) != 1:
        raise ConfigError(f"{path}: {len(config.agents)} agents configured; choose one with --agent "
                          f"({', '.join(config.agents) or 'none'})")
    return next(iter(config.agents))


def run_agent(path: Path, agent_id: str | None, *, annotate: Path | None = None) -> int:
    from replens.device_agent.annotate import Annotator
    from replens.device_agent.app import Agent

    config = load_config(path)
    _apply_logging(config)
    agent_id = pick_agent(config, agent_id, path)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agent = Agent(agent_id, config.agents[agent_id], config.agent_mqtt(agent_id), config.agent_data_dir(agent_id),
                  identity=config.identity, members_db=config.members_db())
    annotator = Annotator(annotate) if annotate else None
    try:
        summary = agent.run(stop, progress=annotator.on_frame if annotator else None)
    finally:
        if annotator is not None:
            annotator.close()
    log.info("agent %s: %d frames at %.1f fps, %d sets, %d events", agent_id, summary.frames, summary.fps,
             len(summary.sets), summary.events)
    return 0


def run_hub(path: Path) -> int:
    from replens.hub.app import Hub

    config = load_config(path)
    _apply_logging(config)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Hub(config).run(stop)

    asyncio.run(serve())
    return 0
