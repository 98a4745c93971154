"""The ``dlinalg`` command line, at the path the console script and ``python -m`` use.

``dlinalg = "dlinalg.models.cli:main"`` in ``pyproject.toml`` and
``python -m dlinalg.models.cli --help`` both start here; the command line
itself lives with the recommenders it drives, in
:mod:`dlinalg.models.recommenders.cli`.
"""

from __future__ import annotations

import sys

from .recommenders.cli import build_parser, main

__all__ = ["main", "build_parser"]

if __name__ == "__main__":
    sys.exit(main())
