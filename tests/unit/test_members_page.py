"""The members' page over HTTP (aiohttp's test server, real journal, gallery and login store): who sees what.

The rule under test: a member sees and changes their own sets only, and a set id that is not theirs answers
exactly as one that does not exist (404). Every route of the route table is tried with the other member's ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import re
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from replens.contract import EditVia, Exercise, IdentitySource, LoadUnit, SetField
from replens.hub.erasure import erase_member
from replens.hub.journal import Journal, JournalReader
from replens.hub.web.access import AccessStore, access_path
from replens.hub.web.routes import ROUTES
from replens.hub.web.server import RUNNER_OPTIONS, build_app, open_state
from replens.hub.web.state import Access, WebState
from replens.members import MembersStore, member_names
from tests.web_gym import STAFF_PASSWORD, Gym, build_gym, pin_clock

Scenario = Callable[[TestClient, WebState], Awaitable[None]]


@pytest.fixture
def gym(tmp_path: Path) -> Gym:
    return build_gym(tmp_path, login_failures=3)


def serve(gym: Gym, scenario: Scenario) -> list[int]:
    """Run the scenario against the page; returns how many times the hub was told that sets changed."""
    changes: list[int] = []

    async def main() -> None:
        journal = Journal(gym.config.journal_path())
        state = open_state(gym.config, journal, lambda: changes.append(1))
        pin_clock(state, gym)
        state.failure_delay_s = 0.01
        server = TestServer(build_app(state))
        await server.start_server(**RUNNER_OPTIONS)  # as the hub serves it: no access log
        client = TestClient(server)
        await client.start_server()
        try:
            await scenario(client, state)
        finally:
            await client.close()
            state.reader.close()
            state.access.close()
            journal.close()

    asyncio.run(main())
    return changes


def invite(gym: Gym, member: str, days: float = 1, now: datetime | None = None) -> str:
    store = AccessStore(access_path(gym.config.hub_data_dir()))
    try:
        return store.invite(member, timedelta(days=days), now).token
    finally:
        store.close()


async def log_in(client: TestClient, token: str) -> str:
    """Opens the link; returns the CSRF token of the session (from the week page's forms)."""
    response = await client.get(f"/i/{token}", allow_redirects=False)
    assert response.status == 303, await response.text()
    page = await client.get("/")
    assert page.status == 200
    return csrf_in(await page.text())


def csrf_in(text: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', text)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def read_set(gym: Gym, set_id: str):
    reader = JournalReader(gym.config.journal_path())
    try:
        (found,) = reader.sets_by_id([set_id])
        return found
    finally:
        reader.close()


MEMBER_ROUTES = [r for r in ROUTES if r.access in {Access.MEMBER, Access.SIGNED_IN, Access.STAFF}]


def fill(path: str, gym: Gym) -> str:
    """The route with the *other* member's ids: Bob's set, and the exercise only Bob did."""
    return path.replace("{set_id}", gym.bob_set).replace("{exercise}", Exercise.SQUAT.value)


@pytest.mark.parametrize("route", MEMBER_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_member_cannot_read_or_change_another_members_set_on_any_route(gym: Gym, route) -> None:
    before = read_set(gym, gym.bob_set)

    async def scenario(client: TestClient, state: WebState) -> None:
        csrf = await log_in(client, invite(gym, gym.ann))
        form = {"csrf": csrf, "exercise": "lunge", "confirm": "yes", "edit_id": "x1"}
        response = await client.request(route.method, fill(route.path, gym), data=form, allow_redirects=False)
        body = await response.text()
        assert gym.bob_set not in body and "Bob" not in body and "100 kg" not in body
        if "{set_id}" in route.path or route.access is Access.STAFF:
            assert response.status == 404, body

    serve(gym, scenario)
    assert read_set(gym, gym.bob_set) == before
    assert member_names(gym.config.members_db()).get(gym.bob) == "Bob"


def test_an_unknown_set_and_another_members_set_answer_the_same(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, invite(gym, gym.ann))
        theirs, missing = await client.get(f"/set/{gym.bob_set}"), await client.get("/set/rack.bench.1")
        assert (theirs.status, await theirs.text()) == (missing.status, await missing.text())
        assert theirs.status == 404
        own = await client.get(f"/set/{gym.ann_set}")
        assert own.status == 200

    serve(gym, scenario)


@pytest.mark.parametrize("route", MEMBER_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_without_a_login_every_private_route_is_refused(gym: Gym, route) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        response = await client.request(route.method, fill(route.path, gym).replace(gym.bob_set, gym.ann_set),
                                        allow_redirects=False)
        if route.access is Access.STAFF:
            assert (response.status, response.headers["Location"]) == (303, "/staff/login")
        else:
            assert response.status == 401
        assert "Ann" not in await response.text()

    serve(gym, scenario)


def test_the_session_cookie_is_httponly_and_samesite(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        response = await client.get(f"/i/{invite(gym, gym.ann)}", allow_redirects=False)
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]

    serve(gym, scenario)


def test_secure_cookies_when_the_page_is_reached_over_https(tmp_path: Path) -> None:
    gym = build_gym(tmp_path, public_url="https://gym.example.lan")

    async def scenario(client: TestClient, state: WebState) -> None:
        response = await client.get(f"/i/{invite(gym, gym.ann)}", allow_redirects=False)
        assert "Secure" in response.headers["Set-Cookie"]

    serve(gym, scenario)


@pytest.mark.parametrize("when", ["expired", "revoked", "replaced", "unknown"])
def test_expired_revoked_and_replaced_links_are_refused(gym: Gym, when: str) -> None:
    now = datetime.now(UTC)
    token = invite(gym, gym.ann, days=1, now=now - timedelta(days=2) if when == "expired" else None)
    store = AccessStore(access_path(gym.config.hub_data_dir()))
    if when == "revoked":
        store.revoke(gym.ann)
    elif when == "replaced":
        store.invite(gym.ann, timedelta(days=1))
    elif when == "unknown":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    store.close()

    async def scenario(client: TestClient, state: WebState) -> None:
        response = await client.get(f"/i/{token}", allow_redirects=False)
        assert response.status == 403 and "Set-Cookie" not in response.headers
        assert (await client.get("/", allow_redirects=False)).status == 401

    serve(gym, scenario)


def test_revoking_ends_sessions_already_open(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, invite(gym, gym.ann))
        state.access.revoke(gym.ann)
        assert (await client.get("/", allow_redirects=False)).status == 401

    serve(gym, scenario)


def test_guessing_links_is_slowed_then_refused(gym: Gym) -> None:
    """login_failures: 3. Each wrong guess waits failure_delay_s; the 4th try is refused, even a right link."""
    good = invite(gym, gym.ann)

    async def scenario(client: TestClient, state: WebState) -> None:
        state.failure_delay_s = 0.2
        loop = asyncio.get_running_loop()
        for guess in range(3):
            started = loop.time()
            response = await client.get(f"/i/guess{guess}", allow_redirects=False)
            assert response.status == 403 and loop.time() - started >= 0.2
        refused = await client.get(f"/i/{good}", allow_redirects=False)
        assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "Set-Cookie" not in refused.headers
        staff = await client.post("/staff/login", data={"name": "desk", "password": STAFF_PASSWORD})
        assert staff.status == 429

    serve(gym, scenario)


@pytest.mark.parametrize("how", ["replens members delete", "gallery only"])
def test_a_deleted_members_link_and_session_are_dead(gym: Gym, how: str) -> None:
    token = invite(gym, gym.ann)

    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, token)
        if how == "gallery only":  # even a deletion that forgot the logins leaves nothing open
            with MembersStore(gym.config.members_db()) as store:
                store.delete(gym.ann)
        else:
            await asyncio.to_thread(erase_member, gym.config, "Ann Lee")
        assert (await client.get("/", allow_redirects=False)).status == 401
        client.session.cookie_jar.clear()
        assert (await client.get(f"/i/{token}", allow_redirects=False)).status == 403

    serve(gym, scenario)


def test_a_post_without_the_csrf_token_changes_nothing(gym: Gym) -> None:
    before = read_set(gym, gym.ann_set)

    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, invite(gym, gym.ann))
        for form in ({"exercise": "lunge", "edit_id": "x1"}, {"exercise": "lunge", "edit_id": "x1", "csrf": "forged"}):
            response = await client.post(f"/set/{gym.ann_set}/edit", data=form, allow_redirects=False)
            assert response.status == 403
        assert (await client.post(f"/set/{gym.loose_set}/claim", data={}, allow_redirects=False)).status == 403

    assert serve(gym, scenario) == []
    assert read_set(gym, gym.ann_set) == before
    assert read_set(gym, gym.loose_set).member is None


def test_a_member_corrects_their_set_through_the_journals_edit_path(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, invite(gym, gym.ann))
        page = await client.get(f"/set/{gym.ann_set}")
        text = await page.text()
        assert "Rep by rep" in text and "43 cm" in text and "0.55 m/s" in text  # real units, never pixels
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text))
        assert set(form) == {"csrf", "edit_id", "unit", "was_exercise", "was_weight_kg", "was_reps"}
        assert form["unit"] == "kg" and '<label for="f-weight_kg">Load (kg)</label>' in text
        assert re.findall(r'<(?:input|select) id="f-([a-z_]+)"', text) == ["exercise", "weight_kg", "reps"]
        form["exercise"] = "overhead_press"
        for _ in range(2):  # a double tap applies once
            response = await client.post(f"/set/{gym.ann_set}/edit", data=form, allow_redirects=False)
            assert (response.status, response.headers.get("Location")) == (303, f"/set/{gym.ann_set}"), \
                await response.text()
        again = await (await client.get(f"/set/{gym.ann_set}")).text()
        assert "Overhead press" in again and "bench_press → overhead_press (web)" in again

    assert len(serve(gym, scenario)) == 2
    edited = read_set(gym, gym.ann_set)
    assert edited.exercise is Exercise.OVERHEAD_PRESS and edited.recognised_exercise is Exercise.BENCH_PRESS
    assert SetField.EXERCISE in edited.edited
    reader = JournalReader(gym.config.journal_path())
    (trail,) = reader.set_edits(gym.ann_set)
    reader.close()
    assert (trail.via, trail.old, trail.new) == (EditVia.WEB, "bench_press", "overhead_press")


