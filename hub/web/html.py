"""The page frame every view shares: escaping, the inline stylesheet, navigation and forms with their CSRF token."""

from __future__ import annotations

from datetime import datetime
from html import escape

from replens.contract import LoadUnit, shown_load

CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#16202a;background:#f3f5f7}header{background:#16202a;color:#fff;padding:.7rem 1rem}
header b{font-size:1.1rem}nav{display:flex;gap:.25rem;flex-wrap:wrap;margin-top:.4rem}
nav a{color:#cfe3ff;text-decoration:none;padding:.3rem .5rem;border-radius:.4rem;background:#24323f}
main{padding:.8rem;max-width:42rem;margin:0 auto}section,.card{background:#fff;border-radius:.6rem;overflow-x:auto;
padding:.8rem;margin:.6rem 0;box-shadow:0 1px 2px #0001}h1{font-size:1.3rem;margin:.2rem 0 .6rem}
h2{font-size:1.05rem;margin:.2rem 0 .5rem}.big{display:flex;gap:.5rem;text-align:center}
.big div{flex:1;background:#eef4fb;border-radius:.5rem;padding:.5rem 0}.big b{display:block;font-size:1.4rem}
table{width:100%;border-collapse:collapse;font-size:.92rem}td,th{padding:.35rem .3rem;text-align:left;
border-bottom:1px solid #e3e7eb}th{font-weight:600;color:#4a5865}td.n,th.n{text-align:right}
a{color:#0b5cad}button,select,input{font:inherit;padding:.55rem .8rem;border-radius:.45rem;
border:1px solid #b8c2cc;min-height:2.75rem}button{background:#0b5cad;color:#fff;border:0}
button.danger{background:#b3261e}button.link{background:none;color:#cfe3ff;padding:.3rem .5rem;min-height:0}
form.inline{display:inline}label{display:block;margin:.4rem 0 .2rem;font-weight:600}.muted{color:#5d6b78}
.chart svg{width:100%;height:auto}.chart figcaption{font-weight:600;margin-bottom:.2rem}
.chart .axis{stroke:#9aa7b3}.chart .line{fill:none;stroke:#0b5cad;stroke-width:2}.chart circle{fill:#0b5cad}
.chart text{font-size:10px;fill:#5d6b78}figure{margin:.4rem 0 .8rem}.claim{display:flex;
justify-content:space-between;align-items:center;gap:.5rem}
"""


def e(value: object) -> str:
    """Escape anything for HTML text and attribute values."""
    return escape(str(value), quote=True)


def when(at: datetime) -> str:
    """Local time as a member reads it: ``Mon 06 Dec 18:04``."""
    return at.astimezone().strftime("%a %d %b %H:%M")


def short_when(at: datetime, now: datetime) -> str:
    """``18:04`` today, ``05 Dec`` another day: for narrow columns."""
    local = at.astimezone()
    return local.strftime("%H:%M") if local.date() == now.astimezone().date() else local.strftime("%d %b")


def load(kg: float | None, unit: LoadUnit) -> str:
    """A load (or volume) stored in kg as the member reads it, in their unit: ``60 kg``, ``132.3 lb``."""
    return "–" if kg is None else shown_load(kg, unit, digits=None)


def unit_form(unit: LoadUnit, csrf: str) -> str:
    """The member chooses the unit their loads are shown and typed in (POST /me/unit)."""
    options = "".join(f'<option value="{u.value}"{" selected" if u is unit else ""}>{u.value}</option>'
                      for u in LoadUnit)
    return (f'<form method="post" action="/me/unit">{csrf_field(csrf)}<label for="f-unit">Show loads in</label>'
            f'<select id="f-unit" name="unit">{options}</select> <button>Save</button></form>')


def csrf_field(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(csrf)}">'


def post_button(action: str, label: str, csrf: str, *, css: str = "", extra: str = "") -> str:
    """A one-button form (POST, with the session's CSRF token)."""
    cls = f' class="{css}"' if css else ""
    return (f'<form class="inline" method="post" action="{e(action)}">{csrf_field(csrf)}{extra}'
            f"<button{cls}>{e(label)}</button></form>")


def page(title: str, body: str, *, csrf: str | None = None, staff: bool = False) -> str:
    """A whole page; with ``csrf`` (a logged-in session) it has the navigation and a log-out button."""
    nav = ""
    if csrf is not None:
        links = ([("/staff", "Gym")] if staff else
                 [("/", "Week"), ("/records", "Records"), ("/unclaimed", "Was this you?"), ("/me", "My data")])
        items = "".join(f'<a href="{href}">{e(text)}</a>' for href, text in links)
        nav = f"<nav>{items}{post_button('/logout', 'Log out', csrf, css='link')}</nav>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{e(title)} · RepLens</title><style>{CSS}</style></head>"
        f"<body><header><b>RepLens</b>{nav}</header><main><h1>{e(title)}</h1>{body}</main></body></html>"
    )
