"""Any CalDAV server, and Apple iCloud, as the external calendar (see docs/sync.md, *CalDAV*)."""
