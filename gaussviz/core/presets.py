"""Named starting points, each a lesson from the seed question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .settings import EstimatorSettings, Settings, StartSettings, TargetSettings

#: the 2-D target of MATH.md: eigenvalues about 0.21 and 1.29
ILL_COV = [[1.0, 0.48], [0.48, 0.5]]


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    explanation: str
    make: Callable[[], Settings]


def _seed(**est) -> Settings:
    e = EstimatorSettings(parameterization="covariance", alpha=0.002)
    for k, v in est.items():
        setattr(e, k, v)
    return Settings(target=TargetSettings(dim=1, mean=0.0, cov=[[1.0]], seed=0),
                    start=StartSettings(mean=0.0, cov_scale=1.0), estimator=e)


def _ill(param: str, alpha: float = 0.02, symmetrize: bool = True) -> Settings:
    return Settings(
        target=TargetSettings(dim=2, mean=[0.0, 0.0], cov=ILL_COV, seed=1),
        start=StartSettings(mean=[1.0, 1.0], cov_scale=1.0),
        estimator=EstimatorSettings(parameterization=param, alpha=alpha, symmetrize=symmetrize),
    )


def _start(scale: float) -> Settings:
    s = _seed()
    s.start.cov_scale = scale
    return s


def _compare_all() -> Settings:
    s = _ill("covariance", alpha=0.02, symmetrize=True)
    s.compare = [EstimatorSettings(parameterization=p, alpha=0.02, symmetrize=True)
                 for p in ("precision", "cholesky", "log-cholesky", "natural")]
    return s


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("seed-question", "the question as asked: d = 1, N(0, 1), covariance, alpha = 0.002",
           "The seed's setup with the sign right and a sensible start. It converges, slowly: "
           "the covariance error shrinks by 1 - alpha/(2 Sigma^2) per update, a time constant of "
           "about 1000 updates, and sample noise keeps it jittering around 1.", lambda: _seed()),
    Preset("wrong-sign-descent", "log L with descent: walks away from the MLE",
           "Gradient DEscent on log L lowers the likelihood: Sigma shrinks towards zero and leaves "
           "the positive-definite cone.", lambda: _seed(direction="descent")),
    Preset("wrong-sign-neg-ascent", "-log L with ascent: walks away from the MLE",
           "Gradient ascent on -log L is the same mistake the other way round: it maximizes "
           "the NEGATIVE log-likelihood and diverges.", lambda: _seed(objective="neg-loglik")),
    Preset("start-too-large", "Sigma_0 = 100: the step scales like 1/Sigma^2, so it crawls",
           "With Sigma far too large the gradient is tiny (~ alpha / Sigma^2): after 1e5 samples "
           "Sigma is still about 99. Not divergence, a crawl.", lambda: _start(100.0)),
    Preset("start-too-small", "Sigma_0 = 1e-4: the first steps are huge, it blows up",
           "With Sigma far too small the gradient ~ r^2/Sigma^2 is enormous: the first update throws "
           "Sigma from 1e-4 to about 1e3-1e5 and the mean by tens of units (or, for a sample very "
           "close to the mean, out of the positive-definite cone). From up there the step ~ "
           "alpha/Sigma^2 is tiny: it blows up, then crawls.",
           lambda: _start(1e-4)),
    Preset("ill-conditioned-covariance", "2-D target, eigenvalues 0.21 and 1.29, covariance, alpha = 0.02",
           "Noise drives the divergence: one update can lower the smallest eigenvalue by "
           "alpha/(2 l_min), so the estimate leaves the PD cone far below the deterministic bound "
           "4 l_min^2 = 0.17.", lambda: _ill("covariance")),
    Preset("ill-conditioned-log-cholesky", "same target and alpha, log-Cholesky: converges",
           "Stored as a Cholesky factor with a log diagonal, Sigma is positive definite by "
           "construction: the same noise cannot push it out of the cone.", lambda: _ill("log-cholesky")),
    Preset("ill-conditioned-natural", "same target and alpha, natural gradient: converges",
           "The Fisher-preconditioned step is an exponential moving average of r r^T: always positive "
           "definite for alpha < 1, and its step no longer scales like inv(Sigma)^2.",
           lambda: _ill("natural")),
    Preset("asymmetry-drift", "2-D, covariance without symmetrize at alpha = 0.002: drifts asymmetric",
           "inv(Sigma) in floating point is not exactly symmetric, and the seed's update amplifies the "
           "antisymmetric part by 1 + alpha/(2 l_i l_j) per update: Sigma stops being symmetric "
           "within about 10,000 updates. Turn on symmetrize to cure it.",
           lambda: _ill("covariance", alpha=0.002, symmetrize=False)),
    Preset("what-am-i-missing", "the five parameterizations side by side on one 2-D stream",
           "All five update rules on the same samples at alpha = 0.02. covariance (the seed's: its step "
           "scales like inv(Sigma)^2) leaves the positive-definite cone within a few hundred updates; "
           "cholesky's diagonal can cross zero (about half the seeds within 20,000 updates); precision "
           "(step ~ Sigma), log-Cholesky and natural converge.", _compare_all),
]}


def get_preset(name: str) -> Settings:
    """A fresh Settings for a preset name (ValueError listing the names otherwise)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    s = PRESETS[name].make()
    s.preset = name
    return s.validate()
