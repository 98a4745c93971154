"""Public names imported on first use (PEP 562 module ``__getattr__``).

``import dlinalg`` should not pay for libraries a program may never touch:
zarr and xarray cost 0.2 s of the command line's 2 s on a small log, and
every Dask worker imports dlinalg to run its tasks. Likewise a worker that
runs one recommender kernel imports ``dlinalg.models`` and
``dlinalg.models.recommenders`` (their ``__init__``) on the way, and should not
load scikit-learn, xarray and every estimator with them (110 MiB of a
worker's memory). A package lists such names in a table and delegates its
``__getattr__`` here.
"""

from __future__ import annotations

import importlib
from typing import Any


def deferred_attribute(package: str, name: str, table: dict[str, str | None]) -> Any:
    """``name`` from the module ``table`` maps it to, for ``package.__getattr__``.

    A name mapped to None is the package's submodule of that name.

    Examples
    --------
    >>> deferred_attribute("pkg", "join", {"join": "os.path"}) is __import__("os").path.join
    True
    >>> deferred_attribute("os", "path", {"path": None}) is __import__("os").path
    True
    >>> deferred_attribute("pkg", "nope", {})
    Traceback (most recent call last):
    ...
    AttributeError: module 'pkg' has no attribute 'nope'
    """
    try:
        module = table[name]
    except KeyError:
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    if module is None:
        return importlib.import_module(f"{package}.{name}")
    return getattr(importlib.import_module(module), name)
