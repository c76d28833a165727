"""``replens members …``: enrol, list, rename, delete and identify members on this box.

Works on the hub's files directly (the member gallery and the journal), so it needs no running
service; a running hub picks the changes up. Faces never leave this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from replens.config import RepLensConfig
from replens.contract.body import MIN_BODY_WEIGHT_KG  # the hub checks Home Assistant's with the same bound
from replens.errors import RepLensError

if TYPE_CHECKING:
    from replens.contract import LoadUnit
    from replens.members import Member, MembersStore


def member_named(config: RepLensConfig, name: str) -> Member:
    """The enrolled member called ``name`` (or with that id); the gallery is closed again at once."""
    store = open_members(config)
    try:
        return store.get(name)
    finally:
        store.close()


def open_members(config: RepLensConfig) -> MembersStore:
    from replens.members import MembersStore

    key = config.identity.encryption_key
    store = MembersStore(config.members_db(), key.get_secret_value() if key is not None else None)
    store.purge_crops(config.identity.crop_retention_days)  # retention holds even if nobody runs a cleanup job
    return store


def add_member(config: RepLensConfig, args: argparse.Namespace) -> int:
    """Enrol from photos (exactly one face each) or from a live camera."""
    if not args.consent:
        raise RepLensError(
            "enrolment stores a face embedding, which is biometric data: ask the member, then pass --consent "
            "to record that they agreed"
        )
    from replens.device_agent.identity.enrol import embeddings_from_camera, embeddings_from_photos

    if args.camera is not None:
        embeddings, crops = embeddings_from_camera(args.camera, frames=args.frames, config=config.identity.face)
    elif args.photos:
        embeddings, crops = embeddings_from_photos(args.photos, face_index=args.face)
    else:
        raise RepLensError("give at least one PHOTO or --camera SOURCE")
    store = open_members(config)
    try:
        member = store.add(args.name, embeddings, consent=True,
                           crops=crops if config.identity.keep_face_crops else ())
    finally:
        store.close()
    print(f"enrolled {member.name} as {member.id} from {len(embeddings)} face(s)")
    return 0


def list_members(config: RepLensConfig, *, as_json: bool) -> int:
    store = open_members(config)
    try:
        members = store.members()
    finally:
        store.close()
    from replens.contract import LoadUnit, shown_load

    settings = _journal_settings(config, [m.id for m in members])
    if as_json:
        for m in members:
            unit, kg = settings.get(m.id, ("kg", None))
            print(json.dumps({"id": m.id, "name": m.name, "enrolled_at": m.enrolled_at.isoformat(),
                              "consent_at": m.consent_at.isoformat(), "embeddings": m.embeddings, "crops": m.crops,
                              "unit": unit, "body_weight_kg": kg}))
        return 0
    table = Table("id", "name", "enrolled", "faces", "unit", "body weight", title=f"{len(members)} member(s)")
    for m in members:
        unit, kg = settings.get(m.id, ("kg", None))
        weight = "–" if kg is None else shown_load(kg, LoadUnit(unit), digits=None)
        table.add_row(m.id, m.name, m.enrolled_at.strftime("%Y-%m-%d %H:%M"), str(m.embeddings), unit, weight)
    Console().print(table)
    return 0


def _journal_settings(config: RepLensConfig, ids: list[str]) -> dict[str, tuple[str, float | None]]:
    """Member id → (unit, latest body weight in kg) from the hub's journal; empty when the hub never ran."""
    from replens.hub.journal import JournalReader

    path = config.journal_path()
    if not path.exists():
        return {}
    reader = JournalReader(path)
    try:
        return {i: (reader.member_unit(i).value, reader.member_body_weight(i)) for i in ids}
    finally:
        reader.close()


def rename_member(config: RepLensConfig, name: str, new_name: str) -> int:
    store = open_members(config)
    try:
        member = store.rename(name, new_name)
    finally:
        store.close()
    print(f"renamed {name} to {member.name} ({member.id})")
    return 0


def delete_member(config: RepLensConfig, name: str) -> int:
    """Embeddings, crops, visits and page logins go; their sets stay as anonymous sets (InfluxDB rewritten)."""
    from replens.hub.erasure import erase_member

    erased = erase_member(config, name)
    member, forgotten = erased.member, erased.forgotten
    print(f"deleted {member.name} ({member.id}): face data, {forgotten.visits} visit(s), page logins; "
          f"{forgotten.sets} set(s) are anonymous now")
    return 0


