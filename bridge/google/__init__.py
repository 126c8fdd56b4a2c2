"""Google Calendar: ids, the pure iCalendar ⇄ Google event mapping (and, later, the client)."""
