"""Run the hub's event loop in a background thread: for the demo and for tests that drive an agent too."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future

from replens.config import RepLensConfig
from replens.hub.app import Hub
from replens.hub.storage.transports import LineWriter

log = logging.getLogger(__name__)


class HubThread:
    def __init__(self, config: RepLensConfig, writer: LineWriter | None = None) -> None:
        self._config = config
        self._writer = writer
        self._loop = asyncio.new_event_loop()
        self._ready: Future[Hub] = Future()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="hub", daemon=True)
        self.error: BaseException | None = None

    def start(self, timeout_s: float = 10.0) -> Hub:
        """Start and wait until the hub is connected to the broker."""
        self._thread.start()
        hub = self._ready.result(timeout=timeout_s)
        deadline = time.monotonic() + timeout_s
        while not hub.connected.is_set():
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise TimeoutError(f"hub did not connect to the broker within {timeout_s} s: {self.error}")
            time.sleep(0.02)
        return hub

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=timeout_s)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as err:  # reported to the caller through .error
            log.exception("hub thread stopped by an error")
            self.error = err
            if not self._ready.done():
                self._ready.set_exception(err)
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        hub = Hub(self._config, writer=self._writer)
        self._ready.set_result(hub)
        await hub.run(self._stop)