def test_a_member_corrects_the_load_and_reps_of_their_set(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, invite(gym, gym.ann))
        text = await (await client.get(f"/set/{gym.ann_set}")).text()
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text))
        assert (form["was_weight_kg"], form["was_reps"]) == ("60.0", "5")
        form.update(weight_kg="62.5", reps="6", exercise=form["was_exercise"])
        response = await client.post(f"/set/{gym.ann_set}/edit", data=form, allow_redirects=False)
        assert response.status == 303, await response.text()
        refused = await client.post(f"/set/{gym.ann_set}/edit", allow_redirects=False,
                                    data={**form, "edit_id": "web-other", "weight_kg": "-5", "was_weight_kg": "62.5"})
        assert refused.status == 400 and "weight_kg" in await refused.text()

    assert len(serve(gym, scenario)) == 1
    edited = read_set(gym, gym.ann_set)
    assert (edited.weight_kg, edited.reps) == (62.5, 6)
    assert {SetField.WEIGHT_KG, SetField.REPS} <= set(edited.edited)
    reader = JournalReader(gym.config.journal_path())
    trail = {(t.field, t.old, t.new, t.via) for t in reader.set_edits(gym.ann_set)}
    reader.close()
    assert trail == {(SetField.WEIGHT_KG, 60.0, 62.5, EditVia.WEB), (SetField.REPS, 5, 6, EditVia.WEB)}


