"""Labels never change or pair silently.

Labels that numpy would coerce (``[1, "a"]`` to strings) or that a set would
mis-count (NaN) are refused, and two labelled operands are only combined when
equal labels meet (Mahout joins ``A.t %*% B`` by key; dlinalg pairs by
position, so different labels are refused with the way to align them).
"""

from __future__ import annotations

import numpy as np
import pytest

import dlinalg as dl

# (labels, what must happen) — labels numpy would coerce or sets would mis-count
LABEL_CASES = [
    ([1, "a"], "mix strings and numbers"),  # numpy made this ('1', 'a') silently
    (["1", 1], "mix strings and numbers"),  # two labels that print alike
    ([float("nan"), float("nan")], "NaN"),  # NaN != NaN passed the uniqueness check
    (["x", "y", "x"], "'x' appears more than once"),
]


@pytest.mark.parametrize(("labels", "message"), LABEL_CASES)
def test_labels_that_would_silently_change_are_refused(labels, message):
    with pytest.raises(dl.errors.LabelError, match=message):
        dl.from_array(np.ones((2, len(labels))), col_labels=labels)


def test_numpy_scalar_labels_become_python_scalars():
    A = dl.from_array(np.ones((2, 2)), col_labels=[np.int64(1), 2])
    assert A.col_labels == (1, 2)
    assert all(type(x) is int for x in A.col_labels)


# Mahout's A.t %*% B joins rows by key; dlinalg pairs by position, so labels
# that differ must be refused, never paired silently (issue 13, defect 6).
_ROWS = np.arange(6.0).reshape(3, 2)


def _labelled(rows=None, cols=None):
    return dl.from_array(_ROWS, row_labels=rows, col_labels=cols)


MISMATCHED = [
    ("atb", lambda A, B: A.T @ B, ["0", "1", "2"], ["a", "b", "c"]),  # the case
    ("crossprod", lambda A, B: dl.crossprod(A, B), ["0", "1", "2"], ["a", "b", "c"]),
    ("add", lambda A, B: A + B, ["0", "1", "2"], ["0", "2", "1"]),  # same keys, other order
    ("cbind", lambda A, B: dl.cbind(A, B), ["x", "y", "z"], ["x", "y", "w"]),
]


@pytest.mark.parametrize(
    ("op", "expr", "left", "right"), MISMATCHED, ids=[m[0] for m in MISMATCHED]
)
def test_operands_with_different_labels_are_refused(op, expr, left, right, request):
    A, B = _labelled(rows=left), _labelled(rows=right)
    request.getfixturevalue("no_graph_no_compute")  # from here on, no graph may start
    with pytest.raises(dl.errors.LabelError, match="labels differ"):
        expr(A, B)


def test_rbind_refuses_different_column_labels():
    with pytest.raises(dl.errors.LabelError, match="columns by position"):
        dl.rbind(_labelled(cols=["p", "q"]), _labelled(cols=["q", "p"]))


def test_reordering_by_labels_makes_the_join_explicit():
    A = _labelled(rows=["0", "1", "2"])
    B = dl.from_array(_ROWS[[2, 0, 1]], row_labels=["2", "0", "1"])
    got = (A.T @ B[list(A.row_labels), :]).compute(scheduler="sync")
    np.testing.assert_array_equal(got, _ROWS.T @ _ROWS)
    # one side unlabelled: positional, as documented
    np.testing.assert_array_equal((A.T @ _labelled()).compute(scheduler="sync"), _ROWS.T @ _ROWS)


def test_a_broadcast_operand_keeps_its_own_labels():
    """A 1-row (or 1-column) operand broadcasts: only an axis both span is compared."""
    X = np.arange(8.0).reshape(4, 2)
    A = dl.from_array(X, row_labels=list("abcd"), col_labels=["x", "y"])
    got = (A - A[[0], :]).compute(scheduler="sync")
    np.testing.assert_array_equal(got, X - X[[0], :])
    got = (A - A[:, ["x"]]).compute(scheduler="sync")
    np.testing.assert_array_equal(got, X - X[:, [0]])
