"""``termin-bridge import-ics`` and ``export-ics``: bulk in and out of a calendar."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bridge.cli.context import CALENDAR_REF_HELP, CliContext
from bridge.errors import BridgeError, NotFound
from bridge.importer import export_calendar, import_calendar
from bridge.names import check_calendar_ref

__all__ = ["register"]


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total == 0:
            return
        width = 30
        filled = int(width * done / total)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({rate:.0f}/s)"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _calendar_path(store: Any, ref: str) -> str:
    owner, slug = check_calendar_ref(ref)
    path = f"{owner}/{slug}"
    coll = store.get_collection(path)
    if coll is None or not coll.is_calendar:
        raise NotFound(f"calendar {path} (create it with `termin-bridge calendar add`)")
    return path


def _import(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    path = _calendar_path(store, args.ref)
    source = Path(args.file)
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else source.read_bytes()
    except OSError as exc:
        raise BridgeError(f"cannot read {args.file}: {exc.strerror}") from exc
    started = time.monotonic()
    report = import_calendar(store, path, data, strict=args.strict, progress=_Progress())
    for problem in report.problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if args.strict and report.problems:
        print(f"nothing imported: {len(report.problems)} invalid event(s) (--strict)",
              file=sys.stderr)
        return 1
    print(
        f"imported into {path}: {report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.problems)} rejected "
        f"({time.monotonic() - started:.1f} s)"
    )
    return 1 if report.problems else 0


def _export(args: argparse.Namespace, ctx: CliContext) -> int:
    store = ctx.store
    path = _calendar_path(store, args.ref)
    coll = store.get_collection(path)
    text = export_calendar(store, path, coll.display_name if coll else "")
    if args.output and args.output != "-":
        Path(args.output).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)
    return 0


def register(sub: Any) -> None:
    """Add ``import-ics`` and ``export-ics``."""
    imp = sub.add_parser("import-ics", help="import an .ics file into a calendar")
    imp.add_argument("ref", metavar="OWNER/SLUG", help=CALENDAR_REF_HELP)
    imp.add_argument("file", metavar="FILE", help="iCalendar file ('-' for standard input)")
    imp.add_argument("--strict", action="store_true",
                     help="import nothing when any event is invalid")
    imp.set_defaults(func=_import)
    exp = sub.add_parser("export-ics", help="write a calendar as one .ics file")
    exp.add_argument("ref", metavar="OWNER/SLUG", help=CALENDAR_REF_HELP)
    exp.add_argument("-o", "--output", help="file to write (default: standard output)")
    exp.set_defaults(func=_export)