def test_a_member_chooses_pounds_and_reads_and_corrects_loads_in_pounds(gym: Gym) -> None:
    """Stored in kg (60 kg × 5), shown in lb: 132.3 lb, volume 661.4 lb, e1RM 154.3 lb; a load typed in lb."""
    async def scenario(client: TestClient, state: WebState) -> None:
        csrf = await log_in(client, invite(gym, gym.ann))
        me = await (await client.get("/me")).text()
        assert '<form method="post" action="/me/unit">' in me and '<option value="kg" selected>' in me
        refused = await client.post("/me/unit", data={"csrf": csrf, "unit": "st"}, allow_redirects=False)
        assert refused.status == 400 and "unit: give kg or lb (got &#x27;st&#x27;)" in await refused.text()
        forged = await client.post("/me/unit", data={"unit": "lb"}, allow_redirects=False)
        assert forged.status == 403
        assert state.reader.member_unit(gym.ann) is LoadUnit.KG
        chosen = await client.post("/me/unit", data={"csrf": csrf, "unit": "lb"}, allow_redirects=False)
        assert (chosen.status, chosen.headers.get("Location")) == (303, "/me")
        state.journal.set_body_weight(gym.ann, 80.0)
        me = await (await client.get("/me")).text()
        assert '<option value="lb" selected>' in me and "Body weight: 176.4 lb" in me
        text = await (await client.get(f"/set/{gym.ann_set}")).text()
        assert "<td>132.3 lb</td>" in text and "<td>661.4 lb</td>" in text and "<td>154.3 lb</td>" in text
        assert " kg<" not in text and '<label for="f-weight_kg">Load (lb)</label>' in text
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text))
        assert (form["unit"], form["was_weight_kg"]) == ("lb", "132.3")
        form.update(weight_kg="135", reps=form["was_reps"], exercise=form["was_exercise"])
        edited = await client.post(f"/set/{gym.ann_set}/edit", data=form, allow_redirects=False)
        assert edited.status == 303, await edited.text()
        week = await (await client.get("/")).text()
        assert "lb volume" in week and "<td class=n>135 lb</td>" in week and " kg" not in week
        history = await (await client.get("/exercise/bench_press")).text()
        assert "Best e1RM (lb)" in history and "Volume (lb)" in history and "(kg)" not in history
        best = await (await client.get("/records")).text()  # e1RM 61.235 kg × 5: 71.4 kg
        assert "<td class=n>157.4 lb</td><td class=n>135 lb</td><td class=n>8</td>" in best

    assert len(serve(gym, scenario)) == 2  # the unit, then the load: each wakes the hub (Home Assistant)
    assert read_set(gym, gym.ann_set).weight_kg == 61.235  # 135 lb, stored in kg


