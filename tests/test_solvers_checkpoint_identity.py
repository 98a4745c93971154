"""Checkpoints resume only their own problem (issue 12).

Two defects are pinned here: a :class:`scipy.sparse.linalg.LinearOperator` was
identified by its type, shape and dtype only, so a checkpoint of ``op(M1)``
resumed ``op(M2)``; and the checkpoint's JSON header was not checked, so a
damaged header failed late (KeyError, broadcast error) after passes over A.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile

import dask
import numpy as np
import pytest
import scipy.sparse.linalg as spla

import dlinalg as dl
from dlinalg.solvers import CheckpointError
from dlinalg.solvers import checkpoint as C

SOLVE = {
    "lsqr": lambda A, b, **kw: dl.lsqr(A, b, atol=1e-12, btol=1e-12, **kw),
    "lsmr": lambda A, b, **kw: dl.lsmr(A, b, atol=1e-12, btol=1e-12, **kw),
    "cg": lambda A, b, **kw: dl.cg(A, b, rtol=1e-12, **kw),
    "cgls": lambda A, b, **kw: dl.cgls(A, b, atol=1e-12, btol=1e-12, **kw),
    "gd": lambda A, b, **kw: dl.gd(A, b, tol=1e-12, precondition="diag", **kw),
}


def two_matrices(n=30, seed=0):
    """Two different SPD matrices of the same shape and dtype, and b."""
    rng = np.random.default_rng(seed)
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.logspace(0, -2, n)
    M1, M2 = (Q1 * eig) @ Q1.T, (Q2 * eig) @ Q2.T
    return (M1 + M1.T) / 2, (M2 + M2.T) / 2, rng.standard_normal(n)


def sync():
    return dask.config.set(scheduler="sync")


# --- defect 1: an opaque operator over another matrix -------------------------------------


@pytest.mark.parametrize("name", SOLVE)
def test_an_operator_over_another_matrix_is_refused(tmp_path, name):
    M1, M2, b = two_matrices()
    path = tmp_path / "state.npz"
    with sync():
        SOLVE[name](spla.aslinearoperator(M1), b, maxiter=2, checkpoint=path)
        before = path.read_bytes()
        with pytest.raises(CheckpointError, match=r"another problem.*\bA\b.*delete"):
            SOLVE[name](spla.aslinearoperator(M2), b, checkpoint=path)
    assert path.read_bytes() == before  # nothing lost


@pytest.mark.parametrize("name", SOLVE)
def test_the_same_operator_resumes_bit_for_bit(tmp_path, name):
    M1, _, b = two_matrices()
    path = tmp_path / "state.npz"
    with sync():
        full = SOLVE[name](spla.aslinearoperator(M1), b, maxiter=60)
        SOLVE[name](spla.aslinearoperator(M1), b, maxiter=5, checkpoint=path)
        # a new operator object over an equal copy of M1: the same problem
        resumed = SOLVE[name](spla.aslinearoperator(M1.copy()), b, maxiter=60, checkpoint=path)
    assert full.itn > 5
    assert (resumed.itn, resumed.istop) == (full.itn, full.istop)
    np.testing.assert_array_equal(resumed.x, full.x)


def test_after_the_refusal_a_fresh_path_solves_the_new_problem(tmp_path):
    M1, M2, b = two_matrices()
    with sync():
        dl.cg(spla.aslinearoperator(M1), b, maxiter=2, checkpoint=tmp_path / "a.npz")
        with pytest.raises(CheckpointError):
            dl.cg(spla.aslinearoperator(M2), b, checkpoint=tmp_path / "a.npz")
        res = dl.cg(spla.aslinearoperator(M2), b, rtol=1e-13, maxiter=300,
                    checkpoint=tmp_path / "b.npz")  # fmt: skip
    assert res.istop == 1
    np.testing.assert_allclose(res.x, np.linalg.solve(M2, b), rtol=1e-9)


class Counting(spla.LinearOperator):
    """``M``'s products, counted; ``noise`` re-orders the sum (rounding-level changes)."""

    def __init__(self, M, reorder=False):
        super().__init__(dtype=np.float64, shape=M.shape)
        self.M, self.reorder, self.calls = M, reorder, 0

    def _matvec(self, x):
        self.calls += 1
        if self.reorder:  # the same products summed in another order
            return (self.M[:, ::-1] * x.ravel()[::-1]).sum(axis=1)
        return self.M @ x.ravel()

    def _rmatvec(self, y):
        self.calls += 1
        if self.reorder:
            return (self.M[::-1].T * y.ravel()[::-1]).sum(axis=1)
        return self.M.T @ y.ravel()


