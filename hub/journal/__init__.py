"""The hub's durable record: agents, sets, reps, visits, and what is still owed to InfluxDB and MQTT."""

from replens.hub.journal.corrections import EditOutcome, FieldChange, ForgottenMemberSetError
from replens.hub.journal.edits import Forgotten, TakenError, UnknownSetError
from replens.hub.journal.outgoing import Announcement, Outgoing, PointOp
from replens.hub.journal.reads import JournalReader
from replens.hub.journal.records import RecordedRep, RecordedSet, RepMeans, SetEditRecord, Visit
from replens.hub.journal.store import BatchResult, Inbound, Journal, PendingPoint

__all__ = [
    "Announcement",
    "BatchResult",
    "EditOutcome",
    "FieldChange",
    "Forgotten",
    "ForgottenMemberSetError",
    "Inbound",
    "Journal",
    "JournalReader",
    "Outgoing",
    "PendingPoint",
    "PointOp",
    "RecordedRep",
    "RecordedSet",
    "RepMeans",
    "SetEditRecord",
    "TakenError",
    "UnknownSetError",
    "Visit",
]
