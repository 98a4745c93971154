"""models: scikit-learn style estimators built on dlinalg."""

__all__: list[str] = []
