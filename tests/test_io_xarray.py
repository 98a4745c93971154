"""xarray conversion: dims, coordinates and attrs survive both ways (and through Zarr)."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr

import dlinalg as dl
from dlinalg import from_xarray, read_zarr
from dlinalg.errors import DTypeError, LabelError, ShapeError
from dlinalg.io import to_xarray, write_zarr
from dlinalg.matrix import DRM

# (shape, dask chunks of the DataArray or None for numpy-backed) — what each row exercises
CHUNKINGS = [
    pytest.param((12, 5), None, id="numpy"),  # numpy-backed: default row blocks
    pytest.param((12, 5), (12, 5), id="one-chunk"),  # dask, one chunk
    pytest.param((40, 6), (5, 6), id="many-rows"),  # dask, many row chunks
    pytest.param((23, 4), (5, 4), id="uneven-last"),  # dask, last row chunk shorter
    pytest.param((20, 9), (6, 4), id="col-chunks"),  # dask with column chunks: merged
]
DTYPES = [np.float32, np.float64]


def make(shape, chunks, dtype, coords=True):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    data = x if chunks is None else da.from_array(x, chunks=chunks)
    cs = {
        "user": np.arange(shape[0]) * 3,
        "item": np.array([f"i{j}" for j in range(shape[1])]),
    }
    xa = xr.DataArray(
        data,
        dims=("user", "item"),
        coords=cs if coords else {},
        attrs={"units": "stars", "source": "test", "n": 2},
    )
    xa.name = None  # the constructor names it after the dask array; DRMs carry no name
    return x, xa


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "chunks"), CHUNKINGS)
def test_roundtrip(shape, chunks, dtype, scheduler):
    x, xa = make(shape, chunks, dtype)
    A = from_xarray(xa)
    assert (A.shape, A.dtype, A.dims) == (shape, np.dtype(dtype), ("user", "item"))
    assert A.row_labels == tuple(range(0, 3 * shape[0], 3))
    assert A.col_labels == tuple(f"i{j}" for j in range(shape[1]))
    assert A.attrs == xa.attrs
    if chunks is not None:
        assert A.chunks == xa.chunks[0]  # row chunks kept
    np.testing.assert_array_equal(A.compute(), x)
    back = to_xarray(A)
    assert isinstance(back.data, da.Array)
    assert back.chunks == (A.chunks, (shape[1],))
    xr.testing.assert_identical(back, xa)


@pytest.mark.parametrize(("shape", "chunks"), CHUNKINGS)
def test_roundtrip_through_zarr(shape, chunks, scheduler, tmp_path):
    _, xa = make(shape, chunks, np.float64)
    write_zarr(from_xarray(xa), tmp_path / "x.zarr")
    xr.testing.assert_identical(to_xarray(read_zarr(tmp_path / "x.zarr")), xa)


def test_without_coords():
    _, xa = make((6, 3), (2, 3), np.float64, coords=False)
    A = from_xarray(xa)
    assert (A.row_labels, A.col_labels) == (None, None)
    back = to_xarray(A)
    assert dict(back.coords) == {}
    xr.testing.assert_identical(back, xa)


def test_name_and_default_dims():
    A = dl.from_array(np.eye(3), chunks=2)
    out = to_xarray(A, name="eye")
    assert (out.name, out.dims, out.chunks) == ("eye", ("row", "col"), ((2, 1), (3,)))
    assert to_xarray(A).name is None  # not the dask array's name


def test_to_xarray_is_lazy():
    def boom(block):
        raise AssertionError("computed")

    A = dl.from_array(da.zeros((8, 2), chunks=(4, 2)).map_blocks(boom, dtype=float))
    out = to_xarray(A)  # would raise if anything were computed
    assert out.shape == (8, 2)


def test_sparse_needs_dense_flag(scheduler):
    S = sp.random_array((10, 4), density=0.4, rng=0, format="csr")
    A = dl.from_array(S, chunks=3)
    with pytest.raises(DTypeError, match="dense=True") as err:
        to_xarray(A)
    assert isinstance(err.value, TypeError)
    out = to_xarray(A, dense=True)
    assert isinstance(out.data._meta, np.ndarray)
    np.testing.assert_array_equal(out.values, S.toarray())


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (np.ones(4), ShapeError),  # 1-D
        (np.ones((2, 3, 4)), ShapeError),  # 3-D
        (np.ones((0, 3)), ShapeError),  # zero-size axis
        (np.array([["a", "b"]]), DTypeError),  # strings
        (np.ones((2, 2), dtype=complex), DTypeError),  # complex
        (np.ones((2, 2), dtype=object), DTypeError),  # object
    ],
)
def test_bad_input(data, error):
    with pytest.raises(error):
        from_xarray(xr.DataArray(data))


def test_not_a_dataarray():
    with pytest.raises(TypeError, match=r"ds\['name'\]"):
        from_xarray(xr.Dataset({"a": (("x", "y"), np.ones((2, 2)))}))


def test_duplicate_coordinates_are_refused():
    xa = xr.DataArray(np.ones((3, 2)), dims=("x", "y"), coords={"x": [1, 1, 2]})
    with pytest.raises(LabelError, match="unique"):
        from_xarray(xa)


def test_equal_dims_refused_by_to_xarray():
    A = DRM._from_dask(da.ones((3, 3), chunks=(3, 3)), dims=("col", "col"))
    with pytest.raises(LabelError, match="distinct"):
        to_xarray(A)


def test_from_xarray_builds_without_computing():
    with dask.config.set(scheduler="synchronous"):
        boom = da.zeros((8, 2), chunks=(4, 1)).map_blocks(
            lambda b: (_ for _ in ()).throw(AssertionError("computed")), dtype=float
        )
        A = from_xarray(xr.DataArray(boom, dims=("a", "b")))
    assert A.chunks == (4, 4)
