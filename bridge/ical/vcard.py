"""The validation gate for address-book resources (one vCard per resource).

:func:`parse_vcard` is the vCard counterpart of :func:`bridge.ical.validate.parse_resource`: cheap
checks on the raw text (size, control characters, exactly one ``BEGIN:VCARD``/``END:VCARD``), then
the UID and display name.  The result is a :class:`~bridge.model.ParsedResource` with component
``VCARD`` and an unbounded time range, so the store indexes cards like any other item.
"""

from __future__ import annotations

import hashlib
import re

from bridge.errors import InvalidICalendar
from bridge.ical.validate import TIMESTAMP_MAX, TIMESTAMP_MIN
from bridge.model import ParsedResource

__all__ = ["parse_vcard"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]")
_MAX_LINE = 65_536


def _unescape(value: str) -> str:
    return (value.replace("\\n", "\n").replace("\\N", "\n").replace("\\,", ",")
            .replace("\\;", ";").replace("\\\\", "\\"))


def parse_vcard(data: str | bytes, max_bytes: int = 1_000_000) -> ParsedResource:
    """Validate one vCard resource and compute its index columns."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidICalendar("vCard data must be UTF-8", status=415) from exc
    text = data.removeprefix("\ufeff")
    if len(text.encode("utf-8")) > max_bytes:
        raise InvalidICalendar(f"resource is larger than {max_bytes} bytes", status=413)
    if _CONTROL.search(text):
        raise InvalidICalendar("control characters are not allowed in vCard data")
    lines = _FOLD.sub("", text).splitlines()
    if any(len(line) > _MAX_LINE for line in lines):
        raise InvalidICalendar(f"a line is longer than {_MAX_LINE} characters")
    upper = [line.upper() for line in lines]
    begins = [i for i, line in enumerate(upper) if line.startswith("BEGIN:")]
    if [upper[i].strip() for i in begins] != ["BEGIN:VCARD"] or begins[0] != 0:
        raise InvalidICalendar("a vCard resource must hold exactly one BEGIN:VCARD")
    if sum(1 for line in upper if line.startswith("END:")) != 1:
        raise InvalidICalendar("a vCard resource must end with one END:VCARD")
    uid = ""
    name = ""
    for line in lines:
        key, sep, value = line.partition(":")
        prop = key.split(";", 1)[0].upper()
        if not sep:
            continue
        if prop == "UID":
            if uid:
                raise InvalidICalendar("vCard has more than one UID")
            uid = value.strip()
        elif prop == "FN" and not name:
            name = _unescape(value.strip())
    if not uid or len(uid) > 1024:
        raise InvalidICalendar("vCard without UID (or UID longer than 1024 characters)")
    normalized = "\n".join(line.rstrip() for line in lines if line.strip())
    return ParsedResource(
        text=text,
        uid=uid,
        component="VCARD",
        start_ts=TIMESTAMP_MIN,
        end_ts=TIMESTAMP_MAX,
        recurring=False,
        content_hash=hashlib.sha256(normalized.encode("utf-8")).hexdigest(),
        summary=name,
    )
