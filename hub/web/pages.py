"""The members' page views as HTML, from the view models in model.py; every value escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from replens.contract import Exercise, LoadUnit, from_kg
from replens.hub.journal import RecordedSet, SetEditRecord
from replens.hub.web.charts import line_chart
from replens.hub.web.html import e, load, page, post_button, short_when, unit_form, when
from replens.hub.web.model import HistoryPoint, Record, Totals, Week, e1rm_kg, rom_cm

STAFF_UNIT = LoadUnit.KG
"""The staff page's loads: the gym's own figures (as Grafana shows them), not one member's unit."""


def set_link(s: RecordedSet) -> str:
    return f"/set/{quote(s.set_id, safe='')}"


def exercise_link(exercise: Exercise) -> str:
    return f'<a href="/exercise/{e(exercise.value)}">{e(label(exercise))}</a>'


def label(exercise: Exercise) -> str:
    return exercise.value.replace("_", " ").capitalize()


def _totals(t: Totals, unit: LoadUnit) -> str:
    return (f'<div class="big"><div><b>{t.sets}</b>sets</div><div><b>{t.reps}</b>reps</div>'
            f"<div><b>{from_kg(t.volume_kg, unit):g}</b>{unit} volume</div></div>")


def sets_table(sets: Sequence[RecordedSet], unit: LoadUnit, *, link: bool = True, time_only: bool = False) -> str:
    if not sets:
        return '<p class="muted">No sets.</p>'
    rows = []
    for s in sets:
        name = f'<a href="{set_link(s)}">{e(label(s.exercise))}</a>' if link else e(label(s.exercise))
        at = s.started_at.astimezone().strftime("%H:%M") if time_only else when(s.started_at)
        rows.append(f"<tr><td>{e(at)}</td><td>{name}</td><td class=n>{s.reps}</td>"
                    f"<td class=n>{e(load(s.lifted_kg, unit))}</td><td class=n>{e(load(s.volume_kg, unit))}</td></tr>")
    return ('<table><tr><th>When</th><th>Exercise</th><th class=n>Reps</th><th class=n>Load</th>'
            f"<th class=n>Volume</th></tr>{''.join(rows)}</table>")


def week_page(name: str, week: Week, csrf: str, unit: LoadUnit = LoadUnit.KG) -> str:
    today = week.today_sets
    body = [f'<p class="muted">Hello {e(name)}. Week of {e(week.start.isoformat())}.</p>',
            f"<section><h2>Today</h2>{_totals(Totals.of(today), unit)}{sets_table(today, unit, time_only=True)}"
            "</section>", f"<section><h2>This week</h2>{_totals(week.totals, unit)}</section>"]
    for day in week.days:
        if day.day != week.today:
            heading = e(day.day.strftime("%A %d %B"))
            body.append(f"<section><h2>{heading}</h2>{sets_table(day.sets, unit, time_only=True)}</section>")
    exercises = sorted({s.exercise for d in week.days for s in d.sets})
    if exercises:
        body.append("<section><h2>History</h2><p>" + " · ".join(exercise_link(x) for x in exercises) + "</p></section>")
    return page("Your week", "".join(body), csrf=csrf)


def records_page(found: Sequence[Record], csrf: str, unit: LoadUnit = LoadUnit.KG) -> str:
    if not found:
        return page("Records", '<p class="muted">No sets yet.</p>', csrf=csrf)
    rows = "".join(
        f"<tr><td>{exercise_link(r.exercise)}</td><td class=n>{e(load(r.best_e1rm_kg, unit))}</td>"
        f"<td class=n>{e(load(r.heaviest_kg, unit))}</td><td class=n>{r.most_reps}</td></tr>" for r in found)
    body = ('<section><table><tr><th>Exercise</th><th class=n>Best e1RM</th><th class=n>Heaviest</th>'
            f'<th class=n>Most reps</th></tr>{rows}</table><p class="muted">e1RM: estimated one-rep max '
            "(Epley), from sets with a known load.</p></section>")
    return page("Records", body, csrf=csrf)


def history_page(exercise: Exercise, points: Sequence[HistoryPoint], recent: Sequence[RecordedSet],
                 csrf: str, unit: LoadUnit = LoadUnit.KG) -> str:
    def in_unit(value: float | None) -> float | None:
        return None if value is None else from_kg(value, unit)

    def kept(value: float | None) -> float | None:
        return value

    charts = "".join(line_chart(title, shown, [(p.day, convert(getattr(p, attr))) for p in points])
                     for title, shown, attr, convert in (
        ("Best e1RM", unit.value, "best_e1rm_kg", in_unit), ("Volume", unit.value, "volume_kg", in_unit),
        ("Mean bar velocity", "m/s", "mean_velocity_m_s", kept), ("Range of motion", "cm", "mean_rom_cm", kept)))
    body = (f"<section>{charts or '<p class=muted>Nothing measured yet.</p>'}"
            f'<p class="muted">{len(points)} training days. Velocity and range of motion come from calibrated '
            "stations only.</p></section>"
            f"<section><h2>Recent sets</h2>{sets_table(recent, unit)}</section>")
    return page(label(exercise), body, csrf=csrf)


def _rep_rows(s: RecordedSet) -> str:
    rows = []
    for r in s.rep_details:
        tempo = f"{r.eccentric_s:.1f}-{r.pause_s:.1f}-{r.concentric_s:.1f}"
        rom = "–" if r.rom_m is None else f"{100 * r.rom_m:.0f} cm"
        velocity = "–" if r.mean_velocity_m_s is None else f"{r.mean_velocity_m_s:.2f} m/s"
        rows.append(f"<tr><td>{r.index}</td><td>{tempo} s</td><td class=n>{rom}</td><td class=n>{velocity}</td></tr>")
    return ('<table><tr><th>Rep</th><th>Tempo (down-pause-up)</th><th class=n>ROM</th><th class=n>Velocity</th></tr>'
            f"{''.join(rows)}</table>") if rows else '<p class="muted">No rep details.</p>'


