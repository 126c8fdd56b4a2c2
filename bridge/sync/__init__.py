"""Two-way sync between the appointment store and Google Calendar.

``plan`` decides (pure), ``push``/``pull`` execute against :mod:`bridge.google.client`,
``engine`` runs the workers, ``service`` is the facade the admin page and CLI call.
"""