def test_an_edit_that_changes_nothing_is_refused_with_a_reason(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        csrf = await log_in(client, invite(gym, gym.ann))
        response = await client.post(f"/set/{gym.ann_set}/edit",
                                     data={"csrf": csrf, "edit_id": "w1", "exercise": "bench_press"})
        assert response.status == 400 and "nothing changed" in await response.text()
        response = await client.post(f"/set/{gym.ann_set}/edit",
                                     data={"csrf": csrf, "edit_id": "w2", "exercise": "auto"})
        assert response.status == 400

    assert serve(gym, scenario) == []


def test_was_this_you_offers_the_sets_from_the_members_visit_and_claims_with_one_tap(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        csrf = await log_in(client, invite(gym, gym.ann))
        text = await (await client.get("/unclaimed")).text()
        assert f"/set/{gym.loose_set}/claim" in text and gym.far_set not in text
        far = await client.post(f"/set/{gym.far_set}/claim", data={"csrf": csrf}, allow_redirects=False)
        assert far.status == 404  # nobody's, but not from a time Ann was here
        response = await client.post(f"/set/{gym.loose_set}/claim", data={"csrf": csrf}, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, f"/set/{gym.loose_set}")
        assert gym.loose_set not in await (await client.get("/unclaimed")).text()
        assert (await client.get(f"/set/{gym.loose_set}")).status == 200

    assert serve(gym, scenario) == [1]
    claimed = read_set(gym, gym.loose_set)
    assert (claimed.member, claimed.claimed, claimed.identity_source) == (gym.ann, True, IdentitySource.CLAIM)
    assert read_set(gym, gym.far_set).member is None


def test_a_set_someone_took_after_it_was_offered_is_not_taken_from_them(gym: Gym) -> None:
    """Bob claims the loose set between Ann's page showing it and her tap: her claim must not take it from him."""
    async def scenario(client: TestClient, state: WebState) -> None:
        csrf = await log_in(client, invite(gym, gym.ann))
        assert f"/set/{gym.loose_set}/claim" in await (await client.get("/unclaimed")).text()
        real_claim = state.journal.claim

        def bob_first(set_id: str, member: str | None, by: str | None = None, **kw: bool):
            real_claim(set_id, gym.bob, "cli")
            return real_claim(set_id, member, by, **kw)

        state.journal.claim = bob_first  # type: ignore[method-assign]
        response = await client.post(f"/set/{gym.loose_set}/claim", data={"csrf": csrf}, allow_redirects=False)
        assert response.status == 404

    assert serve(gym, scenario) == []
    assert read_set(gym, gym.loose_set).member == gym.bob


def test_week_records_and_history_show_the_members_training(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, invite(gym, gym.ann))
        week = await (await client.get("/")).text()
        assert "Hello Ann Lee" in week and f"/set/{gym.ann_set}" in week and "300 kg" in week.replace("<b>", "")
        records = await (await client.get("/records")).text()
        # Best e1RM: 5 × 60 kg gives 70 kg (Epley), more than 8 × 50 kg (63.3 kg); heaviest 60 kg; most reps 8.
        assert "<td class=n>70 kg</td><td class=n>60 kg</td><td class=n>8</td>" in records
        history = await (await client.get("/exercise/bench_press")).text()
        assert history.count("<svg") == 4 and "Range of motion (cm)" in history
        assert (await client.get("/exercise/not_an_exercise")).status == 404

    serve(gym, scenario)


def test_download_my_data_as_csv_and_json(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        await log_in(client, invite(gym, gym.ann))
        response = await client.get("/me/data.csv")
        assert response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert [(r["set_id"], r["rep"]) for r in rows] == [(gym.ann_old_set, "")] + [
            (gym.ann_set, str(i)) for i in range(1, 6)]
        for row in rows:
            datetime.fromisoformat(row["set_started_at"])
            assert row["set_started_at"].endswith("+00:00") and row["weight_kg"] in {"50.0", "60.0"}
        assert datetime.fromisoformat(rows[1]["rep_started_at"]) >= datetime.fromisoformat(rows[1]["set_started_at"])
        data = json.loads(await (await client.get("/me/data.json")).text())
        assert data["member"] == {"id": gym.ann, "name": "Ann Lee"}
        assert [len(s["reps_detail"]) for s in data["sets"]] == [0, 5]
        assert gym.bob_set not in json.dumps(data)

    serve(gym, scenario)


def test_delete_me_needs_the_confirmation_then_deletes_as_the_cli_does(gym: Gym) -> None:
    token = invite(gym, gym.ann)

    async def scenario(client: TestClient, state: WebState) -> None:
        csrf = await log_in(client, token)
        unconfirmed = await client.post("/me/delete", data={"csrf": csrf})
        assert unconfirmed.status == 400 and gym.ann in member_names(gym.config.members_db())
        done = await client.post("/me/delete", data={"csrf": csrf, "confirm": "yes"})
        assert done.status == 200
        assert (await client.get("/", allow_redirects=False)).status == 401
        assert (await client.get(f"/i/{token}", allow_redirects=False)).status == 403

    serve(gym, scenario)
    assert gym.ann not in member_names(gym.config.members_db())
    kept = read_set(gym, gym.ann_set)  # the set stays, anonymous and locked, as `replens members delete` leaves it
    assert (kept.member, kept.claimed) == (None, True)
    reader = JournalReader(gym.config.journal_path())
    assert reader.member_visits(gym.ann, datetime.now(UTC) - timedelta(days=1)) == []
    reader.close()


def test_staff_log_in_with_a_password_and_see_the_gym(gym: Gym) -> None:
    async def scenario(client: TestClient, state: WebState) -> None:
        form_page = await client.get("/staff/login")
        pre = re.search(r'name="pre" value="([^"]+)"', await form_page.text())
        assert pre is not None
        wrong = await client.post("/staff/login", data={"pre": pre.group(1), "name": "desk", "password": "nope"})
        assert wrong.status == 403
        forged = await client.post("/staff/login", data={"pre": "x", "name": "desk", "password": STAFF_PASSWORD})
        assert forged.status == 403
        response = await client.post("/staff/login", data={"pre": pre.group(1), "name": "desk",
                                                           "password": STAFF_PASSWORD}, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/staff")
        text = await (await client.get("/staff")).text()
        assert "Ann Lee" in text and "Bob" in text and "rack/floor" in text and "Deadlift" in text
        assert (await client.get(f"/set/{gym.ann_set}")).status == 404  # staff see the gym, not a member's page

    serve(gym, scenario)


def test_nothing_about_a_member_reaches_the_logs_at_info(gym: Gym, caplog: pytest.LogCaptureFixture) -> None:
    token = invite(gym, gym.ann)
    caplog.set_level(logging.INFO)

    async def scenario(client: TestClient, state: WebState) -> None:
        csrf = await log_in(client, token)
        for path in ("/", "/records", "/exercise/bench_press", f"/set/{gym.ann_set}", "/unclaimed", "/me",
                     "/me/data.csv", "/me/data.json", "/i/wrong-token"):
            await client.get(path)
        await client.post(f"/set/{gym.ann_set}/edit", data={"csrf": csrf, "edit_id": "w9", "exercise": "lunge"})
        await client.post(f"/set/{gym.loose_set}/claim", data={"csrf": csrf})
        await client.post("/me/delete", data={"csrf": csrf, "confirm": "yes"})

    serve(gym, scenario)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert caplog.records, "the flow logged nothing at all: the check would prove nothing"
    for secret in ("Ann", gym.ann, token):
        assert secret not in logged


def test_the_hub_serves_the_page_over_tls_when_configured(tmp_path: Path) -> None:
    """``tls_cert``/``tls_key``: the WebServer task the hub runs answers HTTPS (and the cookie is Secure)."""
    import ssl
    import urllib.error

    from replens.hub.web.server import WebServer
    from replens.mqtt_certs import make_ca, make_server_cert

    ca = make_ca("test CA")
    pair = make_server_cert(ca, ["127.0.0.1"])
    (tmp_path / "page.crt").write_bytes(pair.cert_pem)
    (tmp_path / "page.key").write_bytes(pair.key_pem)
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    gym = build_gym(tmp_path, tls_cert=str(tmp_path / "page.crt"), tls_key=str(tmp_path / "page.key"))
    token = invite(gym, gym.ann)

    async def main() -> None:
        journal = Journal(gym.config.journal_path())
        server = WebServer(open_state(gym.config, journal, lambda: None))
        task = asyncio.create_task(server.run())
        try:
            await asyncio.wait_for(server.started.wait(), 10)
            context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))

            def fetch() -> tuple[int, str]:
                opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect())
                request = urllib.request.Request(f"https://127.0.0.1:{server.port}/i/{token}")
                try:
                    with opener.open(request, timeout=10) as response:
                        return response.status, response.headers.get("Set-Cookie", "")
                except urllib.error.HTTPError as err:
                    return err.code, err.headers.get("Set-Cookie", "")

            status, cookie = await asyncio.to_thread(fetch)
            assert status == 303 and "Secure" in cookie and "HttpOnly" in cookie
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            journal.close()

    asyncio.run(main())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
