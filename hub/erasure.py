"""A member's complete deletion: face data, visits, page logins; their sets stay, anonymous and locked.

``replens members delete`` and the page's "Delete me" both run this, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from replens.config import RepLensConfig
from replens.hub.journal import Forgotten, Journal
from replens.hub.web.access import AccessStore, access_path
from replens.members import Member, MembersStore


@dataclass(frozen=True, slots=True)
class Erased:
    member: Member
    forgotten: Forgotten
    logins: int


def erase_member(config: RepLensConfig, name_or_id: str) -> Erased:
    """Logins first (so the page refuses them at once), then the gallery, then the journal."""
    key = config.identity.encryption_key
    store = MembersStore(config.members_db(), key.get_secret_value() if key is not None else None)
    try:
        member = store.get(name_or_id)
        access = AccessStore(access_path(config.hub_data_dir()))
        try:
            logins = access.revoke(member.id)
        finally:
            access.close()
        store.delete(member.id)
    finally:
        store.close()
    journal = Journal(config.journal_path())
    try:
        forgotten = journal.forget_member(member.id)
    finally:
        journal.close()
    return Erased(member, forgotten, logins)