def test_the_probe_tolerates_rounding_but_not_a_small_change(tmp_path):
    M1, _, b = two_matrices()
    path = tmp_path / "state.npz"
    with sync():
        dl.lsqr(Counting(M1), b, maxiter=3, checkpoint=path)
        # the same matrix summed in another order: rounding differs, resumed
        res = dl.lsqr(Counting(M1, reorder=True), b, maxiter=4, checkpoint=path)
        assert res.itn == 4
        near = M1.copy()
        near[3, 7] *= 1 + 1e-6  # one entry changed in its 6th digit: another matrix
        with pytest.raises(CheckpointError, match="probe vectors differ"):
            dl.lsqr(Counting(near), b, checkpoint=path)


@pytest.mark.parametrize("name", SOLVE)
def test_the_probe_costs_one_matvec_and_one_rmatvec(tmp_path, name):
    M1, _, b = two_matrices()
    with sync():
        plain, probed, named = Counting(M1), Counting(M1), Counting(M1)
        SOLVE[name](plain, b, maxiter=4)
        SOLVE[name](probed, b, maxiter=4, checkpoint=tmp_path / "p.npz")
        SOLVE[name](named, b, maxiter=4, checkpoint=tmp_path / "n.npz", fingerprint="M1")
    assert probed.calls == plain.calls + 2
    assert named.calls == plain.calls  # fingerprint=: no probe


def test_an_explicit_fingerprint_identifies_the_operator(tmp_path):
    M1, M2, b = two_matrices()
    path = tmp_path / "state.npz"
    with sync():
        full = dl.cg(spla.aslinearoperator(M1), b, rtol=1e-12, maxiter=60)
        dl.cg(spla.aslinearoperator(M1), b, rtol=1e-12, maxiter=5, checkpoint=path,
              fingerprint=("ratings", 3))  # fmt: skip
        resumed = dl.cg(spla.aslinearoperator(M1), b, rtol=1e-12, maxiter=60, checkpoint=path,
                        fingerprint=("ratings", 3))  # fmt: skip
        np.testing.assert_array_equal(resumed.x, full.x)
        with pytest.raises(CheckpointError, match=r"fingerprint=\[\"ratings\", 4\]"):
            dl.cg(spla.aslinearoperator(M1), b, rtol=1e-12, checkpoint=path,
                  fingerprint=("ratings", 4))  # fmt: skip
        with pytest.raises(CheckpointError, match="by its products with the probe vectors"):
            dl.cg(spla.aslinearoperator(M1), b, rtol=1e-12, checkpoint=path)  # has fingerprint=
        # a promise: the same fingerprint resumes whatever the operator holds
        promised = dl.cg(spla.aslinearoperator(M2), b, rtol=1e-12, maxiter=60, checkpoint=path,
                         fingerprint=("ratings", 3))  # fmt: skip
    assert promised.itn == full.itn


@pytest.mark.parametrize("bad", [["a list"], {"a": 1}, 1.5, object(), True])
def test_a_fingerprint_of_another_type_is_refused_before_any_graph(
    tmp_path, no_graph_no_compute, bad
):
    M1, _, b = two_matrices()
    with pytest.raises(dl.errors.ParameterError, match="fingerprint must be a str"):
        dl.lsqr(M1, b, checkpoint=tmp_path / "s.npz", fingerprint=bad)


# --- a DRM / Dask operand: its token, no extra pass ----------------------------------------


