"""Strict validation of OCSF Compliance Finding events against the models of ``py-ocsf-models``.

The models (OCSF 1.5.0) check required attributes, enumerations and types. Two things they
leave open are checked here as well, because a consumer relies on them: an attribute the schema
does not have (the models drop it silently), and the ids the class fixes (``class_uid`` 2003,
``category_uid`` 2, ``type_uid`` = ``class_uid`` * 100 + ``activity_id``).
"""

from __future__ import annotations

import json

from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from pydantic import TypeAdapter, ValidationError

ADAPTER = TypeAdapter(list[ComplianceFinding])


class InvalidEvent(ValueError):
    """An event that does not fit the OCSF schema: names the event and the attribute."""


def validate(events: list[dict]) -> list[ComplianceFinding]:
    """The events as models; raises :class:`InvalidEvent` on the first one that does not fit.

    Read as JSON in strict mode (no coercion: a number where text belongs fails), then compared
    with what the models kept, so an unknown attribute or a changed value fails too.
    """
    text = json.dumps(events)
    try:
        models = ADAPTER.validate_json(text, strict=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidEvent(f"event {'.'.join(map(str, error['loc']))}: {error['msg']}") from None
    for index, event in enumerate(models):
        if (event.class_uid, event.category_uid) != (2003, 2):
            raise InvalidEvent(f"event {index}: class_uid 2003 and category_uid 2 expected")
        if event.type_uid != event.class_uid * 100 + event.activity_id:
            raise InvalidEvent(f"event {index}.type_uid: must be class_uid * 100 + activity_id")
    kept = ADAPTER.dump_python(models, mode="json", exclude_unset=True)
    for index, (given, model) in enumerate(zip(json.loads(text), kept, strict=True)):
        where = first_difference(given, model)
        if where is not None:
            raise InvalidEvent(f"event {index}{where}: not an attribute of the schema, or not of its type")
    return models


def first_difference(given, kept, path: str = "") -> str | None:
    """The path of the first value validation did not keep as given; None when all were kept."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for key, value in given.items():
            if key not in kept:
                return f"{path}.{key}"
            where = first_difference(value, kept[key], f"{path}.{key}")
            if where is not None:
                return where
        return None
    if isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        for i, (a, b) in enumerate(zip(given, kept, strict=True)):
            where = first_difference(a, b, f"{path}[{i}]")
            if where is not None:
                return where
        return None
    return None if given == kept and type(given) is type(kept) else path
