"""The numerical core of gaussviz. It never imports Qt."""
from .estimator import BatchEstimator, Divergence, Estimator

__all__ = ["BatchEstimator", "Divergence", "Estimator"]