def test_a_drm_is_identified_by_its_token_without_an_extra_pass(tmp_path, monkeypatch):
    from dlinalg.solvers._operator import RowOperator

    calls = []
    for method in ("fused", "matvec", "rmatvec", "reduce_blocks"):
        original = getattr(RowOperator, method)

        def counted(self, *args, _original=original, _name=method, **kw):
            calls.append(_name)
            return _original(self, *args, **kw)

        monkeypatch.setattr(RowOperator, method, counted)
    M1, _, b = two_matrices()
    with sync():
        dl.lsqr(dl.from_array(M1, chunks=10), b, maxiter=4)
        plain, calls[:] = list(calls), []
        dl.lsqr(dl.from_array(M1, chunks=10), b, maxiter=4, checkpoint=tmp_path / "s.npz")
    assert calls == plain


def test_a_drm_over_another_matrix_is_refused_before_any_graph(tmp_path, request):
    M1, M2, b = two_matrices()
    path = tmp_path / "state.npz"
    with sync():
        dl.cg(dl.from_array(M1, chunks=10), b, maxiter=2, checkpoint=path)
    A2 = dl.from_array(M2, chunks=10)
    request.getfixturevalue("no_graph_no_compute")  # from here on, nothing may compute
    with pytest.raises(CheckpointError, match=r"another problem: A \(its graph token differs"):
        dl.cg(A2, b, checkpoint=path)
    with pytest.raises(CheckpointError, match=r"another problem: b \(the right-hand side\)"):
        dl.cg(A2, b + 1, checkpoint=path)


# --- the saved state is what the checkpoint checks ------------------------------------------


@pytest.mark.parametrize("name", SOLVE)
@pytest.mark.parametrize("operand", ["drm", "operator"])
def test_each_solver_saves_the_layout_the_checkpoint_checks(tmp_path, name, operand):
    from dlinalg.solvers.checkpoint import STATES, check_file

    M1, _, b = two_matrices()
    A = dl.from_array(M1, chunks=10) if operand == "drm" else spla.aslinearoperator(M1)
    with sync():
        SOLVE[name](A, b, maxiter=3, checkpoint=tmp_path / "s.npz")
    header, arrays = check_file(tmp_path / "s.npz", name)
    layout = STATES[name]
    assert set(header["scalars"]) == {"itn", "istop", *layout.integers, *layout.scalars}
    assert set(arrays) == set(layout.arrays)
    assert header["problem"]["A"]["kind"] == ("graph" if operand == "drm" else "probe")


# --- defect 2: the whole file is checked before any pass -------------------------------------


def _unsigned(header, arrays):
    """The file as written, with ``header`` stored as is (its checksum not updated)."""
    buf = io.BytesIO()
    np.savez(buf, __header__=np.array(json.dumps(header)), **arrays)
    return buf.getvalue()


def _signed(header, arrays):
    """A file with a valid checksum over ``header`` and ``arrays`` (a consistent writer's bug)."""
    return C._encode({k: v for k, v in header.items() if k != "sha256"}, arrays)


def _edit(*keys, value=None, drop=False):
    """Re-signed file with ``header[k1][k2]...`` set to ``value`` (or dropped)."""

    def make(header, arrays, raw):
        obj = header
        for k in keys[:-1]:
            obj = obj[k]
        if drop:
            del obj[keys[-1]]
        else:
            obj[keys[-1]] = value
        return _signed(header, arrays)

    return make


def _array(name, new=None, drop=False, signed=True):
    def make(header, arrays, raw):
        if drop:
            del arrays[name]
        else:
            arrays[name] = new(arrays[name])
        return (_signed if signed else _unsigned)(header, arrays)

    return make


def _flip(member, where=0.5):
    """Flip one byte inside ``member``'s stored bytes (the zip's CRC-32 catches it)."""

    def make(header, arrays, raw):
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            info = zf.getinfo(member + ".npy")
        start = info.header_offset
        name_len, extra_len = struct.unpack("<HH", raw[start + 26 : start + 30])
        data = start + 30 + name_len + extra_len
        pos = data + int(info.compress_size * where)
        out = bytearray(raw)
        out[pos] ^= 0x01
        return bytes(out)

    return make


def _whole_header(value):
    return lambda header, arrays, raw: _unsigned(value(header), arrays)


