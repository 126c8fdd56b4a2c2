"""The online booking page of a calendar (public, ``/book/<public id>``; see :mod:`.web`)."""
