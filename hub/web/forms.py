"""The set edit form, built from the fields of :class:`SetChanges`, and its parsing into a :class:`SetEdit`.

The form offers every correctable field (``SetField``) that ``SetChanges`` carries: the exercise (a select),
the load in the member's unit and the reps (a number input each). Submitting goes
through the journal's one edit path (``Journal.edit``), as ``replens sets edit`` and MQTT's ``SetEdit`` do.
The form says in a hidden ``unit`` which unit its load was shown and typed in (the member may change their unit
in another tab meanwhile); a load in lb is converted to kg once, here, before the edit is made.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from pydantic import ValidationError

from replens.contract import Exercise, LoadUnit, SetEdit, from_kg, to_kg
from replens.contract.edits import SetChanges
from replens.contract.events import SetField
from replens.contract.parsing import first_error
from replens.hub.journal import RecordedSet
from replens.hub.web.html import csrf_field, e


def _exercise_widget(current: RecordedSet, _shown: str) -> str:
    options = "".join(
        f'<option value="{x.value}"{" selected" if x is current.exercise else ""}>'
        f"{e(x.value.replace('_', ' ').capitalize())}</option>" for x in Exercise if x is not Exercise.AUTO)
    return f'<select id="f-exercise" name="exercise">{options}</select>'


def _number_widget(field: str) -> Callable[[RecordedSet, str], str]:
    def widget(_current: RecordedSet, shown: str) -> str:
        return f'<input id="f-{field}" name="{field}" inputmode="decimal" value="{e(shown)}">'

    return widget


WIDGETS: dict[str, Callable[[RecordedSet, str], str]] = {"exercise": _exercise_widget}
"""Field → its input (given the set and the value shown); a field of SetChanges without one gets a number input."""
LOAD_FIELD = "weight_kg"
"""The one field shown and typed in the member's unit."""


def _label(field: str, unit: LoadUnit) -> str:
    return f"Load ({unit})" if field == LOAD_FIELD else field.replace("_", " ").capitalize()


def editable_fields() -> list[str]:
    """What a person may correct (``SetField``) that the edit messages carry: the same list as the CLI's."""
    return [f.value for f in SetField if f.value in SetChanges.model_fields]


def edit_form(current: RecordedSet, action: str, csrf: str, unit: LoadUnit = LoadUnit.KG) -> str:
    """The form, its load in ``unit``; a fresh ``edit_id`` in it makes a double submit apply once."""
    parts = [f'<form method="post" action="{e(action)}">{csrf_field(csrf)}'
             f'<input type="hidden" name="edit_id" value="web-{uuid.uuid4().hex}">'
             f'<input type="hidden" name="unit" value="{e(unit.value)}">']
    for field in editable_fields():
        widget = WIDGETS.get(field, _number_widget(field))
        shown = _shown(current, field, unit)
        parts.append(f'<input type="hidden" name="was_{field}" value="{e(shown)}">')
        parts.append(f'<label for="f-{field}">{e(_label(field, unit))}</label>{widget(current, shown)}')
    parts.append("<p><button>Save</button></p></form>")
    return "".join(parts)


class FormError(ValueError):
    """The submitted form says nothing to change, or something invalid; the message is for the member."""


def _shown(current: RecordedSet, field: str, unit: LoadUnit) -> str:
    value = getattr(current, field, None)
    if value is None:
        return ""
    return str(from_kg(float(value), unit)) if field == LOAD_FIELD else str(value)


def form_unit(form: Mapping[str, str], field: str = "unit", default: LoadUnit | None = LoadUnit.KG) -> LoadUnit:
    """The unit a form names in ``field`` (``default`` where it names none); FormError naming the field otherwise."""
    text = (form.get(field) or "").strip()
    if not text and default is not None:
        return default
    try:
        return LoadUnit(text)
    except ValueError:
        raise FormError(f"{field}: give kg or lb (got {text[:20]!r})") from None


def _in_kg(value: str, unit: LoadUnit) -> object:
    """A typed load as the edit carries it: kg (a load in lb converted; the edit's own checks judge the rest)."""
    if unit is LoadUnit.KG:
        return value
    try:
        return to_kg(float(value), unit)
    except ValueError:
        raise FormError(f"{LOAD_FIELD}: {value[:20]!r} is not a number of {unit}") from None


def parse_edit(form: Mapping[str, str], current: RecordedSet, by: str) -> SetEdit:
    """The fields the member changed from what the form showed; a double tap sends the same edit (applied once)."""
    unit = form_unit(form)
    changes: dict[str, object] = {}
    for field in editable_fields():
        value = (form.get(field) or "").strip()
        shown = form.get(f"was_{field}", _shown(current, field, unit))
        if value and value != shown:
            changes[field] = _in_kg(value, unit) if field == LOAD_FIELD else value
    if not changes:
        raise FormError("nothing changed")
    try:
        return SetEdit.model_validate({**changes, "edit_id": form.get("edit_id", ""), "set_id": current.set_id,
                                       "by": by})
    except ValidationError as err:
        raise FormError(first_error(err)) from None
