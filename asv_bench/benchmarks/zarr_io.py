"""Gram straight from a Zarr store, reading it alone, and writing one.

Target (issue 2): ``(A.T @ A).compute()`` over an uncompressed Zarr store within
1.2x of the time to just read and decode the store on the same cluster.

The store (ROWS x COLS float64, one chunk per row block, no compression) is
written once by ``setup_cache`` into asv's per-cache temporary directory,
which asv deletes after the last benchmark using it. dlinalg's ``to_zarr``
always compresses with zarr's default (zstd), so the uncompressed store is
written with plain zarr and read with ``dl.read_zarr`` (see
``benchmarks.uncompressed_store``).
"""

from __future__ import annotations

import os
import shutil

import dask.array as da

import dlinalg as dl

from . import (
    COLS,
    ROWS,
    TIMEOUT,
    RssSampler,
    Sized,
    dense_drm,
    get_client,
    read_only,
    settle,
    uncompressed_store,
    worker_pids,
)


class _Store(Sized):
    """Shares one store: asv keys ``setup_cache`` by where it is defined."""

    def setup_cache(self):
        return uncompressed_store("matrix.zarr", ROWS, COLS)

    setup_cache.timeout = TIMEOUT

    def setup(self, path, rows):
        self.client = get_client()
        self.path = path
        settle(self.client)


class ZarrGramDlinalg(_Store):
    """dlinalg Gram over ``dl.read_zarr(path)``: each task reads one chunk and multiplies."""

    def time_gram(self, path, rows):
        with self.client.as_current():
            A = dl.read_zarr(path)
            (A.T @ A).compute()

    def peakmem_gram(self, path, rows):
        with self.client.as_current():
            A = dl.read_zarr(path)
            (A.T @ A).compute()

    def track_worker_peak_rss(self, path, rows):
        """Peak RSS of the largest worker process during one Gram (psutil, 10 ms samples)."""
        with RssSampler(worker_pids(self.client)) as rss, self.client.as_current():
            A = dl.read_zarr(path)
            (A.T @ A).compute()
        return max(rss.peak.values())

    track_worker_peak_rss.unit = "bytes"

    def time_open(self, path, rows):
        """Opening the store alone: metadata checks and the chunk listing."""
        dl.read_zarr(path)


class ZarrGramDask(_Store):
    """Plain Dask Gram over ``da.from_zarr(path)``."""

    def time_gram(self, path, rows):
        with self.client.as_current():
            X = da.from_zarr(path)
            (X.T @ X).compute()


class ZarrReadDecode(_Store):
    """The floor: read and decode every chunk, then drop it (``noop``) or sum it."""

    def time_read_noop(self, path, rows):
        with self.client.as_current():
            read_only(da.from_zarr(path))

    def time_read_sum(self, path, rows):
        with self.client.as_current():
            da.from_zarr(path).sum().compute()

    def time_read_noop_dlinalg(self, path, rows):
        """dlinalg's reader (checked, guarded tasks) with the same no-op block function."""
        with self.client.as_current():
            read_only(dl.read_zarr(path).to_dask())


class ZarrWrite(Sized):
    """Writing the persisted matrix: dlinalg's crash-safe ``to_zarr`` vs ``da.to_zarr``.

    Both use zarr's default codec (zstd) and one chunk per row block; the
    store goes to asv's temporary working directory and is removed after
    every call.
    """

    def setup(self, rows):
        self.client = get_client()
        self.A = dense_drm(rows, COLS)
        self.X = self.A.to_dask()
        self.out = os.path.abspath("out.zarr")
        settle(self.client)

    def teardown(self, rows):
        shutil.rmtree(self.out, ignore_errors=True)

    def time_to_zarr_dlinalg(self, rows):
        with self.client.as_current():
            self.A.to_zarr(self.out, overwrite=True)

    def time_to_zarr_dask(self, rows):
        with self.client.as_current():
            da.to_zarr(self.X, self.out, mode="w")
