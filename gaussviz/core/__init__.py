"""The numerical core of gaussviz. It never imports Qt."""
from .estimator import BatchEstimator, Divergence, Estimator
from .reference import RunningMLE
from .runloop import RunLoop
from .snapshot import Snapshot
from .sources import GaussianSource, SampleSource

__all__ = ["BatchEstimator", "Divergence", "Estimator", "GaussianSource", "RunLoop", "RunningMLE",
           "SampleSource", "Snapshot"]
