"""scikit-learn's own estimator checks for the GLM estimators."""

from __future__ import annotations

import pytest
from dlinalg.models import ElasticNet, Lasso, LogisticRegression, PoissonRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks


# scikit-learn's own LogisticRegression also stops at max_iter=100 on the unscaled
# iris data of check_non_transformer_estimators_n_iter (its L-BFGS takes 111).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
# Lasso(warm_start=True): its fits keep the Gram moments between fits (refits on
# other data, clones, pickles and idempotence must not see them).
@parametrize_with_checks(
    [LogisticRegression(), Lasso(), Lasso(warm_start=True), ElasticNet(), PoissonRegressor()],
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
