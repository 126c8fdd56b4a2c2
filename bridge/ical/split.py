"""Splitting a whole-calendar file into one resource per UID (bulk import)."""

from __future__ import annotations

from collections.abc import Iterator

from bridge.ical.precheck import decode_text

__all__ = ["split_calendar"]


def split_calendar(data: str | bytes) -> Iterator[tuple[str, int]]:
    """Split a whole-calendar file into one VCALENDAR text per UID (for bulk import).

    Yields ``(text, line)`` where ``line`` is the 1-based line of the UID's first component.
    VTIMEZONE blocks are copied into every resource that uses their TZID.  Only light line
    scanning happens here; each piece still goes through :func:`parse_resource`.
    """
    text = decode_text(data)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    timezones: dict[str, list[str]] = {}
    groups: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    order: list[str] = []
    header: list[str] = []
    i = 0
    depth = 0
    n = len(lines)
    anonymous = 0
    while i < n:
        line = lines[i]
        upper = line.upper()
        if depth == 0 and upper.startswith("BEGIN:VCALENDAR"):
            depth = 1
            i += 1
            continue
        if depth == 1 and upper.startswith("BEGIN:"):
            start = i
            name = upper[6:].strip()
            block_depth = 0
            uid = None
            tzid = None
            while i < n:
                u = lines[i].upper()
                if u.startswith("BEGIN:"):
                    block_depth += 1
                elif u.startswith("END:"):
                    block_depth -= 1
                    if block_depth == 0:
                        break
                elif block_depth == 1 and u.startswith("UID:") and uid is None:
                    uid = lines[i][4:].strip()
                elif block_depth == 1 and u.startswith("TZID:") and tzid is None:
                    tzid = lines[i][5:].strip()
                i += 1
            block = lines[start : i + 1]
            if name == "VTIMEZONE" and tzid:
                timezones[tzid] = block
            else:
                if uid is None:
                    anonymous += 1
                    uid = f"\x00no-uid-{anonymous}"
                if uid not in groups:
                    groups[uid] = []
                    first_line[uid] = start + 1
                    order.append(uid)
                groups[uid].extend(block)
            i += 1
            continue
        if depth == 1 and upper.startswith("END:VCALENDAR"):
            depth = 0
        elif depth == 1 and line.strip() and not upper.startswith(("PRODID", "CALSCALE")):
            header.append(line)
        i += 1
    version = [h for h in header if h.upper().startswith("VERSION")] or ["VERSION:2.0"]
    for uid in order:
        body = groups[uid]
        joined = "\n".join(body)
        used = [tz for tz in timezones if f"TZID={tz}" in joined or f'TZID="{tz}"' in joined]
        out = ["BEGIN:VCALENDAR", version[0], "PRODID:-//termin-bridge//import//EN"]
        for tz in used:
            out.extend(timezones[tz])
        out.extend(body)
        out.append("END:VCALENDAR")
        yield "\r\n".join(out) + "\r\n", first_line[uid]
