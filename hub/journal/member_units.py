"""Members' units: whether a member reads and types loads in kg or lb (kg unless they chose).

Only a display preference: every load stays in kg in the journal, InfluxDB and on the wire. Kept in its own
table (``member_settings``) beside body weights, so that erasing a member deletes it with the rest.
"""

from __future__ import annotations

import sqlite3
import time

from replens.contract.load import LoadUnit

DEFAULT_UNIT = LoadUnit.KG


def member_unit(db: sqlite3.Connection, member: str) -> LoadUnit:
    """The member's unit; kg when they never chose (or chose something this version does not know)."""
    row = db.execute("SELECT unit FROM member_settings WHERE member = ?", (member,)).fetchone()
    if row is None or row[0] not in LoadUnit._value2member_map_:
        return DEFAULT_UNIT
    return LoadUnit(row[0])


def members_in_pounds(db: sqlite3.Connection) -> set[str]:
    """The members whose unit is lb (Home Assistant's discovery shows their loads in pounds)."""
    return {str(m) for (m,) in db.execute("SELECT member FROM member_settings WHERE unit = ?", (LoadUnit.LB.value,))}


def set_member_unit(db: sqlite3.Connection, member: str, unit: LoadUnit) -> None:
    db.execute("INSERT OR REPLACE INTO member_settings(member, unit, at) VALUES (?, ?, ?)",
               (member, LoadUnit(unit).value, time.time()))


def forget_member_unit(db: sqlite3.Connection, member: str) -> None:
    """Erasure: nothing of the member stays."""
    db.execute("DELETE FROM member_settings WHERE member = ?", (member,))
