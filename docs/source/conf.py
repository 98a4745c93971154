"""Sphinx configuration for the dlinalg documentation.

Build with ``sphinx-build -W --keep-going -b html docs/source docs/build/html``
(the ``docs`` extra installs everything needed; ``.ci/run`` does it in CI).
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version

# Document the checkout even when it is not installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

project = "dlinalg"
author = "dlinalg developers"
copyright = "dlinalg developers"
try:
    release = version("dlinalg")
except PackageNotFoundError:
    release = "0.1.0"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_static_path = ["_static"]
html_css_files = ["dlinalg.css"]  # tables and code blocks wrap instead of being cut off

# --- API pages ---------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc's Parameters sections already give the types
autodoc_default_options = {"member-order": "groupwise"}
# Class pages list their members through the autosummary class template, so
# numpydoc must not add a second, untitled list.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# The constructors of these classes take internal plan nodes: users build them with
# dl.from_array, dl.read_zarr... (their docstrings say so), so the API pages show
# no constructor signature for them, in the class entry and in the summary tables.
_NO_SIGNATURE = {"dlinalg.DRM", "dlinalg.LazyResult", "dlinalg.Explanation"}


def _hide_internal_signature(app, what, name, obj, options, signature, return_annotation):
    if what == "class" and name in _NO_SIGNATURE:
        return "", None
    return None


# --- Figures -------------------------------------------------------------------
# ``.. plot:: _figures.py <function>`` runs the function at build time (small data,
# Dask's local schedulers) and writes the PNG into the build directory. Nothing
# but the image and its caption is shown: no source link, one format.
plot_formats = [("png", 110)]
plot_html_show_formats = False
plot_html_show_source_link = False
plot_include_source = False
plot_pre_code = ""
plot_rcparams = {"savefig.bbox": "tight"}

# --- Links to other projects ---------------------------------------------------
# The CI machine reaches no site but PyPI, so the inventories below cannot be
# downloaded there, and with -W a failed download is an error. They are off
# unless DLINALG_DOCS_INTERSPHINX=1 is set (e.g. for a published build).
_INTERSPHINX = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "dask": ("https://docs.dask.org/en/stable", None),
    "distributed": ("https://distributed.dask.org/en/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "zarr": ("https://zarr.readthedocs.io/en/stable", None),
    "xarray": ("https://docs.xarray.dev/en/stable", None),
}
intersphinx_mapping = _INTERSPHINX if os.environ.get("DLINALG_DOCS_INTERSPHINX") == "1" else {}

# --- HTML ----------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "show_toc_level": 2,
        "navigation_with_keys": False,
        "icon_links": [],
    }
except ImportError:  # the docs still build with Sphinx's default theme
    html_theme = "alabaster"
    html_theme_options = {}
html_title = f"dlinalg {release}"


def setup(app):
    app.connect("autodoc-process-signature", _hide_internal_signature)
