"""scikit-learn's estimator checks on the recommenders, with the failures they must have.

The recommenders are unsupervised estimators on interaction counts: their
tags say so (``input_tags.sparse``, ``input_tags.positive_only`` for counts),
and every check passes except those listed below, each with its reason:

- complex input is a ``TypeError`` naming the dtype, and an object array is
  refused rather than converted: dlinalg's input boundary, the same for every
  entry point (scikit-learn's checks expect a ``ValueError`` and a conversion);
- the log-likelihood ratio models (``ItemSimilarity``, ``RowSimilarity``) count
  interactions, so they refuse the non-integer floats scikit-learn's checks
  generate, with a ``ValueError`` naming the first one (as Mahout's counts are
  integers); the checks that feed such data cannot pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from dlinalg.models import ALS, CosineSimilarity, ItemSimilarity, RowSimilarity
from sklearn.utils.estimator_checks import parametrize_with_checks

INPUT_BOUNDARY = {
    "check_complex_data": "complex input is a TypeError naming the dtype (dlinalg's boundary)",
    "check_dtype_object": "object arrays are refused with a TypeError, not converted",
}

#: The checks that fit the LLR models on scikit-learn's non-integer floats.
NON_INTEGER_DATA = [
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
]


def expected_failures(estimator) -> dict[str, str]:
    failures = dict(INPUT_BOUNDARY)
    if isinstance(estimator, ItemSimilarity | RowSimilarity):
        reason = "the LLR counts interactions: non-integer floats are refused, naming one"
        failures.update(dict.fromkeys(NON_INTEGER_DATA, reason))
    return failures


@parametrize_with_checks(
    [ALS(2, iterations=2), CosineSimilarity(), ItemSimilarity(), RowSimilarity()],
    expected_failed_checks=expected_failures,
)
def test_scikit_learn_checks(estimator, check):
    check(estimator)


def test_the_tags_say_what_the_input_is():
    assert ALS().__sklearn_tags__().input_tags.positive_only
    assert not ALS(implicit=False).__sklearn_tags__().input_tags.positive_only  # ratings
    for est in (ALS(), CosineSimilarity(), ItemSimilarity(), RowSimilarity()):
        assert est.__sklearn_tags__().input_tags.sparse, type(est).__name__


@pytest.mark.parametrize("est", [ALS(2, iterations=2), CosineSimilarity(), RowSimilarity()],
                         ids=lambda e: type(e).__name__)  # fmt: skip
def test_fit_takes_and_ignores_y(est):
    X = np.array([[1, 0, 2], [0, 1, 1], [3, 1, 0]], dtype=float)
    assert est.fit(X, None) is est
    if not isinstance(est, RowSimilarity):  # its features are the rows' columns, not kept
        assert est.n_features_in_ == 3
