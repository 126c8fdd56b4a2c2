"""Bulk import and export of whole calendars (``import-ics`` / ``export-ics``).

Import goes straight into the store, not through CalDAV: the file is split per UID, every
resource passes the validation gate (in worker processes when there are many,
:mod:`bridge.cpu`), and valid ones are written in batches (one transaction per batch, each with
its change-log and outbox rows) while the workers validate the rest.  A bad resource is reported
with its UID and line and does not stop the rest unless ``strict`` is set, in which case
nothing is written.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bridge.cpu import CpuPool
from bridge.errors import InvalidICalendar
from bridge.ical import Limits, parse_resource, split_calendar
from bridge.model import ParsedResource
from bridge.store import SqlStore

__all__ = ["ImportProblem", "ImportReport", "export_calendar", "import_calendar"]

BATCH = 1000
# Below this many resources a process pool costs more than it saves.
PARALLEL_THRESHOLD = 2000
_UID_LINE = re.compile(r"^UID:(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class ImportProblem:
    """One resource that was not imported."""

    uid: str | None
    line: int
    message: str

    def __str__(self) -> str:
        who = f"UID {self.uid}" if self.uid else "event without UID"
        return f"line {self.line}: {who}: {self.message}"


@dataclass
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[ImportProblem] = field(default_factory=list)


def _parse_chunk(
    chunk: Sequence[str], limits: Limits | None
) -> list[ParsedResource | InvalidICalendar]:
    out: list[ParsedResource | InvalidICalendar] = []
    for text in chunk:
        try:
            out.append(parse_resource(text, limits))
        except InvalidICalendar as exc:
            out.append(exc)
    return out


def import_calendar(
    store: SqlStore,
    path: str,
    data: str | bytes,
    *,
    strict: bool = False,
    origin: str = "import",
    progress: Callable[[int, int], None] | None = None,
    limits: Limits | None = None,
) -> ImportReport:
    """Import every resource of a calendar file into collection ``path``.

    ``progress(done, total)`` counts the file's resources (a rejected one is done too).
    """
    pieces = list(split_calendar(data))
    report = ImportReport()
    pending: list[ParsedResource] = []
    seen = shown = 0

    def show() -> None:
        nonlocal shown
        if progress is not None and shown != seen:
            progress(seen, len(pieces))
            shown = seen

    def write(batch: list[ParsedResource]) -> None:
        result = store.bulk_put(path, batch, origin=origin)
        report.created += result.created
        report.updated += result.updated
        report.unchanged += len(batch) - result.created - result.updated
        show()

    with CpuPool(min_batch=PARALLEL_THRESHOLD) as pool:
        outcomes = itertools.chain.from_iterable(pool.chunks(
            functools.partial(_parse_chunk, limits=limits), [text for text, _ in pieces]))
        for (text, line), outcome in zip(pieces, outcomes, strict=True):
            seen += 1
            if isinstance(outcome, ParsedResource):
                pending.append(outcome)
                if not strict and len(pending) >= BATCH:
                    write(pending)  # while the workers validate the next chunks
                    pending = []
                continue
            match = _UID_LINE.search(text)
            uid = match.group(1).strip() if match else None
            report.problems.append(ImportProblem(uid, line + (outcome.line or 1) - 1,
                                                 outcome.message))
    if strict and report.problems:
        return report
    for i in range(0, len(pending), BATCH):
        write(pending[i:i + BATCH])
    show()
    return report


def _body(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """Components of one stored resource, and its VTIMEZONE blocks by TZID."""
    body: list[str] = []
    zones: dict[str, list[str]] = {}
    depth = 0
    block: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        upper = line.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
        if depth >= 2:
            block.append(line)
        if upper.startswith("END:"):
            depth -= 1
            if depth == 1 and block:
                if block[0].upper() == "BEGIN:VTIMEZONE":
                    tzid = next((b[5:] for b in block if b.upper().startswith("TZID:")), "")
                    zones[tzid] = block
                else:
                    body.extend(block)
                block = []
    return body, zones


def export_calendar(store: SqlStore, path: str, name: str = "") -> str:
    """One iCalendar file with every resource of collection ``path``."""
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//termin-bridge//export//EN"]
    if name:
        out.append("X-WR-CALNAME:" + name.replace("\n", " ").replace("\r", " "))
    zones: dict[str, list[str]] = {}
    bodies: list[str] = []
    for item in store.list_items(path):
        body, item_zones = _body(item.text)
        zones.update(item_zones)
        bodies.extend(body)
    for block in zones.values():
        out.extend(block)
    out.extend(bodies)
    out.append("END:VCALENDAR")
    return "\r\n".join(out) + "\r\n"
