"""dlinalg: distributed R-like matrix algebra on Dask."""
