"""Imported first by the scripts/bench-* programs: re-run them with the project's .venv python.

Running a script as ``scripts/bench-x`` uses whatever ``python3`` is first on PATH; the benchmarks
need the project installed, so they hand over to ``.venv/bin/python`` when it exists.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_VENV = Path(__file__).resolve().parent.parent / ".venv"
if _VENV.exists() and Path(sys.prefix).resolve() != _VENV.resolve():
    python = str(_VENV / "bin" / "python")
    os.execv(python, [python, *sys.argv])
