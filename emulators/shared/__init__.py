"""What the emulators share: the background-thread server, the common test hooks, knobs, the
state-file lifecycle and its JSON encoding.  Nothing here knows a provider."""
