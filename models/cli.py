"""The ``dlinalg`` command line, at the path the console script and ``python -m`` use.

``dlinalg = "dlinalg.models.cli:run"`` in ``pyproject.toml`` and
``python -m dlinalg.models.cli --help`` both start here; the command line
itself lives with the recommenders it drives, in
:mod:`dlinalg.models.recommenders.cli`.
"""

from __future__ import annotations

from .recommenders.cli import build_parser, main, run

__all__ = ["main", "run", "build_parser"]

if __name__ == "__main__":
    run()
