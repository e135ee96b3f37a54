"""The Marchenko–Pastur law: a density, its edges, and simulated spectra that follow it."""

import itertools

import numpy as np
import pytest
from scipy.integrate import quad

from gaussviz.core import mp
from gaussviz.core.mp import mp_data, pooled_eigs


def _mass(q, a, b, s2=1.0):
    lo, hi = mp.mp_edges(q, s2)
    a, b = max(a, lo), min(b, hi)
    if b <= a:
        return 0.0
    return quad(lambda x: float(mp.mp_density(x, q, s2)), a, b, limit=200)[0]


@pytest.mark.parametrize("q", [0.01, 0.1, 0.25, 0.5, 0.9, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("s2", [1.0, 3.5])
def test_density_integrates_to_one_with_the_atom(q, s2):
    lo, hi = mp.mp_edges(q, s2)
    assert lo == pytest.approx(s2 * (1 - np.sqrt(q)) ** 2) and hi == pytest.approx(s2 * (1 + np.sqrt(q)) ** 2)
    cont = _mass(q, lo, hi, s2)
    assert cont + mp.mp_atom(q) == pytest.approx(1.0, abs=1e-8)
    if q > 1:
        assert cont == pytest.approx(1.0 / q, abs=1e-8)
    # the mean of the law is s^2 (the trace of the sample covariance is unbiased)
    mean = quad(lambda x: x * float(mp.mp_density(x, q, s2)), lo, hi, limit=200)[0]
    assert mean == pytest.approx(s2, rel=1e-7)
    # zero outside the support
    assert np.all(mp.mp_density([lo - 1e-3, hi + 1e-3, -1.0], q, s2) == 0.0)


def test_bad_arguments():
    for q in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="q = d/n"):
            mp.mp_edges(q)
    with pytest.raises(ValueError, match="s\\^2"):
        mp.mp_density(1.0, 0.5, s2=0.0)
    with pytest.raises(ValueError, match="only 10 are available"):
        mp.window_eigs(np.zeros((10, 2)), 20, None, np.eye(2))


def _ks_and_hist(eigs, q):
    lo, hi = mp.mp_edges(q)
    e = np.sort(eigs)
    d = e.size
    cdf = np.array([_mass(q, lo, x) for x in e])
    ks = np.max(np.abs(cdf - (np.arange(1, d + 1) - 0.5) / d))
    counts, edges = np.histogram(e, bins=10, range=(lo, hi))
    hist = counts / d / np.diff(edges)
    want = np.array([_mass(q, a, b) for a, b in itertools.pairwise(edges)]) / np.diff(edges)
    return ks, np.max(np.abs(hist - want)), want.max()


def test_simulated_spectrum_matches_the_law_after_whitening():
    rng = np.random.default_rng(11)
    d, n = 200, 800
    A = rng.standard_normal((d, d)) / np.sqrt(d)
    cov = A @ A.T + 0.5 * np.eye(d)  # a far-from-identity truth: whitening must undo it
    mean = rng.standard_normal(d)
    Y = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T + mean
    eigs, q = mp.whitened_eigs(Y, mean, cov)
    assert q == pytest.approx(0.25)
    ks, hist_err, peak = _ks_and_hist(eigs, q)
    assert ks < 0.03
    assert peak == pytest.approx(0.84, abs=0.05)
    assert hist_err < 0.1  # each of 10 bins within 0.1 of the law's mean density over it
    lo, hi = mp.mp_edges(q)
    assert lo - 0.05 < eigs[0] < lo + 0.05 and hi - 0.1 < eigs[-1] < hi + 0.1
    # without the whitening, the spectrum is nothing like MP
    raw, _ = mp.whitened_eigs(Y, mean, np.eye(d))
    assert _ks_and_hist(raw, q)[0] > 0.2


def test_own_mean_costs_one_degree_of_freedom():
    rng = np.random.default_rng(3)
    Y = rng.standard_normal((101, 5)) + 7.0
    eigs, q = mp.whitened_eigs(Y, None, np.eye(5))
    assert q == pytest.approx(5 / 100)
    np.testing.assert_allclose(eigs, np.linalg.eigvalsh(np.cov(Y.T)))


def test_window_uses_the_last_n_samples():
    rng = np.random.default_rng(4)
    recent = rng.standard_normal((500, 3))
    recent[:-50] *= 100.0  # old samples: wildly different
    eigs, q = mp.window_eigs(recent, 50, np.zeros(3), np.eye(3))
    assert q == pytest.approx(3 / 50)
    assert eigs[-1] < 3.0
    np.testing.assert_allclose(eigs, np.linalg.eigvalsh(recent[-50:].T @ recent[-50:] / 50))


def test_natural_memory_is_the_ema_effective_sample_count():
    for a in (0.5, 0.1, 0.02):
        assert mp.natural_memory(a) == pytest.approx((2 - a) / a)
    # an EMA of iid unit-variance noise has variance a / (2 - a) = 1 / memory
    rng = np.random.default_rng(5)
    a = 0.05
    x = rng.standard_normal((20_000, 64))
    ema = np.zeros(64)
    vals = []
    for t in range(x.shape[0]):
        ema += a * (x[t] - ema)
        if t > 500 and t % 50 == 0:
            vals.append(ema.copy())
    assert np.var(np.array(vals)) * mp.natural_memory(a) == pytest.approx(1.0, rel=0.08)
    with pytest.raises(ValueError, match="alpha"):
        mp.natural_memory(2.5)


def test_entry_memories_follow_the_linearized_rates():
    ev = np.array([0.2, 2.0])
    shortest, longest = mp.entry_memories(0.02, ev, "covariance")
    assert shortest == pytest.approx((2 - 0.02 / 0.08) / (0.02 / 0.08))  # rate a / (2 l_min^2): 7 samples
    assert longest == pytest.approx((2 - 0.02 / 8) / (0.02 / 8))  # rate a / (2 l_max^2): 799 samples
    assert mp.entry_memories(0.02, ev, "natural") == pytest.approx((99.0, 99.0))


def test_explanation_is_specific_and_honest():
    text = mp.explanation(2, 100, 0.02, "covariance")
    assert "q = d/n = 0.02" in text and "0.737" in text and "1.3" in text
    assert "does not explain that divergence" in text and "sqrt(alpha/2)" in text
    text = mp.explanation(2, 100, 0.02, "natural")
    assert "(2 - alpha)/alpha = 99 samples" in text and "not a divergence" in text
    text = mp.explanation(50, 60)
    assert "close to singular" in text
    text = mp.explanation(100, 50)
    assert "q > 1" in text and "0.5 of the eigenvalues is exactly 0" in text
    assert "d = 1" in mp.explanation(1, 10, 0.002, "covariance")


def test_heavy_tails_break_the_law():
    """A Student-t target has the right covariance but not independent coordinates:
    its whitened spectrum spills far past both MP edges (the panel shows it)."""
    from gaussviz.core.targets import StudentTSource

    d, n = 200, 800
    src = StudentTSource(np.zeros(d), np.eye(d), df=5.0, seed=1)
    eigs, q = mp.whitened_eigs(src.sample(n), np.zeros(d), np.eye(d))
    lo, hi = mp.mp_edges(q)
    assert eigs[-1] > 1.5 * hi and eigs[0] < 0.9 * lo


# ---------------------------------------------------- what the MP tab draws (core.mp.mp_data)
def gaussian_samples(m, d, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    cov = A @ A.T + d * np.eye(d)
    mean = rng.normal(size=d)
    Y = rng.multivariate_normal(mean, cov, size=m)
    return Y, mean, cov


def test_mp_data_density_integrates_to_one_and_histogram_matches():
    Y, mean, cov = gaussian_samples(5000, 8)
    data = mp_data(Y, 32, mean, cov)
    q = 8 / 32
    assert data.q == q
    lo, hi = mp.mp_edges(q)
    assert data.edges == (lo, hi) == pytest.approx(((1 - 0.5) ** 2, (1 + 0.5) ** 2))
    assert data.windows == 156 and data.eigs.size == 156 * 8  # 5000 // 32 windows pooled
    assert np.trapezoid(data.density, data.x) == pytest.approx(1.0, abs=0.01)
    assert lo in data.x and hi in data.x and data.x[-1] >= hi
    width = np.diff(data.hist_x)
    assert np.sum(data.hist_y * width) == pytest.approx(1 - data.beyond / data.eigs.size)
    # the whitened eigenvalues follow the law: histogram vs the density's bin averages
    centres = 0.5 * (data.hist_x[1:] + data.hist_x[:-1])
    want = mp.mp_density(centres, q)
    assert np.sum(np.abs(data.hist_y - want) * width) < 0.2  # L1 distance (finite-d edges blur)
    assert np.mean(data.eigs) == pytest.approx(1.0, abs=0.03)
    for a in (data.hist_x, data.hist_y, data.x, data.density):
        assert np.all(np.isfinite(a))


def test_pooled_windows_are_disjoint_and_most_recent():
    Y, mean, cov = gaussian_samples(1000, 2, seed=3)
    eigs, w = pooled_eigs(Y, 100, mean, cov)
    assert w == 10 and eigs.size == 20
    last, q = mp.window_eigs(Y, 100, mean, cov)  # the newest window alone
    assert q == 2 / 100
    assert np.allclose(np.sort(eigs[-2:]), last)
    with pytest.raises(ValueError, match="needs 2000 recent samples"):
        pooled_eigs(Y, 2000, mean, cov)


def test_d1_draws_the_exact_variance_law_not_mp():
    rng = np.random.default_rng(1)
    data = mp_data(rng.normal(size=(5000, 1)), 10, np.zeros(1), np.eye(1))
    assert data.d == 1 and data.windows == 500
    assert np.trapezoid(data.density, data.x) == pytest.approx(1.0, abs=0.02)  # chi2_10 / 10
