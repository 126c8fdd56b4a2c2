"""Radicale plugins (storage, auth, rights) backed by the termin-bridge store."""
