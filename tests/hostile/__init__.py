"""Hostile-input corpus (``../shared/hostile-inputs.md`` groups A-D) and its runner."""
