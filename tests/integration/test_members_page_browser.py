"""A member's journey on the page, in a real browser (Debian's chromium driven by Playwright) against the real hub.

The hub runs with its broker (real Mosquitto) and its journal; the page is the one the hub serves. At phone
size (390×844) the member opens the invite link, sees the week, opens a set, claims an unclaimed set from the
time they were in, corrects it, downloads the CSV and checks its rows, chooses pounds and sees them, logs out,
and is refused afterwards.
Screenshots go to tmp/artifacts/members-page/ (REPLENS_ARTIFACTS overrides) for people to look at.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from replens.hub.journal import JournalReader
from replens.hub.runner import HubThread
from replens.hub.web.access import AccessStore, access_path
from tests.integration.harness import wait_for
from tests.servers import Mosquitto, free_port
from tests.web_gym import STAFF_PASSWORD, Gym, build_gym, pin_clock

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
PHONE: ViewportSize = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("REPLENS_ARTIFACTS", ROOT / "tmp" / "artifacts")) / "members-page"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run scripts/install-test-servers.sh (Debian's chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def served(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[Gym, str]]:
    port = free_port()
    gym = build_gym(tmp_path, port=port, mqtt={"host": mosquitto.host, "port": mosquitto.port, "prefix": "page"})
    hub_thread = HubThread(gym.config)
    hub = hub_thread.start()
    try:
        assert hub.web is not None
        pin_clock(hub.web.state, gym)  # before the first request
        wait_for(hub.web.started.is_set, 10, "the members' page to listen")
        yield gym, f"http://127.0.0.1:{port}"
    finally:
        hub_thread.stop()
        assert hub_thread.error is None, hub_thread.error


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, f"{name}: the page is wider than a phone's screen"


def test_a_members_journey_from_invite_link_to_logging_out(browser: Browser, served: tuple[Gym, str]) -> None:
    gym, base = served
    store = AccessStore(access_path(gym.config.hub_data_dir()))
    token = store.invite(gym.ann, timedelta(days=1)).token
    store.close()
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                  accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/i/{token}")
        expect(page.get_by_role("heading", name="Your week")).to_be_visible()
        expect(page.get_by_text("Hello Ann Lee")).to_be_visible()
        expect(page.get_by_text("Bob")).to_have_count(0)
        shot(page, "1-week")

        page.get_by_role("link", name="Bench press").first.click()
        expect(page.get_by_role("heading", name="Rep by rep")).to_be_visible()
        expect(page.get_by_text("0.55 m/s")).to_be_visible()
        shot(page, "2-set")

        page.get_by_role("link", name="Records").click()
        page.get_by_role("link", name="Bench press").click()
        expect(page.locator("figure.chart svg")).to_have_count(4)  # e1RM, volume, velocity, range of motion
        expect(page.get_by_text("Range of motion (cm)")).to_be_visible()
        shot(page, "2b-history")

        page.get_by_role("link", name="Was this you?").click()
        expect(page.get_by_text("Deadlift")).to_be_visible()
        shot(page, "3-was-this-you")
        page.get_by_role("button", name="That was me").click()
        expect(page.get_by_role("heading", name="Deadlift")).to_be_visible()
        assert page.url == f"{base}/set/{gym.loose_set}"

        page.select_option("#f-exercise", "barbell_row")
        page.fill("#f-weight_kg", "100")  # the camera's load was the station's, not this member's
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("heading", name="Barbell row")).to_be_visible()
        expect(page.get_by_text("deadlift → barbell_row (web)")).to_be_visible()
        expect(page.get_by_text("120.0 → 100.0 (web)")).to_be_visible()
        shot(page, "4-corrected")

        page.get_by_role("link", name="My data").click()
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").click()
        with download.value.path().open(newline="") as downloaded:
            rows = list(csv.DictReader(downloaded))
        assert sorted({(r["set_id"], r["exercise"]) for r in rows}) == sorted(
            {(gym.ann_set, "bench_press"), (gym.ann_old_set, "bench_press"), (gym.loose_set, "barbell_row")})
        assert [r["rep"] for r in rows if r["set_id"] == gym.ann_set] == ["1", "2", "3", "4", "5"]
        assert {(r["weight_kg"], r["volume_kg"]) for r in rows if r["set_id"] == gym.loose_set} == {("100.0", "400.0")}
        assert all(r["set_started_at"].endswith("+00:00") for r in rows)
        shot(page, "5-my-data")

        page.select_option("#f-unit", "lb")  # Ann reads her loads in pounds from now on
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#f-unit")).to_have_value("lb")
        page.get_by_role("link", name="Week").click()
        expect(page.locator("main")).to_contain_text("lb volume")
        expect(page.locator("main")).to_contain_text("132.3 lb")  # her 60 kg bench set
        expect(page.locator("main")).not_to_contain_text(" kg")
        shot(page, "5b-pounds")

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Logged out")).to_be_visible()
        refused = page.goto(f"{base}/")
        assert refused is not None and refused.status == 401
        expect(page.get_by_role("heading", name="Please log in")).to_be_visible()
        shot(page, "6-logged-out")
    finally:
        context.close()

    reader = JournalReader(gym.config.journal_path())
    try:
        (claimed,) = reader.sets_by_id([gym.loose_set])
        assert (claimed.member, claimed.exercise.value) == (gym.ann, "barbell_row")
    finally:
        reader.close()


def test_staff_see_the_gym_after_logging_in(browser: Browser, served: tuple[Gym, str]) -> None:
    _, base = served
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/staff")
        expect(page.get_by_role("heading", name="Staff login")).to_be_visible()
        page.fill("#n", "desk")
        page.fill("#p", STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="The gym today")).to_be_visible()
        expect(page.get_by_role("cell", name="Ann Lee")).to_have_count(2)  # a member, and the bench's last set
        expect(page.get_by_role("cell", name="rack/floor")).to_be_visible()
        shot(page, "7-staff")
    finally:
        context.close()
