"""``m:Restriction`` of FindItem evaluated on an item's properties.

Supported: ``And``, ``Or``, ``Not``, ``Exists``, ``IsEqualTo``, ``IsNotEqualTo``,
``IsGreaterThan``, ``IsGreaterThanOrEqualTo``, ``IsLessThan``, ``IsLessThanOrEqualTo`` (a path
against ``FieldURIOrConstant/Constant``) and ``Contains`` (``ContainmentMode``,
``ContainmentComparison`` Exact or IgnoreCase*) over ``FieldURI`` and ``ExtendedFieldURI``
paths.  Date-times compare as instants, booleans and numbers by value, the rest as text.  A
property the item lacks matches nothing but ``Not``, as in Exchange.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from emulators.ews.fields import parse_dt, path_key
from emulators.ews.soap import EwsError, local, t

__all__ = ["matches"]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "IsEqualTo": lambda a, b: a == b,
    "IsNotEqualTo": lambda a, b: a != b,
    "IsGreaterThan": lambda a, b: a > b,
    "IsGreaterThanOrEqualTo": lambda a, b: a >= b,
    "IsLessThan": lambda a, b: a < b,
    "IsLessThanOrEqualTo": lambda a, b: a <= b,
}


def _stored_text(fields: dict[str, ET.Element], key: str) -> str | None:
    elem = fields.get(key)
    if elem is None:
        return None
    if local(elem.tag) == "ExtendedProperty":
        value = elem.find(t("Value"))
        return value.text or "" if value is not None else None
    return elem.text or ""


def _typed(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return float(text) if text.strip() else text
    except ValueError:
        pass
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":
        try:
            return parse_dt(text, dt.UTC)
        except EwsError:
            return text
    return text


def _path(elem: ET.Element) -> str:
    for child in elem:
        if local(child.tag).endswith("FieldURI"):
            return path_key(child)
    raise EwsError("ErrorInvalidRestriction", "The restriction has no property path.")


def _constant(elem: ET.Element) -> str:
    const = elem.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
    if const is None:
        const = elem.find(t("Constant"))
    if const is None:
        raise EwsError("ErrorInvalidRestriction", "Only constants can be compared.")
    return const.get("Value", "")


def _contains(fields: dict[str, ET.Element], elem: ET.Element) -> bool:
    value = _stored_text(fields, _path(elem))
    if value is None:
        return False
    wanted = _constant(elem)
    if elem.get("ContainmentComparison", "Exact") != "Exact":
        value, wanted = value.lower(), wanted.lower()
    mode = elem.get("ContainmentMode", "Substring")
    if mode == "FullString":
        return value == wanted
    if mode == "Prefixed":
        return value.startswith(wanted)
    return wanted in value


def matches(fields: dict[str, ET.Element], elem: ET.Element) -> bool:
    """Whether an item's properties satisfy a restriction expression."""
    kind = local(elem.tag)
    if kind in ("Restriction", "And"):
        return all(matches(fields, child) for child in elem)
    if kind == "Or":
        return any(matches(fields, child) for child in elem)
    if kind == "Not":
        return not all(matches(fields, child) for child in elem)
    if kind == "Exists":
        return _stored_text(fields, _path(elem)) is not None
    if kind == "Contains":
        return _contains(fields, elem)
    compare = _COMPARE.get(kind)
    if compare is None:
        raise EwsError("ErrorUnsupportedQueryFilter", f"The restriction {kind} is not supported.")
    value = _stored_text(fields, _path(elem))
    if value is None:
        return False
    left, right = _typed(value), _typed(_constant(elem))
    if type(left) is not type(right):
        left, right = value, _constant(elem)
    return compare(left, right)
