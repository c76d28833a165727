"""``make demo`` (``replens demo --serve``): the clip through an agent, the embedded broker and the real hub, then
the members' page at the printed URL shows the sets; Ctrl-C stops everything and the command exits 0."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = pytest.mark.integration

REPLENS = Path(sys.executable).parent / "replens"


def test_the_demo_prints_a_link_at_which_the_page_shows_the_clips_sets() -> None:
    port = free_port()
    started = time.monotonic()
    demo = subprocess.Popen([str(REPLENS), "demo", "--serve", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert demo.stdout is not None
        printed = []
        url = None
        for line in demo.stdout:
            printed.append(line)
            found = re.search(rf"http://127\.0\.0\.1:{port}/i/[A-Za-z0-9_-]+", line)
            if found:
                url = found.group(0)
                break
        assert url is not None, "".join(printed)
        assert time.monotonic() - started < 60
        text = "".join(printed)
        assert re.search(r"lat_pulldown\s*│\s*6\b", text) and re.search(r"lat_pulldown\s*│\s*4\b", text), text
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        with opener.open(url, timeout=10) as response:  # the invite link logs in and lands on the week
            page = response.read().decode()
        assert "Hello Demo Member" in page
        assert re.search(r"Lat pulldown</a></td><td class=n>6</td>", page), page
        assert re.search(r"Lat pulldown</a></td><td class=n>4</td>", page), page
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=20) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