def set_page(s: RecordedSet, trail: Sequence[SetEditRecord], edit_form: str, csrf: str,
             unit: LoadUnit = LoadUnit.KG) -> str:
    facts = [("When", when(s.started_at)), ("Station", s.station), ("Reps", str(s.reps)),
             ("Load", load(s.lifted_kg, unit)), ("Volume", load(s.volume_kg, unit)),
             ("e1RM", load(e1rm_kg(s.lifted_kg, s.reps), unit))]
    if (rom := rom_cm(s)) is not None:
        facts.append(("Mean ROM", f"{rom:g} cm"))
    if s.mean_velocity_m_s is not None:
        facts.append(("Mean velocity", f"{s.mean_velocity_m_s:.2f} m/s"))
    if s.velocity_loss_pct is not None:
        facts.append(("Velocity loss", f"{s.velocity_loss_pct:.0f} %"))
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    edits = "".join(f"<li>{e(when(x.at))}: {e(x.field)} {e(x.old)} → {e(x.new)} ({e(x.via)})</li>" for x in trail)
    body = (f"<section><table>{table}</table></section><section><h2>Rep by rep</h2>{_rep_rows(s)}</section>"
            f"<section><h2>Correct this set</h2>{edit_form}"
            + (f"<h2>Corrections</h2><ul>{edits}</ul>" if edits else "") + "</section>")
    return page(label(s.exercise), body, csrf=csrf)


def unclaimed_page(sets: Sequence[RecordedSet], csrf: str, unit: LoadUnit = LoadUnit.KG) -> str:
    if not sets:
        body = '<p class="muted">No unclaimed sets from the times you were here.</p>'
    else:
        body = "".join(
            f'<section class="claim"><div><b>{e(label(s.exercise))}</b>, {s.reps} reps, '
            f"{e(load(s.weight_kg, unit))}<br>"
            f'<span class="muted">{e(when(s.started_at))} at {e(s.station)}</span></div>'
            f"{post_button(set_link(s) + '/claim', 'That was me', csrf)}</section>" for s in sets)
    intro = '<p class="muted">Sets nobody was recognised at, while you were in the gym.</p>'
    return page("Was this you?", intro + body, csrf=csrf)


def me_page(name: str, csrf: str, unit: LoadUnit = LoadUnit.KG, body_weight_kg: float | None = None) -> str:
    weight = "" if body_weight_kg is None else f"<p>Body weight: {e(load(body_weight_kg, unit))}</p>"
    body = (f"<section><h2>Units</h2><p>Loads are stored in kg and shown to you in {e(unit.value)}.</p>"
            f"{unit_form(unit, csrf)}{weight}</section>"
            f"<section><h2>Download my data</h2><p>All of {e(name)}'s sets and reps, times in ISO 8601.</p>"
            '<p><a href="/me/data.csv" download>CSV</a> · <a href="/me/data.json" download>JSON</a></p></section>'
            '<section><h2>Delete me</h2><p>Deletes your face data, visits and this login. Your sets stay in the '
            'gym\'s statistics without your name.</p><p><a href="/me/delete">Delete me…</a></p></section>')
    return page("My data", body, csrf=csrf)


def delete_page(name: str, csrf: str) -> str:
    extra = '<label><input type="checkbox" name="confirm" value="yes" required> Yes, delete me</label>'
    body = (f"<section><p>This deletes {e(name)}'s face data, visits and logins for good. It cannot be undone.</p>"
            f"{post_button('/me/delete', 'Delete me now', csrf, css='danger', extra=extra)}</section>")
    return page("Delete me", body, csrf=csrf)


def message_page(title: str, text: str) -> str:
    return page(title, f'<section><p>{e(text)}</p></section>')


def staff_login_page(pre: str, problem: str | None = None) -> str:
    warn = f'<p class="muted">{e(problem)}</p>' if problem else ""
    body = (f'<section>{warn}<form method="post" action="/staff/login"><input type="hidden" name="pre" '
            f'value="{e(pre)}"><label for="n">Name</label><input id="n" name="name" autocomplete="username" required>'
            '<label for="p">Password</label><input id="p" name="password" type="password" '
            'autocomplete="current-password" required><p><button>Log in</button></p></form></section>')
    return page("Staff login", body)


def staff_page(members: Sequence[tuple[str, int, str]], last_sets: Sequence[tuple[RecordedSet, str]],
               unclaimed: Sequence[RecordedSet], csrf: str, now: datetime) -> str:
    people = "".join(f"<tr><td>{e(n)}</td><td class=n>{k}</td><td>{e(seen)}</td></tr>" for n, k, seen in members)
    stations = "".join(f"<tr><td>{e(s.agent_id)}/{e(s.station)}</td><td>{e(label(s.exercise))}</td>"
                       f"<td class=n>{s.reps}</td><td>{e(who)}</td><td>{e(short_when(s.started_at, now))}</td></tr>"
                       for s, who in last_sets)
    body = (f"<section><h2>Members</h2><table><tr><th>Name</th><th class=n>Sets today</th><th>Last set</th></tr>"
            f"{people}</table></section><section><h2>Stations' last sets</h2><table><tr><th>Station</th>"
            f"<th>Exercise</th><th class=n>Reps</th><th>Whose</th><th>When</th></tr>{stations}</table></section>"
            f"<section><h2>Unclaimed sets</h2>{sets_table(unclaimed, STAFF_UNIT, link=False, time_only=True)}"
            "</section>")
    return page("The gym today", body, csrf=csrf, staff=True)
