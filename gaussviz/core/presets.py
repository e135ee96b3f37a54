"""Named starting points, each a lesson from the seed question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .settings import STEP_AXES, EstimatorSettings, Settings, StartSettings, TargetSettings, ViewSettings
from .validation import did_you_mean

#: the 2-D target of docs/MATH.md: eigenvalues about 0.21 and 1.29
ILL_COV = [[1.0, 0.48], [0.48, 0.5]]


#: what a preset's event is: the first chain leaves the PD cone ("diverge"), the estimate
#: settles ("converge": KL of every running chain below ``Event.kl``), a chain stays stuck
#: ("crawl": its Sigma_11 still within 5 % of the start), a chain drifts off ("lag": KL of
#: chain ``Event.chain`` above ``Event.kl``), or a chain's Polyak-Ruppert average is close while
#: the chain itself is not ("average": chain ``Event.chain``'s averaged KL below ``Event.kl``,
#: its own KL above)
EVENT_KINDS = ("diverge", "converge", "crawl", "lag", "average")


@dataclass(frozen=True)
class Event:
    """The moment a preset's lesson shows, at its seed: what happens, and at which update."""

    kind: str
    step: int
    text: str
    kl: float = 0.0
    chain: int = 0


@dataclass(frozen=True)
class Preset:
    """A lesson: its settings (``make``), a line and a paragraph of text, and how to watch it:
    ``pace`` updates per second (its event then happens 3-20 s after the start) and the step
    axis the trajectory plots start with."""

    name: str
    summary: str
    explanation: str
    make: Callable[[], Settings]
    event: Event = field(default_factory=lambda: Event("converge", 1000, ""))
    #: updates per second (0: as fast as possible)
    pace: float = 100.0
    step_axis: str = "linear"
    step_window: int = 2000

    @property
    def event_seconds(self) -> float:
        """When the event happens at the preset's pace (seconds after the start)."""
        return self.event.step / self.pace if self.pace > 0 else 0.0

    def watch_text(self) -> str:
        """"Watch: ..." with the update and, at the pace, the second it happens."""
        when = f"update {self.event.step:,}"
        if self.pace > 0:
            when += f", about {self.event_seconds:.0f} s in at {self.pace:,.0f} updates/s"
        return f"Watch: {self.event.text} ({when})."


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


