"""dlinalg installs under one name: its estimators are ``dlinalg.models``, never ``models``.

The folder ``models/`` is mapped to the import name ``dlinalg.models`` by
setuptools' ``package-dir``. A top-level ``models`` package would shadow (or
be shadowed by) the ``models`` package or module of every Django app and of
countless other projects: whichever came first on ``sys.path`` would win and
the other would silently disappear.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, cwd: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env_path = [str(extra_path)] if extra_path else []
    script = "import sys; sys.path[:0] = " + repr(env_path) + "\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_users_own_models_package_and_dlinalgs_estimators_live_side_by_side(tmp_path):
    project = tmp_path / "shop"
    (project / "models").mkdir(parents=True)
    (project / "models" / "__init__.py").write_text("class Order:\n    table = 'orders'\n")
    done = _run(
        """
        import numpy as np
        import models                        # the user's own package, first on sys.path
        from dlinalg.models import PCA       # dlinalg's estimators, in the same process
        assert models.Order.table == "orders", models.__file__
        X = np.random.default_rng(0).standard_normal((20, 4))
        scores = PCA(n_components=2).fit_transform(X)
        assert scores.shape == (20, 2)
        import dlinalg.models
        assert dlinalg.models is not models
        print("both", models.__file__)
        """,
        cwd=tmp_path,  # not the repository: only what is installed is importable
        extra_path=project,
    )
    assert done.returncode == 0, done.stderr
    assert "shop/models/__init__.py" in done.stdout


def test_no_top_level_models_package_is_installed(tmp_path):
    done = _run("import models", cwd=tmp_path)
    assert done.returncode != 0
    assert "No module named 'models'" in done.stderr


def test_the_command_line_runs_from_the_installed_name(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "dlinalg.models.cli", "--help"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "itemsimilarity" in done.stdout


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapped = {name: ROOT / folder for name, folder in config["package-dir"].items()}
    on_disk = set()
    for init in sorted((ROOT / "dlinalg").rglob("__init__.py")):
        on_disk.add(".".join(init.parent.relative_to(ROOT).parts))
    for name, folder in mapped.items():
        for init in sorted(folder.rglob("__init__.py")):
            on_disk.add(".".join([name, *init.parent.relative_to(folder).parts]))
    assert listed == on_disk


def test_importing_dlinalg_or_the_command_line_leaves_zarr_and_dask_dataframe_unloaded():
    """The command line on a small log pays only for what it runs.

    zarr (0.16 s), xarray's stores and dask.dataframe (0.27 s) load on first
    use; the names that need them still resolve, and ``from dlinalg import *``
    binds every public name.
    """
    done = _run(
        """
        import sys
        import dlinalg, dlinalg.io, dlinalg.models.recommenders.cli
        print(sorted(m for m in ("zarr", "dask.dataframe") if m in sys.modules))
        import dlinalg as dl
        names = {}
        exec("from dlinalg import *", names)
        print(sorted(set(dl.__all__) - set(names)), "read_zarr" in dir(dl))
        print(dl.read_zarr.__module__, dl.verify_zarr.__module__, dlinalg.io.to_xarray.__module__)
        try:
            dl.no_such_name
        except AttributeError as exc:
            print(exc)
        """,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[]",
        "[] True",
        "dlinalg.readers dlinalg.io.zarr dlinalg.io.xarray",
        "module 'dlinalg' has no attribute 'no_such_name'",
    ]


def test_a_worker_running_one_kernel_does_not_load_every_estimator():
    """``dlinalg.models`` and its families import their names on first use.

    A Dask worker unpickling a recommender kernel imports the packages on the
    way (their ``__init__``); scikit-learn, xarray and the other estimators
    stay out of its memory, and every public name still resolves.
    """
    done = _run(
        """
        import sys
        import dlinalg.models.recommenders._panel_counts, dlinalg.models.recommenders._topk
        print(sorted(m for m in ("sklearn", "xarray", "zarr", "pandas") if m in sys.modules))
        import dlinalg.models as models
        names = {}
        exec("from dlinalg.models import *", names)
        print(sorted(set(models.__all__) - set(names)), sorted(set(models.__all__) - set(dir(models))))
        print(models.ALS is models.recommenders.ALS, models.metrics.__name__)
        """,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[]",
        "[] []",
        "True dlinalg.models.metrics",
    ]


def test_dlinalg_never_imports_its_estimators():
    """The algebra knows nothing of estimators (DESIGN.md's invariant)."""
    done = _run(
        """
        import sys
        import dlinalg, dlinalg.io, dlinalg.decomp, dlinalg.solvers
        print(sorted(m for m in sys.modules if m.startswith("dlinalg.models")))
        """,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
