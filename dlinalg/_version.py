"""dlinalg's version, in the foundation layer: :func:`dlinalg.connect` compares it with the workers'."""

__version__ = "0.1.0"