def _bump_alfa(header, arrays, raw):
    header["scalars"]["alfa"] = np.nextafter(header["scalars"]["alfa"], 2.0)
    return _unsigned(header, arrays)  # a value changed, checksum not updated


# one row per corruption: (id, how the file is damaged, what the error must name)
DAMAGE = [
    ("list header", _whole_header(lambda h: [h]), "header should be a JSON object, got a list"),
    ("header not JSON", lambda h, a, r: _unsigned_text("{'format': 2", a), "not valid JSON"),
    ("no header", lambda h, a, r: _unsigned_text(None, a), "no '__header__' member"),
    ("missing format", _edit("format", drop=True), "no field 'format'"),
    ("format 1 file", _edit("format", value=1), r"older dlinalg \(format 1"),
    ("future format", _edit("format", value=3), "'format' is 3"),
    (
        "missing sha256",
        _whole_header(lambda h: {k: v for k, v in h.items() if k != "sha256"}),
        "no field 'sha256'",
    ),
    ("missing solver", _edit("solver", drop=True), "no field 'solver'"),
    ("missing shape", _edit("problem", "shape", drop=True), "no field 'problem.shape'"),
    (
        "shape as text",
        _edit("problem", "shape", value="40x12"),
        "'problem.shape' should be a list, got str",
    ),
    (
        "shape of 3",
        _edit("problem", "shape", value=[40, 12, 1]),
        "'problem.shape' should be 2 counts",
    ),
    ("missing b", _edit("problem", "b", drop=True), "no field 'problem.b'"),
    ("params a list", _edit("problem", "params", value=[]), "'problem.params' should be"),
    ("missing A", _edit("problem", "A", drop=True), "no field 'problem.A'"),
    ("unknown A kind", _edit("problem", "A", value={"kind": "magic"}), "problem.A.kind"),
    (
        "short probe",
        _edit(
            "problem",
            "A",
            value={"kind": "probe", "type": "x", "Av": [1.0], "Atw": [1.0], "norms": [1.0, 1.0]},
        ),
        "'problem.A.Av' should be 16 numbers",
    ),
    ("missing scalars", _edit("scalars", drop=True), "no field 'scalars'"),
    ("scalars a list", _edit("scalars", value=[1, 2]), "'scalars' should be an object"),
    ("missing scalar", _edit("scalars", "alfa", drop=True), "no field 'scalars.alfa'"),
    ("itn as text", _edit("scalars", "itn", value="2"), "'scalars.itn' should be an int"),
    ("alfa as text", _edit("scalars", "alfa", value="1.0"), "'scalars.alfa' should be a"),
    ("negative itn", _edit("scalars", "itn", value=-1), "'scalars.itn' is negative"),
    ("istop out of range", _edit("scalars", "istop", value=12), "'scalars.istop' is 12"),
    ("extra scalar", _edit("scalars", "gamma", value=1.0), r"unexpected entries \['gamma'"),
    ("missing array", _array("u_raw", drop=True), "no array 'u_raw'"),
    ("x too short", _array("x", lambda x: x[:-1]), r"array 'x' has shape \(11,\)"),
    ("x as a matrix", _array("x", lambda x: x[:, None]), r"array 'x' has shape \(12, 1\)"),
    ("x as float32", _array("x", lambda x: x.astype(np.float32)), "array 'x' .* dtype float32"),
    ("u of length n", _array("u_raw", lambda u: u[:12]), r"array 'u_raw' .* m=40, n=12"),
    ("truncated file", lambda h, a, r: r[: len(r) // 2], "corrupted"),
    ("garbage", lambda h, a, r: b"not a checkpoint", "not a readable .npz archive"),
    ("flipped byte in header", _flip("__header__"), "member '__header__' is unreadable"),
    ("flipped byte in x", _flip("x", 0.9), "member 'x' is unreadable"),
    ("changed header value", _bump_alfa, "checksum"),
    ("changed array value", _array("x", lambda x: x + 1e-12, signed=False), "checksum"),
]


def _unsigned_text(text, arrays):
    buf = io.BytesIO()
    extra = {} if text is None else {"__header__": np.array(text)}
    np.savez(buf, **extra, **arrays)
    return buf.getvalue()


@pytest.fixture
def saved_lsqr(tmp_path):
    """An LSQR checkpoint of a 40 x 12 problem after 2 iterations: (A, b, path, counting op)."""
    rng = np.random.default_rng(3)
    A, b = rng.standard_normal((40, 12)), rng.standard_normal(40)
    path = tmp_path / "state.npz"
    with sync():
        dl.lsqr(dl.from_array(A, chunks=10), b, maxiter=2, checkpoint=path)
        dl.lsqr(Counting(A), b, maxiter=2, checkpoint=tmp_path / "op.npz")
    return dl.from_array(A, chunks=10), Counting(A), b, path, tmp_path / "op.npz"


@pytest.mark.parametrize("operand", ["drm", "operator"])
@pytest.mark.parametrize(("damage", "match"), [row[1:] for row in DAMAGE],
                         ids=[row[0] for row in DAMAGE])  # fmt: skip
def test_a_damaged_checkpoint_is_refused_before_any_pass(
    saved_lsqr, request, operand, damage, match
):
    drm, op, b, drm_path, op_path = saved_lsqr
    A, path = (drm, drm_path) if operand == "drm" else (op, op_path)
    raw = path.read_bytes()
    with np.load(path) as f:
        header = json.loads(str(f["__header__"]))
        arrays = {k: f[k] for k in f.files if k != "__header__"}
    damaged = damage(header, arrays, raw)
    path.write_bytes(damaged)
    request.getfixturevalue("no_graph_no_compute")  # no graph, no compute from here on
    with pytest.raises(CheckpointError, match=match) as err:
        dl.lsqr(A, b, checkpoint=path)
    assert str(path) in str(err.value)
    assert "delete it" in str(err.value)
    assert op.calls == 0  # not one product with A either
    assert path.read_bytes() == damaged  # nothing deleted or rewritten


def test_the_checksum_covers_the_header(saved_lsqr):
    _, _, _, path, _ = saved_lsqr
    with np.load(path) as f:
        header = json.loads(str(f["__header__"]))
        arrays = {k: f[k] for k in f.files if k != "__header__"}
    assert header["format"] == C.FORMAT
    assert header["sha256"] == C._digest(header, arrays)
    header["problem"]["params"]["damp"] = 0.5  # a consistent file of another problem...
    assert C._digest(header, arrays) != header["sha256"]  # ...needs a new checksum


def test_cg_probes_an_operator_preconditioner_too(tmp_path):
    M1, M2, b = two_matrices()
    A = M1 + 5 * np.eye(len(b))
    path = tmp_path / "state.npz"
    P1, P2 = np.diag(1 / np.diag(M1)), np.diag(1 / np.diag(M2))
    with sync():
        full = dl.cg(A, b, rtol=1e-12, M=spla.aslinearoperator(P1))
        dl.cg(A, b, rtol=1e-12, M=spla.aslinearoperator(P1), maxiter=3, checkpoint=path)
        with pytest.raises(CheckpointError, match="another problem: parameter M"):
            dl.cg(A, b, rtol=1e-12, M=spla.aslinearoperator(P2), checkpoint=path)
        resumed = dl.cg(A, b, rtol=1e-12, M=spla.aslinearoperator(P1.copy()), checkpoint=path)
    assert full.itn > 3
    assert resumed.itn == full.itn
    np.testing.assert_array_equal(resumed.x, full.x)


def test_lsqr_with_calc_var_resumes_bit_for_bit(tmp_path):
    """Review finding: the optional ``var`` array made the file 'corrupted' on resume."""
    M1, _, b = two_matrices()
    path = tmp_path / "var.npz"
    with sync():
        full = dl.lsqr(M1, b, maxiter=60, calc_var=True)
        dl.lsqr(M1, b, maxiter=5, calc_var=True, checkpoint=path)
        resumed = dl.lsqr(M1, b, maxiter=60, calc_var=True, checkpoint=path)
    assert (resumed.itn, resumed.istop) == (full.itn, full.istop)
    np.testing.assert_array_equal(resumed.x, full.x)
    np.testing.assert_array_equal(resumed.var, full.var)
