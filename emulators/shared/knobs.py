"""Config knobs set from JSON: a dataclass mixin that refuses unknown names."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["Knobs"]


class Knobs:
    """Mixin for a dataclass of knobs set through ``/_emulator/config`` or a seed."""

    def update(self, values: dict[str, Any]) -> None:
        """Set knobs from a JSON object; raises ``ValueError`` naming an unknown knob."""
        names = {f.name for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown config knob {key!r}")
            setattr(self, key, value)
