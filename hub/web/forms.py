"""The set edit form, built from the fields of :class:`SetChanges`, and its parsing into a :class:`SetEdit`.

The form offers every correctable field (``SetField``) that ``SetChanges`` carries: the exercise (a select),
the load in kg and the reps (a number input each). Submitting goes
through the journal's one edit path (``Journal.edit``), as ``replens sets edit`` and MQTT's ``SetEdit`` do.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from pydantic import ValidationError

from replens.contract import Exercise, SetEdit
from replens.contract.edits import SetChanges
from replens.contract.events import SetField
from replens.contract.parsing import first_error
from replens.hub.journal import RecordedSet
from replens.hub.web.html import csrf_field, e


def _exercise_widget(current: RecordedSet) -> str:
    options = "".join(
        f'<option value="{x.value}"{" selected" if x is current.exercise else ""}>'
        f"{e(x.value.replace('_', ' ').capitalize())}</option>" for x in Exercise if x is not Exercise.AUTO)
    return f'<select id="f-exercise" name="exercise">{options}</select>'


def _number_widget(field: str) -> Callable[[RecordedSet], str]:
    def widget(current: RecordedSet) -> str:
        value = getattr(current, field, None)
        shown = "" if value is None else e(value)
        return f'<input id="f-{field}" name="{field}" inputmode="decimal" value="{shown}">'

    return widget


WIDGETS: dict[str, Callable[[RecordedSet], str]] = {"exercise": _exercise_widget}
"""Field → its input; a field of SetChanges without one here gets a number input."""
LABELS = {"weight_kg": "Load (kg)"}
"""Field → its label, where the field's name does not read well."""


def editable_fields() -> list[str]:
    """What a person may correct (``SetField``) that the edit messages carry: the same list as the CLI's."""
    return [f.value for f in SetField if f.value in SetChanges.model_fields]


def edit_form(current: RecordedSet, action: str, csrf: str) -> str:
    """The form; a fresh ``edit_id`` in it makes a double submit apply once."""
    parts = [f'<form method="post" action="{e(action)}">{csrf_field(csrf)}'
             f'<input type="hidden" name="edit_id" value="web-{uuid.uuid4().hex}">']
    for field in editable_fields():
        widget = WIDGETS.get(field, _number_widget(field))
        parts.append(f'<input type="hidden" name="was_{field}" value="{e(_shown(current, field))}">')
        label = LABELS.get(field, field.replace("_", " ").capitalize())
        parts.append(f'<label for="f-{field}">{e(label)}</label>{widget(current)}')
    parts.append("<p><button>Save</button></p></form>")
    return "".join(parts)


class FormError(ValueError):
    """The submitted form says nothing to change, or something invalid; the message is for the member."""


def _shown(current: RecordedSet, field: str) -> str:
    value = getattr(current, field, None)
    return "" if value is None else str(value)


def parse_edit(form: Mapping[str, str], current: RecordedSet, by: str) -> SetEdit:
    """The fields the member changed from what the form showed; a double tap sends the same edit (applied once)."""
    changes: dict[str, object] = {}
    for field in editable_fields():
        value = (form.get(field) or "").strip()
        shown = form.get(f"was_{field}", _shown(current, field))
        if value and value != shown:
            changes[field] = value
    if not changes:
        raise FormError("nothing changed")
    try:
        return SetEdit.model_validate({**changes, "edit_id": form.get("edit_id", ""), "set_id": current.set_id,
                                       "by": by})
    except ValidationError as err:
        raise FormError(first_error(err)) from None