def _with(s: Settings, **est) -> Settings:
    for k, v in est.items():
        setattr(s.estimator, k, v)
    return s


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
           "about 1000 updates, and sample noise keeps it jittering around 1.", lambda: _seed(),
           event=Event("converge", 1000,
                       "the covariance settles into its band of sample noise around 1 within a few time "
                       "constants of ~1,000 updates", kl=0.01),
           pace=200.0),
    Preset("wrong-sign-descent", "log L with descent: walks away from the MLE",
           "Gradient DEscent on log L lowers the likelihood: Sigma shrinks towards zero and leaves "
           "the positive-definite cone.", lambda: _seed(direction="descent"),
           event=Event("diverge", 2022, "Sigma shrinks to zero and leaves the positive-definite cone"), pace=300.0),
    Preset("wrong-sign-neg-ascent", "-log L with ascent: walks away from the MLE",
           "Gradient ascent on -log L is the same mistake the other way round: it maximizes "
           "the NEGATIVE log-likelihood and diverges.", lambda: _seed(objective="neg-loglik"),
           event=Event("diverge", 2022, "Sigma shrinks to zero and leaves the positive-definite cone"), pace=300.0),
    Preset("start-too-large", "Sigma_0 = 100: the step scales like 1/Sigma^2, so it crawls",
           "With Sigma far too large the gradient is tiny (~ alpha / Sigma^2): after 1e5 samples "
           "Sigma is still about 99. Not divergence, a crawl.", lambda: _start(100.0),
           event=Event("crawl", 100_000, "after 100,000 updates Sigma is still about 99"), pace=10_000.0),
    Preset("start-too-small", "Sigma_0 = 1e-4: the first steps are huge, it blows up",
           "With Sigma far too small the gradient ~ r^2/Sigma^2 is enormous: the first update throws "
           "Sigma from 1e-4 to about 1e3-1e5 and the mean by tens of units (or, for a sample very "
           "close to the mean, out of the positive-definite cone). From up there the step ~ "
           "alpha/Sigma^2 is tiny: it blows up, then crawls.",
           lambda: _start(1e-4),
           event=Event("crawl", 100_000,
                       "the very first update throws Sigma from 1e-4 up to ~1,600 (already there at update 1, "
                       "the left edge of the log step axis); 100,000 updates later it has hardly come down"),
           pace=10_000.0, step_axis="log"),
    Preset("ill-conditioned-covariance", "2-D target, eigenvalues 0.21 and 1.29, covariance, alpha = 0.02",
           "Noise drives the divergence: one update can lower the smallest eigenvalue by "
           "alpha/(2 l_min), so the estimate leaves the PD cone far below the deterministic bound "
           "4 l_min^2 = 0.17.", lambda: _ill("covariance"),
           event=Event("diverge", 85, "the smallest eigenvalue is pushed below zero by one noisy sample"), pace=20.0),
    Preset("ill-conditioned-log-cholesky", "same target and alpha, log-Cholesky: converges",
           "Stored as a Cholesky factor with a log diagonal, Sigma is positive definite by "
           "construction: the same noise cannot push it out of the cone.", lambda: _ill("log-cholesky"),
           event=Event("converge", 300,
                       "the same noise that threw the covariance rule out of the cone at update 85 only "
                       "jiggles it: KL falls below 0.1", kl=0.1),
           pace=50.0),
    Preset("ill-conditioned-natural", "same target and alpha, natural gradient: converges",
           "The Fisher-preconditioned step is an exponential moving average of r r^T: always positive "
           "definite for alpha < 1, and its step no longer scales like inv(Sigma)^2.",
           lambda: _ill("natural"),
           event=Event("converge", 300,
                       "the same noise that threw the covariance rule out of the cone at update 85 only "
                       "jiggles it: KL falls below 0.1", kl=0.1),
           pace=50.0),
    Preset("asymmetry-drift", "2-D, covariance without symmetrize at alpha = 0.002: drifts asymmetric",
           "inv(Sigma) in floating point is not exactly symmetric, and the seed's update amplifies the "
           "antisymmetric part by 1 + alpha/(2 l_i l_j) per update: Sigma stops being symmetric "
           "within about 10,000 updates. Turn on symmetrize to cure it.",
           lambda: _ill("covariance", alpha=0.002, symmetrize=False),
           event=Event("diverge", 7262, "the asymmetry passes 1e-6 and the run stops"), pace=1000.0),
    Preset("what-am-i-missing", "the five parameterizations side by side on one 2-D stream",
           "All five update rules on the same samples at alpha = 0.02. covariance (the seed's: its step "
           "scales like inv(Sigma)^2) leaves the positive-definite cone within a few hundred updates; "
           "cholesky's diagonal can cross zero (about half the seeds within 20,000 updates); precision "
           "(step ~ Sigma), log-Cholesky and natural converge.", _compare_all,
           event=Event("diverge", 85,
                       "covariance (blue) leaves the positive-definite cone while the others carry on"),
           pace=20.0),
    Preset("old-faithful", "real data: Old Faithful eruptions (272 x 2), standardized, three update rules",
           "Eruption length and waiting time of the Old Faithful geyser, streamed row by row in a reshuffled "
           "order, each column standardized; the truth is the mean and covariance of all 272 rows. The data "
           "are bimodal (short and long eruptions) and strongly correlated (0.9), so the best single Gaussian "
           "is a thin ellipse over both clusters. natural converges to it and log-Cholesky follows it noisily; "
           "covariance, with the small eigenvalue 0.1, leaves the positive-definite cone within a few hundred "
           "updates. Untick 'standardize' to see units matter: in minutes (variances 1.3 and 184) "
           "log-Cholesky and covariance fail at once and only natural, which has no units, converges.",
           lambda: _target_kind("csv", {"dataset": "old-faithful", "standardize": True},
                                [("natural", 0.02, "constant"), ("log-cholesky", 0.02, "constant"),
                                 ("covariance", 0.02, "constant")], start_mean=0.0),
           event=Event("diverge", 216, "covariance leaves the positive-definite cone"), pace=50.0),
    Preset("heavy-tails", "Student-t with 3 degrees of freedom: same moments, rare huge samples",
           "The ill-conditioned 2-D target's mean and covariance, but Student-t with df = 3: the fourth moment "
           "is infinite, so every few hundred samples one lands far out. At alpha = 0.005 covariance leaves the "
           "positive-definite cone after a few hundred to a few thousand updates (on the Gaussian with the same "
           "moments: about 10,000). log-Cholesky lasts far longer, but sooner or later one extreme sample "
           "throws it too (here after about 39,000 updates). natural, an average of r r^T, stays positive "
           "definite whatever the sample, yet each outlier kicks its estimate: watch its KL jump and recover.",
           lambda: _target_kind("student-t", {"df": 3.0},
                                [("covariance", 0.005, "constant"), ("log-cholesky", 0.005, "constant"),
                                 ("natural", 0.005, "constant")], seed=2),
           event=Event("diverge", 680, "an outlier throws covariance out of the positive-definite cone"), pace=100.0),
    Preset("misspecified-mixture", "two Gaussian clusters, one Gaussian model: the fit is their moments",
           "Samples from two equal Gaussian clusters 6 standard deviations apart, with the mean and covariance "
           "of the ill-conditioned target. A single Gaussian cannot fit two clusters: the maximum-likelihood fit "
           "is the mixture's mean and covariance, an ellipse over both clusters and the empty gap between them. "
           "natural and log-Cholesky converge to exactly that (KL against the moments goes small); the "
           "misspecification shows in the cloud, not in the estimate.",
           lambda: _target_kind("mixture", {"separation": 6.0, "weight": 0.5},
                                [("natural", 0.01, "constant"), ("log-cholesky", 0.01, "constant")]),
           event=Event("converge", 1000,
                       "both estimates settle on the ellipse over the two clusters: KL against the moments "
                       "below 0.1", kl=0.1),
           pace=100.0),
    Preset("drifting-target", "a drifting, turning target: constant alpha tracks it, 1/t falls behind",
           "The mean takes a random-walk step of 0.005 spreads per sample and the covariance turns 0.02 "
           "degrees per sample. natural at a constant alpha = 0.02 remembers about (2 - alpha)/alpha = 99 "
           "samples and tracks the target (KL stays near 0.03); natural with the inverse schedule and "
           "alpha = 0.5 is the running average of everything seen, so it lags ever further behind the mean and "
           "averages the turning ellipse into a round one (its KL grows).",
           lambda: _target_kind("drifting", {"drift_rate": 0.005, "rotation_rate": 0.02},
                                [("natural", 0.02, "constant"), ("natural", 0.5, "inverse")]),
           event=Event("lag", 3000,
                       "the 1/t average (the darker natural) falls behind the moving target: its KL passes "
                       "0.3 while constant alpha tracks it", kl=0.3, chain=1),
           pace=300.0, step_axis="window", step_window=3000),
    # Optimizers (issue 14). Numbers measured with `gaussviz run --preset ...` and the 10-seed
    # scripts of the closing note: seeds 0-9 of the same target, 20,000 updates.
    Preset("adam-on-the-seed", "Adam on the seed's covariance update: does per-entry normalisation keep "
                               "Sigma in the cone? Longer, not for ever",
           "The ill-conditioned 2-D target at alpha = 0.02, the seed's covariance update, symmetrized, but "
           "with Adam (beta1 0.9, beta2 0.999) turning the direction into the step. With plain sgd this rule "
           "leaves the positive-definite cone at update 85 (the ill-conditioned-covariance preset). Adam divides "
           "each entry's step by the root mean square of its own gradient, so the inv(Sigma)^2 scale that made "
           "one noisy sample fatal is gone: every entry moves by about alpha per update whatever Sigma is. "
           "Measured answer: it does NOT keep Sigma in the cone, it only delays the exit. The estimate settles "
           "(median KL 0.04 after update 1,000), but the normalised steps never shrink, so the smallest "
           "eigenvalue (true 0.21) keeps wandering: below 0.1 from update 6,300, down to 0.023, and out of the "
           "cone at update 10,682. Over seeds 0-9 in 20,000 updates: Adam left the cone in 2 of 10 (updates "
           "10,682 and 19,014), sgd in 10 of 10 (updates 79 to 1,818); at alpha = 0.05 Adam left in 8 of 10. "
           "Normalising per entry is not a constraint: only a parameterization (log-cholesky, natural, "
           "riemannian) keeps Sigma positive definite.",
           lambda: _with(_ill("covariance"), optimizer="adam"),
           event=Event("diverge", 10_682,
                       "after ~10,000 updates of wandering, the smallest eigenvalue crosses zero: Adam leaves the "
                       "cone too, 125 times later than sgd"),
           pace=1000.0),
    Preset("riemannian-wrong-sign", "riemannian with descent: always positive definite, still walks away",
           "The seed's 1-D setup with the sign wrong (descent on log L), on the riemannian rule: "
           "Sigma' = L expm(-alpha (inv(L) C inv(L)^T - I)) L^T, positive definite for every alpha and both "
           "signs. It never leaves the cone: in 1-D one update multiplies Sigma by exp(-alpha (r^2/Sigma - 1)) "
           "> 0. But the wrong sign makes the MLE a repeller, and the geometry cannot fix the direction: "
           "Sigma wanders near 1 for 2,100 updates, falls below 0.5 at update 2,115 and below 0.01 at 2,196, "
           "where r^2/Sigma is huge and each update shrinks it by exp(-alpha r^2/Sigma): 1.6e-9 at update 2,200, "
           "and at update 2,201 it underflows to 0, which gaussviz reports as exploded (condition number inf). "
           "The covariance rule with the same sign (wrong-sign-descent) leaves the cone at update 2,022. Staying "
           "in the cone is not the same as converging.",
           lambda: _seed(parameterization="riemannian", direction="descent"),
           event=Event("diverge", 2201,
                       "Sigma, positive at every update, collapses towards 0 and underflows: exploded"),
           pace=200.0, step_axis="log"),
    Preset("averaging-rescues-a-noisy-rate", "natural at a large constant alpha = 0.1: noisy; its "
                                             "Polyak-Ruppert average (dotted) is 100x closer",
           "A constant learning rate never stops listening to noise: natural at alpha = 0.1 remembers only "
           "about 20 samples, so its ellipse keeps jumping and its KL stays between 0.1 and 0.6 however long "
           "it runs. Polyak-Ruppert averaging keeps the mean of all the estimates so far (dotted ellipse and "
           "KL curve): the jumps average out and the average's KL falls like 1/t. Measured on this stream: at "
           "update 1,000 the chain's KL is 0.58, the average's 0.0056 (the exact running MLE's is shown "
           "grey); at 5,000, 0.16 against 0.0018. A small rate would converge too, but slowly; averaging gets "
           "the large rate's speed and a small rate's precision.",
           lambda: _with(_ill("natural", alpha=0.1), averaging=True),
           event=Event("average", 1000,
                       "the dotted averaged estimate is far closer than the jumping chain: its KL is below "
                       "0.02 while the chain's stays above", kl=0.02),
           pace=100.0),
]}


def get_preset(name: str) -> Settings:
    """A fresh Settings for a preset name, at its pace and step axis (ValueError listing the names
    otherwise)."""
    if name not in PRESETS:
        hint = did_you_mean(name, PRESETS) if isinstance(name, str) else ""
        raise ValueError(f"unknown preset {name!r}{hint} (one of: {', '.join(PRESETS)})")
    p = PRESETS[name]
    s = p.make()
    s.preset = name
    s.speed = float(p.pace)
    s.view = ViewSettings(step_axis=p.step_axis, step_window=int(p.step_window))
    return s.validate()


def _check_presets() -> None:
    for p in PRESETS.values():
        assert p.step_axis in STEP_AXES, p.name
        assert p.event.kind in EVENT_KINDS, p.name


_check_presets()
