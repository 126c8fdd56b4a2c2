"""Config knobs set from JSON (a dataclass mixin that refuses unknown names) and a seed's
``clock``/``config`` section."""

from __future__ import annotations

import dataclasses
from typing import Any

from emulators.shared.clock import parse_rfc3339

__all__ = ["Knobs", "apply_clock_and_config"]


class Knobs:
    """Mixin for a dataclass of knobs set through ``/_emulator/config`` or a seed."""

    def update(self, values: dict[str, Any]) -> None:
        """Set knobs from a JSON object; raises ``ValueError`` naming an unknown knob."""
        names = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown config knob {key!r}")
            setattr(self, key, value)


def apply_clock_and_config(state: Any, seed: dict[str, Any]) -> None:
    """A seed's ``clock`` (``now``, ``freeze``) and ``config`` knobs; ``ValueError`` names a bad
    knob as ``config: …``."""
    clock = seed.get("clock") or {}
    if clock.get("now"):
        state.clock.set(parse_rfc3339(str(clock["now"])), freeze=bool(clock.get("freeze")))
    if seed.get("config"):
        try:
            state.config.update(dict(seed["config"]))
        except ValueError as exc:
            raise ValueError(f"config: {exc}") from exc
