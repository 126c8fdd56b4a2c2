"""Offline emulators of the providers termin-bridge talks to (``emulators.google``).

They stand beside the product: nothing here imports ``bridge``.  Installed with the ``emulators``
extra (``pip install 'termin-bridge[emulators]'``); see ``docs/emulator.md``.
"""
