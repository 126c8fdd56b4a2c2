"""``python -m bridge`` and the ``termin-bridge`` console script."""

from __future__ import annotations

import sys

from bridge.cli import main as _cli_main

__all__ = ["main"]


def main() -> None:
    """Entry point of the console script."""
    sys.exit(_cli_main())


if __name__ == "__main__":
    main()
