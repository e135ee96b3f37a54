"""Named starting points, each a lesson from the seed question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .settings import EstimatorSettings, Settings, StartSettings, TargetSettings
from .validation import did_you_mean

#: the 2-D target of docs/MATH.md: eigenvalues about 0.21 and 1.29
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


def _target_kind(kind: str, params: dict, ests: list[tuple[str, float, str]], seed: int = 0,
                 start_mean: float | list[float] = (1.0, 1.0)) -> Settings:
    """One stream from a non-Gaussian target (moments: the ill-conditioned ones), several estimators."""
    es = [EstimatorSettings(parameterization=p, alpha=a, schedule=sch, symmetrize=True) for p, a, sch in ests]
    mean0 = list(start_mean) if isinstance(start_mean, tuple) else start_mean
    target = TargetSettings(kind=kind, dim=2, mean=[0.0, 0.0], cov=ILL_COV, seed=seed, params=params)
    if kind == "csv":
        target = TargetSettings(kind="csv", dim=2, seed=seed, params=params)
    return Settings(target=target, start=StartSettings(mean=mean0, cov_scale=1.0), estimator=es[0], compare=es[1:])


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
    Preset("old-faithful", "real data: Old Faithful eruptions (272 x 2), standardized, three update rules",
           "Eruption length and waiting time of the Old Faithful geyser, streamed row by row in a reshuffled "
           "order, each column standardized; the truth is the mean and covariance of all 272 rows. The data "
           "are bimodal (short and long eruptions) and strongly correlated (0.9), so the best single Gaussian "
           "is a thin ellipse over both clusters. natural converges to it and log-Cholesky follows it noisily; "
           "covariance, with the small eigenvalue 0.1, leaves the positive-definite cone within a few hundred "
           "updates. Untick 'standardize' to see units matter: in minutes (variances 1.3 and 184) "
           "log-Cholesky and covariance fail at once and only natural, which has no units, converges.",
           lambda: _target_kind("csv", {"path": "old-faithful", "standardize": True},
                                [("natural", 0.02, "constant"), ("log-cholesky", 0.02, "constant"),
                                 ("covariance", 0.02, "constant")], start_mean=0.0)),
    Preset("heavy-tails", "Student-t with 3 degrees of freedom: same moments, rare huge samples",
           "The ill-conditioned 2-D target's mean and covariance, but Student-t with df = 3: the fourth moment "
           "is infinite, so every few hundred samples one lands far out. At alpha = 0.005 covariance leaves the "
           "positive-definite cone after a few hundred to a few thousand updates (on the Gaussian with the same "
           "moments: about 10,000). log-Cholesky lasts far longer, but sooner or later one extreme sample "
           "throws it too (here after about 39,000 updates). natural, an average of r r^T, stays positive "
           "definite whatever the sample, yet each outlier kicks its estimate: watch its KL jump and recover.",
           lambda: _target_kind("student-t", {"df": 3.0},
                                [("covariance", 0.005, "constant"), ("log-cholesky", 0.005, "constant"),
                                 ("natural", 0.005, "constant")], seed=2)),
    Preset("misspecified-mixture", "two Gaussian clusters, one Gaussian model: the fit is their moments",
           "Samples from two equal Gaussian clusters 6 standard deviations apart, with the mean and covariance "
           "of the ill-conditioned target. A single Gaussian cannot fit two clusters: the maximum-likelihood fit "
           "is the mixture's mean and covariance, an ellipse over both clusters and the empty gap between them. "
           "natural and log-Cholesky converge to exactly that (KL against the moments goes small); the "
           "misspecification shows in the cloud, not in the estimate.",
           lambda: _target_kind("mixture", {"separation": 6.0, "weight": 0.5},
                                [("natural", 0.01, "constant"), ("log-cholesky", 0.01, "constant")])),
    Preset("drifting-target", "a drifting, turning target: constant alpha tracks it, 1/t falls behind",
           "The mean takes a random-walk step of 0.005 spreads per sample and the covariance turns 0.02 "
           "degrees per sample. natural at a constant alpha = 0.02 remembers about (2 - alpha)/alpha = 99 "
           "samples and tracks the target (KL stays near 0.03); natural with the inverse schedule and "
           "alpha = 0.5 is the running average of everything seen, so it lags ever further behind the mean and "
           "averages the turning ellipse into a round one (its KL grows).",
           lambda: _target_kind("drifting", {"drift_rate": 0.005, "rotation_rate": 0.02},
                                [("natural", 0.02, "constant"), ("natural", 0.5, "inverse")])),
]}


def get_preset(name: str) -> Settings:
    """A fresh Settings for a preset name (ValueError listing the names otherwise)."""
    if name not in PRESETS:
        hint = did_you_mean(name, PRESETS) if isinstance(name, str) else ""
        raise ValueError(f"unknown preset {name!r}{hint} (one of: {', '.join(PRESETS)})")
    s = PRESETS[name].make()
    s.preset = name
    return s.validate()