def invite_member(config: RepLensConfig, name: str, *, days: float | None, qr: bool) -> int:
    """A personal link to the members' page (and its QR code for a phone); earlier links stop working."""
    from datetime import timedelta

    from replens.hub.web.access import AccessStore, access_path

    web = config.hub.web
    if web is None:
        raise RepLensError("the members' page is off: configure hub.web (docs/members-page.md) first")
    if days is not None and not 0 < days <= 365:
        raise RepLensError(f"--days: give 0 < days <= 365 (got {days})")
    member = member_named(config, name)
    access = AccessStore(access_path(config.hub_data_dir()))
    try:
        invite = access.invite(member.id, timedelta(days=days if days is not None else web.invite_days))
    finally:
        access.close()
    link = f"{web.base_url()}/i/{invite.token}"
    print(f"{member.name}'s link to the members' page, valid until {invite.expires_at.isoformat(timespec='minutes')} "
          "(give it to them only; `replens members revoke` ends it):")
    print(link)
    if qr:
        import segno

        segno.make(link, error="m").terminal(compact=True)
    return 0


def revoke_member(config: RepLensConfig, name: str) -> int:
    from replens.hub.web.access import AccessStore, access_path

    member = member_named(config, name)
    access = AccessStore(access_path(config.hub_data_dir()))
    try:
        access.revoke(member.id)
    finally:
        access.close()
    print(f"{member.name}: page link and logins revoked")
    return 0


def identify_photos(config: RepLensConfig, photos: list[Path], *, as_json: bool) -> int:
    """For each photo: who it is (or null) and how sure; exit 1 when a photo could not be read."""
    from replens.device_agent.identity.enrol import identify_photo

    store = open_members(config)
    try:
        gallery = store.gallery()
        names = store.names()
    finally:
        store.close()
    status = 0
    for photo in photos:
        try:
            result = identify_photo(photo, gallery, config.identity.face)
        except RepLensError as err:
            print(json.dumps({"photo": str(photo), "error": str(err)}) if as_json else f"{photo}: {err}",
                  file=sys.stdout if as_json else sys.stderr)
            status = 1
            continue
        record = {
            "photo": str(photo),
            "member": names.get(result.member_id) if result.member_id else None,
            "member_id": result.member_id,
            "score": round(result.score, 3),
            "distance": None if result.distance is None else round(result.distance, 3),
            "faces": result.faces,
        }
        if as_json:
            print(json.dumps(record))
        else:
            who = record["member"] or "unknown"
            print(f"{photo}: {who} (score {record['score']}, {result.faces} face(s))")
    return status



def set_member(config: RepLensConfig, name: str, body_weight: float | None, unit: str | None) -> int:
    """Record a member's unit and/or body weight in the hub's journal (which a running hub reads from there).

    ``unit`` becomes the member's unit and is the unit ``body_weight`` is given in; without it, the body weight is
    read in the member's unit as it was (kg unless they chose lb), so a member in lb never gets 180 kg by mistake.
    The body weight weighs their bodyweight sets from now on; a member's first one weighs the earlier ones too.
    """
    from replens.contract import LoadUnit
    from replens.hub.journal import Journal

    if body_weight is None and unit is None:
        raise RepLensError("give --unit, --body-weight or both")
    found = member_named(config, name)
    path = config.journal_path()
    if not path.exists():
        raise RepLensError(f"no hub journal at {path}: has the hub run with this config?")
    journal = Journal(path)
    try:
        chosen = LoadUnit(unit) if unit is not None else journal.member_unit(found.id)
        kg = None if body_weight is None else _checked_body_weight(body_weight, chosen)
        if unit is not None:
            journal.set_member_unit(found.id, chosen)
        reweighed = 0 if kg is None else journal.set_body_weight(found.id, kg)
    finally:
        journal.close()
    if unit is not None:
        print(f"{found.name}: loads shown in {chosen} from now on (stored in kg)")
    if kg is not None:
        print(f"{found.name}: body weight {body_weight:g} {chosen} ({kg:g} kg), for push-ups, pull-ups and dips "
              "from now on")
    if reweighed:
        print(f"  it also weighs {reweighed} bodyweight sets already recorded (a first body weight weighs the earlier "
              "ones too)")
    return 0


def _checked_body_weight(value: float, unit: LoadUnit) -> float:
    from replens.contract import checked_load_kg

    try:
        kg = checked_load_kg(value, unit, "--body-weight")
    except ValueError as err:
        raise RepLensError(str(err)) from None
    if kg < MIN_BODY_WEIGHT_KG:
        raise RepLensError(f"--body-weight: {value} {unit} is below 20 kg, no lifter's body weight; a typo?")
    return kg
