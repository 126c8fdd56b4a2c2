"""Deterministic benchmark calendars shared by the scripts/bench-* programs."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")


def mixed_events(n: int, seed: int = 7, start: date = date(2026, 1, 5)) -> list[str]:
    """``n`` VEVENT blocks: timed in several zones, all-day, weekly series with exceptions."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(n):
        day = start + timedelta(days=rng.randrange(0, 365))
        kind = i % 10
        uid = f"bench-{i}@termin-bridge"
        lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                 f"SUMMARY:Appointment {i}", f"DESCRIPTION:Customer {i} booked service {i % 7}"]
        if kind < 6:
            zone = ZONES[i % len(ZONES)]
            hour = 8 + rng.randrange(0, 9)
            begin = datetime(day.year, day.month, day.day, hour, rng.choice((0, 15, 30, 45)))
            end = begin + timedelta(minutes=rng.choice((30, 45, 60, 90)))
            fmt = "%Y%m%dT%H%M%S"
            if zone == "UTC":
                lines += [f"DTSTART:{begin.strftime(fmt)}Z", f"DTEND:{end.strftime(fmt)}Z"]
            else:
                lines += [f"DTSTART;TZID={zone}:{begin.strftime(fmt)}",
                          f"DTEND;TZID={zone}:{end.strftime(fmt)}"]
            lines.append("END:VEVENT")
        elif kind < 8:
            last = day + timedelta(days=rng.choice((1, 1, 2, 3)))
            lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{last:%Y%m%d}",
                      "TRANSP:TRANSPARENT", "END:VEVENT"]
        else:
            begin = datetime(day.year, day.month, day.day, 9, 0)
            fmt = "%Y%m%dT%H%M%S"
            moved = begin + timedelta(weeks=2)
            lines += [f"DTSTART;TZID=Europe/Berlin:{begin.strftime(fmt)}",
                      f"DTEND;TZID=Europe/Berlin:{(begin + timedelta(hours=1)).strftime(fmt)}",
                      "RRULE:FREQ=WEEKLY;COUNT=20" if kind == 8 else "RRULE:FREQ=WEEKLY",
                      f"EXDATE;TZID=Europe/Berlin:{(begin + timedelta(weeks=1)).strftime(fmt)}",
                      "END:VEVENT", "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                      f"RECURRENCE-ID;TZID=Europe/Berlin:{moved.strftime(fmt)}",
                      f"DTSTART;TZID=Europe/Berlin:{(moved + timedelta(hours=3)).strftime(fmt)}",
                      f"DTEND;TZID=Europe/Berlin:{(moved + timedelta(hours=4)).strftime(fmt)}",
                      f"SUMMARY:Appointment {i} (moved)", "END:VEVENT"]
        out.append("\r\n".join(lines))
    return out


def calendar_file(n: int, seed: int = 7) -> str:
    """A whole VCALENDAR file of ``n`` mixed events."""
    body = "\r\n".join(mixed_events(n, seed))
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//termin-bridge//bench//EN\r\n"
            + body + "\r\nEND:VCALENDAR\r\n")
