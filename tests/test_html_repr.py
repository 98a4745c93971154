"""The notebook view of DRM and LazyResult: ``_repr_html_``, checked as HTML and in a real kernel."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp

import dlinalg as dl

M_ROWS, N_COLS = 230, 7

# (row chunks, column chunks): the chunking table of every test here
CHUNKINGS = [
    pytest.param((M_ROWS, N_COLS), (M_ROWS,), id="one-chunk"),
    pytest.param((23, N_COLS), (23,) * 10, id="many-chunks"),
    pytest.param((60, N_COLS), (60, 60, 60, 50), id="uneven-last-chunk"),
    pytest.param((50, 3), (50, 50, 50, 50, 30), id="column-chunked"),  # merged on input
]


def _data(sparse: bool, dtype) -> np.ndarray | sp.csr_array:
    if sparse:
        return sp.random(M_ROWS, N_COLS, density=0.3, random_state=1, format="csr", dtype=dtype)
    return np.random.default_rng(0).standard_normal((M_ROWS, N_COLS)).astype(dtype)


def _drm(X, chunks: tuple[int, int], **labels) -> dl.DRM:
    rows, cols = chunks
    if cols < X.shape[1]:
        arr = da.from_array(X, chunks=(rows, cols), asarray=not sp.issparse(X))
        return dl.from_array(arr, **labels)
    return dl.from_array(X, chunks=rows, **labels)


class _Text(HTMLParser):
    """The visible text of an HTML fragment, and whether it parses with balanced tags."""

    def __init__(self):
        super().__init__()
        self.text, self.open = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in {"line", "polygon", "rect", "text", "br"}:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in {"line", "polygon", "rect", "text", "br"}:
            return
        assert self.open, f"</{tag}> closes nothing"
        assert self.open.pop() == tag, f"</{tag}> closes another tag"

    def handle_data(self, data):
        self.text.append(data)


def _visible(fragment: str) -> str:
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    assert not parser.open, f"unclosed tags {parser.open}"
    return " ".join(" ".join(parser.text).split())


def _no_compute(*args, **kwargs):
    raise AssertionError("the HTML repr computed something")


@pytest.mark.parametrize(("chunks", "blocks"), CHUNKINGS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_drm_html_shows_shape_dtype_storage_blocks_and_plan(chunks, blocks, sparse, dtype):
    A = _drm(_data(sparse, dtype), chunks)
    with dask.config.set(scheduler=_no_compute):
        fragment = A._repr_html_()
    text = _visible(fragment)
    assert f"Shape {M_ROWS} x {N_COLS}" in text
    assert f"Dtype {np.dtype(dtype)}" in text
    assert ("sparse (CSR blocks)" if sparse else "Storage dense") in text
    n = len(blocks)
    rows = f"{min(blocks)}" if min(blocks) == max(blocks) else f"{min(blocks)}-{max(blocks)}"
    assert f"{n} row block{'s' if n != 1 else ''} of {rows} rows" in text
    # the block drawing: Dask's chunk diagram, a line per row-block boundary
    picture = re.search(r"<svg.*?</svg>", fragment, re.DOTALL).group(0)
    assert picture.count("<line") >= n + 1
    # the folded plan is explain()'s text
    assert "<details><summary>Optimized plan</summary>" in fragment
    assert html.escape(A.explain()) in fragment


def test_labels_are_shown_shortened_and_escaped():
    rows = [f"<u{i}>" for i in range(M_ROWS)]
    A = dl.from_array(
        _data(False, np.float64), chunks=50, row_labels=rows, col_labels=list("abcdefg")
    )
    fragment = A._repr_html_()
    assert (
        "&lt;u0&gt;, &lt;u1&gt;, &lt;u2&gt;, …, &lt;u227&gt;, &lt;u228&gt;, &lt;u229&gt;"
        in fragment
    )
    assert "<u0>" not in fragment
    assert "Column labels a, b, c, d, e, f, g" in _visible(fragment)


def test_in_memory_results_and_lazy_results():
    A = dl.from_array(_data(False, np.float64), chunks=50)
    with dask.config.set(scheduler=_no_compute):
        gram, means, norm = (
            (A.T @ A)._repr_html_(),
            A.col_means()._repr_html_(),
            A.norm()._repr_html_(),
        )
    assert "Blocks in memory" in _visible(gram)
    assert "<svg" not in gram  # nothing row-partitioned to draw
    assert "Gram (slim)" in gram
    assert "dlinalg.LazyResult" in means
    assert f"Shape {N_COLS}" in _visible(means)
    assert "Value in memory once computed" in _visible(means)
    assert "Shape scalar" in _visible(norm)
    assert "Value row-partitioned" in _visible((A @ np.ones(N_COLS))._repr_html_())


def test_a_notebook_shows_the_html():
    """A real kernel, as Jupyter runs it: the display data carries the HTML view."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import numpy as np, dlinalg as dl\nA = dl.from_array(np.ones((100, 3)), chunks=30)\nA"
        ),
        nbformat.v4.new_code_cell("A.col_means()"),
    ]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    drm, lazy = (cell.outputs[0]["data"] for cell in nb.cells)
    assert "dlinalg.DRM" in drm["text/html"]
    assert "<svg" in drm["text/html"]
    assert drm["text/plain"] == "<DRM 100 x 3 float64, dense, 4 row blocks>"
    assert "dlinalg.LazyResult" in lazy["text/html"]
