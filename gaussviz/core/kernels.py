"""Compiled update kernels: the hot loop of every estimator in gaussviz.

Everything here is a plain function over arrays, compiled by numba with
``nogil=True`` so that a worker thread can run it flat out while the Qt event
loop keeps the GIL (a Python loop in a thread starves the GUI: p99 > 1 s).

State of K independent chains:

- ``mu`` (K, d): the mean.
- ``th`` (K, d, d): the stored covariance parameter, whose meaning depends on
  the chain's parameterization code (see the codes below): Sigma for
  ``covariance``, ``natural`` and ``riemannian``, Lambda = inv(Sigma) for
  ``precision``, the lower Cholesky factor L for ``cholesky``, and L with
  log(L_kk) stored on the diagonal for ``log-cholesky``.
- Optimizer state (docs/MATH.md "Optimizers"), elementwise over the stored
  entries and the mean: ``opt_mu`` (K, 2, d) and ``opt_th`` (K, 2, d, d) hold
  the first moment (momentum's and Nesterov's v, Adam's m) at index 0 and the
  second moment (RMSProp's and Adam's u) at index 1; ``opt_t`` (K,) counts the
  updates since the optimizer state was last reset (Adam's bias correction).
  Per-chain settings: ``opt_codes`` (K,) and ``opt_params`` (K, 3) =
  (beta1, beta2, eps).
- Polyak-Ruppert averages (docs/MATH.md "Averaging"), per chain flag
  ``avg_flags``: ``avg_mu`` (K, d), ``avg_sigma`` (K, d, d) in mu/Sigma space
  and ``avg_n`` (K,), the number of updates folded into them.

A failing update is not applied: neither the parameters nor the optimizer
state nor the averages change, so a resumed chain continues from a consistent
last good state.

The formulas are those of docs/MATH.md; they are tested against finite
differences of the log-likelihood, not against a copy of themselves.
"""

from __future__ import annotations

import math

import numpy as np

# numba is imported (its cache in the user's cache folder) when a kernel is first used: core/jit.py
from .jit import lazy_numba as nb
from .paths import configure_numba_cache

configure_numba_cache()  # child processes (Dask workers, the warm-up helper) inherit the cache folder

# Parameterization codes (the order is part of the session format: do not reorder).
COVARIANCE = 0
PRECISION = 1
CHOLESKY = 2
LOG_CHOLESKY = 3
NATURAL = 4
RIEMANNIAN = 5  # docs/MATH.md "The SPD-manifold rule riemannian"; sgd only

# Optimizer codes (part of the session format too: append, never reorder).
SGD = 0
MOMENTUM = 1
NESTEROV = 2
RMSPROP = 3
ADAM = 4

# Schedule codes.
CONSTANT = 0
INVERSE = 1
INVERSE_SQRT = 2

# Chain status codes (0 = running). The reason order is the check order of docs/MATH.md.
OK = 0
NON_FINITE = 1
ASYMMETRIC = 2
NOT_PD = 3
EXPLODED = 4
#: not a divergence: the chain's rule or optimizer code is unknown, or the pair is not
#: allowed (riemannian takes sgd only). Python validates codes first; this is the
#: kernels' own refusal, so that a bad code can never silently run as another rule.
INVALID = 5

ASYMMETRY_TOL = 1e-6
EXPLODE_LIMIT = 1e12

# Detail codes that refine a failure for the message (what exactly failed).
DETAIL_NONE = 0
DETAIL_MEAN = 1  # non-finite: the mean
DETAIL_PARAM = 2  # non-finite: the covariance parameter
DETAIL_EIG = 3  # not-PD: smallest eigenvalue
DETAIL_CHOL_ZERO = 4  # not-PD: a Cholesky diagonal entry hit or crossed zero
DETAIL_LARGEST = 5  # exploded: largest eigenvalue
DETAIL_COND = 6  # exploded: condition number
DETAIL_RULE_CODE = 7  # invalid: the update-rule code (value) is unknown
DETAIL_OPT_CODE = 8  # invalid: the optimizer code (value) is unknown or not allowed with the rule

_JIT = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")


@nb.njit(**_JIT)
def times_transpose(z: np.ndarray, m: np.ndarray, out: np.ndarray) -> None:
    """out = z @ m.T, each row summed in a fixed order (k = 0 .. d-1).

    A row's value then depends only on that row, never on how many rows are
    transformed at once: BLAS's blocked product changes the last bit with the
    row count, which made a sample stream depend on the chunk sizes it was read in.
    """
    n, d = z.shape
    e = m.shape[0]
    for i in range(n):
        for j in range(e):
            s = 0.0
            for k in range(d):
                s += z[i, k] * m[j, k]
            out[i, j] = s


@nb.njit(**_JIT)
def learning_rate(alpha: float, schedule: int, t: int) -> float:
    """Learning rate of update number t + 1 (t updates already applied)."""
    if schedule == INVERSE:
        return alpha / (1.0 + alpha * t)
    if schedule == INVERSE_SQRT:
        return alpha / math.sqrt(1.0 + t)
    return alpha


@nb.njit(**_JIT)
def _inverse(a, out, work, piv):
    """Inverse of the full matrix ``a`` by LU with partial pivoting, then solves.

    This is the algorithm of ``numpy.linalg.inv`` (LAPACK getrf + getrs on the
    identity). It does not assume symmetry: for a symmetric input the result
    is often asymmetric in the last bit, the round-off that seeds the
    asymmetry drift of docs/MATH.md. Returns False when the matrix is singular.
    """
    d = a.shape[0]
    for i in range(d):
        piv[i] = i
        for j in range(d):
            work[i, j] = a[i, j]
    for c in range(d):
        p = c
        best = abs(work[c, c])
        for r in range(c + 1, d):
            v = abs(work[r, c])
            if v > best:
                best = v
                p = r
        if best == 0.0 or not math.isfinite(best):
            return False
        if p != c:
            for j in range(d):
                tmp = work[c, j]
                work[c, j] = work[p, j]
                work[p, j] = tmp
            tp = piv[c]
            piv[c] = piv[p]
            piv[p] = tp
        inv_piv = 1.0 / work[c, c]
        for r in range(c + 1, d):
            f = work[r, c] * inv_piv
            work[r, c] = f
            if f != 0.0:
                for j in range(c + 1, d):
                    work[r, j] -= f * work[c, j]
    for col in range(d):
        # Solve L U x = e_col permuted: forward with unit-lower L, back with U.
        for i in range(d):
            v = 1.0 if piv[i] == col else 0.0
            for k in range(i):
                v -= work[i, k] * out[k, col]
            out[i, col] = v
        for i in range(d - 1, -1, -1):
            v = out[i, col]
            for k in range(i + 1, d):
                v -= work[i, k] * out[k, col]
            out[i, col] = v / work[i, i]
    return True


@nb.njit(**_JIT)
def _symmetrize(a):
    d = a.shape[0]
    for i in range(d):
        for j in range(i + 1, d):
            v = 0.5 * (a[i, j] + a[j, i])
            a[i, j] = v
            a[j, i] = v


@nb.njit(**_JIT)
def _chol_to_sigma(th, code, sigma):
    """Sigma = L L^T from the stored Cholesky (or log-Cholesky) parameter."""
    d = th.shape[0]
    for i in range(d):
        for j in range(i + 1):
            s = 0.0
            for k in range(j + 1):
                li = th[i, k]
                lj = th[j, k]
                if code == LOG_CHOLESKY:
                    if k == i:
                        li = math.exp(li)
                    if k == j:
                        lj = math.exp(lj)
                s += li * lj
            sigma[i, j] = s
            sigma[j, i] = s


@nb.njit(**_JIT)
def stored_to_sigma(th, code, sigma, work, piv):
    """Write the covariance represented by ``th`` into ``sigma``.

    For ``precision`` this inverts Lambda as stored (not symmetrized), so an
    asymmetric Lambda shows as an asymmetric Sigma.
    """
    d = th.shape[0]
    if code == COVARIANCE or code == NATURAL or code == RIEMANNIAN:
        for i in range(d):
            for j in range(d):
                sigma[i, j] = th[i, j]
        return True
    if code == PRECISION:
        return _inverse(th, sigma, work, piv)
    if code == CHOLESKY or code == LOG_CHOLESKY:
        _chol_to_sigma(th, code, sigma)
        return True
    # An unknown code has no covariance: NaN, never another rule's reading.
    for i in range(d):
        for j in range(d):
            sigma[i, j] = math.nan
    return False


@nb.njit(**_JIT)
def _sym_eig_extremes(a, work, vals):
    """Smallest and largest eigenvalue of the symmetric part of ``a``."""
    d = a.shape[0]
    if d == 1:
        return a[0, 0], a[0, 0]
    if d == 2:
        p = a[0, 0]
        q = a[1, 1]
        r = 0.5 * (a[0, 1] + a[1, 0])
        m = 0.5 * (p + q)
        h = math.hypot(0.5 * (p - q), r)
        return m - h, m + h
    for i in range(d):
        for j in range(d):
            work[i, j] = 0.5 * (a[i, j] + a[j, i])
    ev = np.linalg.eigvalsh(work)
    for i in range(d):
        vals[i] = ev[i]
    return ev[0], ev[d - 1]


@nb.njit(**_JIT)
def _cholesky_ok(a, work):
    """Try a Cholesky factorization of the symmetric part; returns (ok, trace, logdet)."""
    d = a.shape[0]
    tr = 0.0
    logdet = 0.0
    for i in range(d):
        tr += a[i, i]
        for j in range(i + 1):
            s = 0.5 * (a[i, j] + a[j, i])
            for k in range(j):
                s -= work[i, k] * work[j, k]
            if i == j:
                if not (s > 0.0):
                    return False, tr, logdet
                work[i, i] = math.sqrt(s)
                logdet += math.log(s)
            else:
                work[i, j] = s / work[j, j]
    return True, tr, logdet


@nb.njit(**_JIT)
def _spd_extremes(a, work, vals):
    """(is PD, smallest, largest) eigenvalue of the symmetric part of ``a``.

    Small d uses closed forms. For larger d a Cholesky factorization decides
    positive definiteness cheaply, and the exact eigenvalues are computed only
    when the bounds lambda_max <= trace and lambda_min >= det / trace^(d-1)
    cannot rule out an explosion, so the common case costs one factorization.
    """
    d = a.shape[0]
    if d <= 2:
        lo, hi = _sym_eig_extremes(a, work, vals)
        return lo > 0.0, lo, hi
    ok, tr, logdet = _cholesky_ok(a, work)
    if not ok:
        lo, hi = _sym_eig_extremes(a, work, vals)
        return False, lo, hi
    # lambda_max <= tr and lambda_min >= det / tr^(d-1): bounds good enough to
    # clear both explosion tests without an eigen-decomposition.
    if tr > 0.0:
        log_tr = math.log(tr)
        log_min_bound = logdet - (d - 1) * log_tr
        if log_tr < 27.0 and (log_tr - log_min_bound) < 27.0 and (-log_min_bound) < 27.0:
            return True, math.exp(log_min_bound), tr  # bounds, not exact values
    lo, hi = _sym_eig_extremes(a, work, vals)
    return lo > 0.0, lo, hi


@nb.njit(**_JIT)
def check_state(code, sym, mu, th, th_old, work, work2, vals):
    """Divergence tests of docs/MATH.md, in their order: (status, detail, value).

    ``riemannian`` keeps Sigma positive definite in exact arithmetic; a computed
    smallest eigenvalue <= 0 (round-off, possible only beyond a condition number
    of about 1e16, or Sigma underflowing) is reported as exploded with condition
    number inf, so that rule fails only by exploded or non-finite.
    """
    d = mu.shape[0]
    for i in range(d):
        if not math.isfinite(mu[i]):
            return NON_FINITE, DETAIL_MEAN, mu[i]
    for i in range(d):
        for j in range(d):
            if not math.isfinite(th[i, j]):
                return NON_FINITE, DETAIL_PARAM, th[i, j]
    if (code == COVARIANCE or code == PRECISION) and not sym:
        asym = relative_asymmetry(th)
        if asym > ASYMMETRY_TOL:
            return ASYMMETRIC, DETAIL_NONE, asym
    if code == CHOLESKY or code == LOG_CHOLESKY:
        for k in range(d):
            v = th[k, k]
            if code == CHOLESKY:
                if v == 0.0 or (v > 0.0) != (th_old[k, k] > 0.0):
                    return NOT_PD, DETAIL_CHOL_ZERO, float(k)
            elif math.exp(v) == 0.0:
                return NOT_PD, DETAIL_CHOL_ZERO, float(k)
        _chol_to_sigma(th, code, work2)
        for k in range(d):
            if not math.isfinite(work2[k, k]):
                # L is finite but L L^T overflows (e.g. exp of a huge log-diagonal):
                # Sigma's largest eigenvalue is at least this diagonal entry.
                return EXPLODED, DETAIL_LARGEST, work2[k, k]
        pd, lo, hi = _spd_extremes(work2, work, vals)
        if not pd:
            # Round-off in L L^T of a nearly singular factor: still a singular Sigma.
            return NOT_PD, DETAIL_EIG, lo
    elif code == COVARIANCE or code == PRECISION or code == NATURAL:
        pd, lo, hi = _spd_extremes(th, work, vals)
        if not pd:
            return NOT_PD, DETAIL_EIG, lo
        if code == PRECISION:
            # Eigenvalues of Sigma are the reciprocals of Lambda's.
            lo, hi = 1.0 / hi, 1.0 / lo
    elif code == RIEMANNIAN:
        pd, lo, hi = _spd_extremes(th, work, vals)
        if not pd:
            return EXPLODED, DETAIL_COND, math.inf
    else:
        return INVALID, DETAIL_RULE_CODE, float(code)
    if hi > EXPLODE_LIMIT:
        return EXPLODED, DETAIL_LARGEST, hi
    if hi > EXPLODE_LIMIT * lo:
        return EXPLODED, DETAIL_COND, hi / lo
    return OK, DETAIL_NONE, 0.0


@nb.njit(**_JIT)
def relative_asymmetry(a):
    """||A - A^T||_F / ||A||_F: the drift docs/MATH.md says a one-triangle check misses."""
    d = a.shape[0]
    f = _asym_scale_d(a)
    num = 0.0
    den = 0.0
    for i in range(d):
        for j in range(d):
            x = a[i, j] / f
            den += x * x
            if i != j:
                v = x - a[j, i] / f
                num += v * v
    if den == 0.0:
        return 0.0
    return math.sqrt(num / den)


@nb.njit(**_JIT)
def _asym_scale_from_max(m):
    """What to divide entries by: 1, or m when squares of entries of size m would overflow or underflow.

    Outside [1e-100, 1e100] the squares in ||A - A^T|| / ||A|| overflow to inf
    or underflow to 0 and the ratio reads 0: an asymmetric matrix of a
    collapsed or huge covariance would pass unseen. Inside, nothing changes
    (dividing by 1 is exact). A divisor, not a factor 1/m: 1/m of a denormal is inf.
    """
    if m > 1e100 or (0.0 < m < 1e-100):
        return m
    return 1.0


@nb.njit(**_JIT)
def _asym_scale(a00, a01, a10, a11):
    return _asym_scale_from_max(max(abs(a00), abs(a01), abs(a10), abs(a11)))


@nb.njit(**_JIT)
def _asym_scale_d(a):
    m = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            m = max(m, abs(a[i, j]))
    return _asym_scale_from_max(m)


@nb.njit(**_JIT)
def _batch_stats(code, sym, mu, th, Y, i0, n, sigma, P, rbar, C, r, u, work, piv):
    """What an update needs from the current state and the batch ``Y[i0:i0+n]``.

    Writes Sigma and, except for natural, P = inv(Sigma); rbar = mean r; C =
    mean r r^T, or for the gradient rules P C P accumulated as mean (P r)(P r)^T;
    and into ``u`` the mean's direction without rate or sign (P rbar, or rbar for
    natural). Returns False when Sigma could not be inverted, and for a code
    with no branch here (riemannian has its own update).
    """
    d = mu.shape[0]
    # Current Sigma and, except for natural, P = inv(Sigma).
    if code == COVARIANCE:
        for i in range(d):
            for j in range(d):
                sigma[i, j] = th[i, j]
        if not _inverse(th, P, work, piv):
            return False
        if sym:
            _symmetrize(P)
    elif code == PRECISION:
        for i in range(d):
            for j in range(d):
                P[i, j] = th[i, j]
        if not _inverse(th, sigma, work, piv):
            return False
        if sym:
            _symmetrize(sigma)
    elif code == NATURAL:
        for i in range(d):
            for j in range(d):
                sigma[i, j] = th[i, j]
    elif code == CHOLESKY or code == LOG_CHOLESKY:
        _chol_to_sigma(th, code, sigma)
        if not _inverse(sigma, P, work, piv):
            return False
        _symmetrize(P)
    else:
        return False

    # Batch statistics around the current mean: rbar = mean r, C = mean r r^T.
    inv_n = 1.0 / n
    for i in range(d):
        rbar[i] = 0.0
        for j in range(d):
            C[i, j] = 0.0
    for b in range(n):
        for i in range(d):
            r[i] = Y[i0 + b, i] - mu[i]
            rbar[i] += r[i]
        if code == COVARIANCE or code == CHOLESKY or code == LOG_CHOLESKY:
            # P C P accumulated as mean_i (P r_i)(P r_i)^T: the mean gradient
            # P r is computed once and its outer product taken, as a direct
            # implementation of the seed does. In exact arithmetic this is
            # P r r^T P; in floating point it is exactly symmetric, so the
            # antisymmetric part of inv(Sigma) is the only one left and grows by
            # 1 + a/(2 l_i l_j) per update (docs/MATH.md "Asymmetry drift").
            for i in range(d):
                su = 0.0
                for k in range(d):
                    su += P[i, k] * r[k]
                u[i] = su
            for i in range(d):
                for j in range(d):
                    C[i, j] += u[i] * u[j]
        else:
            for i in range(d):
                for j in range(d):
                    C[i, j] += r[i] * r[j]
    for i in range(d):
        rbar[i] *= inv_n
        for j in range(d):
            C[i, j] *= inv_n
    # For covariance/cholesky C now holds P C P.

    # Mean direction (gradients at the old parameters: simultaneous update).
    if code == NATURAL:
        for i in range(d):
            u[i] = rbar[i]
    else:
        for i in range(d):
            su = 0.0
            for k in range(d):
                su += P[i, k] * rbar[k]
            u[i] = su
    return True


@nb.njit(**_JIT)
def _direction(code, scale, th, sigma, P, G, C, u, work):
    """``scale`` times the rule's direction D (docs/MATH.md "Optimizers"), in place: mean into
    ``u``, stored parameter into ``C`` (after ``_batch_stats``).

    With scale = a*s this is the sgd increment, operation for operation the
    seed's update (sessions replay old runs bit for bit); with scale = s it is
    D for an optimizer. For the Cholesky rules only the lower triangle is a
    coordinate: C's upper triangle is set to 0.
    """
    d = u.shape[0]
    for i in range(d):
        u[i] = scale * u[i]
    if code == COVARIANCE:
        for i in range(d):
            for j in range(d):
                C[i, j] = scale * (-0.5 * (P[i, j] - C[i, j]))
    elif code == PRECISION:
        for i in range(d):
            for j in range(d):
                C[i, j] = scale * (0.5 * (sigma[i, j] - C[i, j]))
    elif code == NATURAL:
        for i in range(d):
            for j in range(d):
                C[i, j] = scale * (C[i, j] - sigma[i, j])
    elif code == CHOLESKY or code == LOG_CHOLESKY:
        # G = -1/2 (P - P C P); M = 2 G L, lower triangle only.
        for i in range(d):
            for j in range(d):
                G[i, j] = -0.5 * (P[i, j] - C[i, j])
        # L itself (exp of the diagonal for log-cholesky) into work.
        for i in range(d):
            for j in range(d):
                if j > i:
                    work[i, j] = 0.0
                elif j == i and code == LOG_CHOLESKY:
                    work[i, j] = math.exp(th[i, j])
                else:
                    work[i, j] = th[i, j]
        for i in range(d):
            for j in range(d):
                if j > i:
                    C[i, j] = 0.0
                    continue
                m = 0.0
                for k in range(j, d):
                    m += G[i, k] * work[k, j]
                m *= 2.0
                if code == LOG_CHOLESKY and i == j:
                    C[i, j] = scale * m * work[j, j]
                else:
                    C[i, j] = scale * m


@nb.njit(**_JIT)
def one_update(code, sym, s, a, mu, th, Y, i0, n, sigma, P, G, rbar, C, r, u, w, work, piv):
    """Apply one simultaneous sgd update to (mu, th) with the batch Y[i0:i0+n].

    Returns False if Sigma could not be inverted (or factored, for
    riemannian), or for an unknown rule code; the caller reports it.

    The sgd path sessions replay bit for bit, kept in one piece as it was
    before the optimizers came (built from ``_batch_stats`` + ``_direction``
    it ran 5-40% slower at d = 3..10); ``optimizer_update`` uses those two,
    and the finite-difference tests check both.
    """
    d = mu.shape[0]
    # Current Sigma and, except for natural, P = inv(Sigma).
    if code == COVARIANCE:
        for i in range(d):
            for j in range(d):
                sigma[i, j] = th[i, j]
        if not _inverse(th, P, work, piv):
            return False
        if sym:
            _symmetrize(P)
    elif code == PRECISION:
        for i in range(d):
            for j in range(d):
                P[i, j] = th[i, j]
        if not _inverse(th, sigma, work, piv):
            return False
        if sym:
            _symmetrize(sigma)
    elif code == NATURAL:
        for i in range(d):
            for j in range(d):
                sigma[i, j] = th[i, j]
    elif code == CHOLESKY or code == LOG_CHOLESKY:
        _chol_to_sigma(th, code, sigma)
        if not _inverse(sigma, P, work, piv):
            return False
        _symmetrize(P)
    elif code == RIEMANNIAN:
        return _riemannian_update(s, a, mu, th, Y, i0, n, work, C, G, P, rbar, r)
    else:
        return False

    # Batch statistics around the current mean: rbar = mean r, C = mean r r^T.
    inv_n = 1.0 / n
    for i in range(d):
        rbar[i] = 0.0
        for j in range(d):
            C[i, j] = 0.0
    for b in range(n):
        for i in range(d):
            r[i] = Y[i0 + b, i] - mu[i]
            rbar[i] += r[i]
        if code == COVARIANCE or code == CHOLESKY or code == LOG_CHOLESKY:
            # P C P accumulated as mean_i (P r_i)(P r_i)^T: the mean gradient
            # P r is computed once and its outer product taken, as a direct
            # implementation of the seed does. In exact arithmetic this is
            # P r r^T P; in floating point it is exactly symmetric, so the
            # antisymmetric part of inv(Sigma) is the only one left and grows by
            # 1 + a/(2 l_i l_j) per update (docs/MATH.md "Asymmetry drift").
            for i in range(d):
                su = 0.0
                for k in range(d):
                    su += P[i, k] * r[k]
                u[i] = su
            for i in range(d):
                for j in range(d):
                    C[i, j] += u[i] * u[j]
        else:
            for i in range(d):
                for j in range(d):
                    C[i, j] += r[i] * r[j]
    for i in range(d):
        rbar[i] *= inv_n
        for j in range(d):
            C[i, j] *= inv_n
    # For covariance/cholesky C now holds P C P.

    step = a * s
    # Mean update (gradients at the old parameters: simultaneous update).
    if code == NATURAL:
        for i in range(d):
            u[i] = rbar[i]
    else:
        for i in range(d):
            su = 0.0
            for k in range(d):
                su += P[i, k] * rbar[k]
            u[i] = su

    if code == COVARIANCE:
        for i in range(d):
            for j in range(d):
                th[i, j] += step * (-0.5 * (P[i, j] - C[i, j]))
        if sym:
            _symmetrize(th)
    elif code == PRECISION:
        for i in range(d):
            for j in range(d):
                th[i, j] += step * (0.5 * (sigma[i, j] - C[i, j]))
        if sym:
            _symmetrize(th)
    elif code == NATURAL:
        for i in range(d):
            for j in range(d):
                th[i, j] += step * (C[i, j] - sigma[i, j])
    else:  # cholesky, log-cholesky (every other code returned above)
        # G = -1/2 (P - P C P); M = 2 G L, lower triangle only.
        for i in range(d):
            for j in range(d):
                G[i, j] = -0.5 * (P[i, j] - C[i, j])
        # L itself (exp of the diagonal for log-cholesky) into work.
        for i in range(d):
            for j in range(d):
                if j > i:
                    work[i, j] = 0.0
                elif j == i and code == LOG_CHOLESKY:
                    work[i, j] = math.exp(th[i, j])
                else:
                    work[i, j] = th[i, j]
        for i in range(d):
            for j in range(i + 1):
                m = 0.0
                for k in range(j, d):
                    m += G[i, k] * work[k, j]
                m *= 2.0
                if code == LOG_CHOLESKY and i == j:
                    th[i, j] += step * m * work[j, j]
                else:
                    th[i, j] += step * m
    for i in range(d):
        mu[i] += step * u[i]
    return True


@nb.njit(inline="always", **_JIT)
def _opt_elem(opt, D, v1, v2, a, b1, b2, eps, c1, c2):
    """One stored entry under an optimizer (docs/MATH.md "Optimizers"): (new v1, new v2, increment).

    ``D`` is the direction (sign included), ``a`` the scheduled rate, (v1, v2)
    the entry's first and second moments, ``c1 = 1 / (1 - beta1^t)`` and
    ``c2 = 1 / (1 - beta2^t)`` Adam's bias corrections as factors (two
    divisions per update instead of two per entry; exactly 1 once beta^t is
    negligible). An unknown code gives a NaN increment (the update then fails
    as non-finite), never another optimizer.
    """
    if opt == MOMENTUM:
        n1 = b1 * v1 + D
        return n1, v2, a * n1
    if opt == NESTEROV:
        n1 = b1 * v1 + D
        return n1, v2, a * (b1 * n1 + D)
    if opt == RMSPROP:
        n2 = b2 * v2 + (1.0 - b2) * (D * D)
        return v1, n2, a * D / (math.sqrt(n2) + eps)
    if opt == ADAM:
        n1 = b1 * v1 + (1.0 - b1) * D
        n2 = b2 * v2 + (1.0 - b2) * (D * D)
        return n1, n2, a * (n1 * c1) / (math.sqrt(n2 * c2) + eps)
    if opt == SGD:
        return v1, v2, a * D
    return v1, v2, math.nan


@nb.njit(**_JIT)
def bias_horizon(b):
    """An update count from which 1 - b^t == 1.0 exactly in floating point.

    From t = ceil(70 ln 2 / -ln b) + 1 on, b^t <= 2^-70, far below the 2^-54
    that 1 - x needs to round to 1: skipping ``pow`` from there changes no bit
    (Adam with beta2 = 0.999: after about 48,500 updates).
    """
    if b <= 0.0:
        return 1
    q = 70.0 * math.log(2.0) / -math.log(b)
    if q > 4e18:
        return 2**62
    return math.ceil(q) + 1


#: Adam's beta^t: ``pow`` at every multiple of this, running products in between (a pow
#: costs as much as the rest of a d = 2 Adam step). Both depend on t alone, never on where
#: a chunk starts, so any chunking gives the same bits.
POW_BLOCK = 64


@nb.njit(**_JIT)
def bias_start(b1, b2, t):
    """The running powers for Adam's update t: (B1, Q1, B2, Q2) with beta^t = B Q,
    B = pow(beta, t0) at t0 = t rounded down to ``POW_BLOCK``, Q = beta^(t - t0) by
    successive multiplications (the very operations ``bias_advance`` does)."""
    t0 = (t // POW_BLOCK) * POW_BLOCK
    q1 = 1.0
    q2 = 1.0
    for _ in range(t - t0):
        q1 *= b1
        q2 *= b2
    return math.pow(b1, float(t0)), q1, math.pow(b2, float(t0)), q2


@nb.njit(inline="always", **_JIT)
def bias_advance(b1, b2, t, P):
    """``bias_start(b1, b2, t)`` from ``P = bias_start(b1, b2, t - 1)`` in one or two multiplications."""
    if t % POW_BLOCK == 0:
        return math.pow(b1, float(t)), 1.0, math.pow(b2, float(t)), 1.0
    return P[0], P[1] * b1, P[2], P[3] * b2


@nb.njit(inline="always", **_JIT)
def bias_factors(opt, t, h1, h2, P):
    """Adam's (1 / (1 - beta1^t), 1 / (1 - beta2^t)) for update t from its running powers P;
    (1, 1) for the other optimizers, and each factor exactly 1 from its ``bias_horizon`` on."""
    if opt != ADAM:
        return 1.0, 1.0
    c1 = 1.0 if t >= h1 else 1.0 / (1.0 - P[0] * P[1])
    c2 = 1.0 if t >= h2 else 1.0 / (1.0 - P[2] * P[3])
    return c1, c2


@nb.njit(**_JIT)
def bias_corrections(opt, b1, b2, t, h1, h2):
    """Adam's factors (1 / (1 - beta1^t), 1 / (1 - beta2^t)) for its update number t (1-based),
    computed as the chain loops compute them; (1, 1) for the other optimizers.

    (h1, h2) are ``bias_horizon(b1)``, ``bias_horizon(b2)``: past them the
    factor is exactly 1.
    """
    return bias_factors(opt, t, h1, h2, bias_start(b1, b2, t))


@nb.njit(**_JIT)
def optimizer_update(code, sym, s, a, opt, b1, b2, eps, c1, c2, mu, th, Y, i0, n,
                     sigma, P, G, rbar, C, r, u, work, piv, state_mu, state_th, new_mu, new_th):
    """One update of (mu, th) under an optimizer, any d (the general path).

    The new optimizer state goes to ``new_mu`` (2, d) and ``new_th`` (2, d, d):
    the caller copies it over ``state_mu``/``state_th`` only if the updated
    (mu, th) pass the divergence checks. Entries that are not coordinates (the
    upper triangle of a Cholesky factor) keep their state and value. With
    ``sym`` (covariance, precision) the updated matrix is symmetrized; the
    state is not. Returns False as ``one_update``.
    """
    d = mu.shape[0]
    if not _batch_stats(code, sym, mu, th, Y, i0, n, sigma, P, rbar, C, r, u, work, piv):
        return False
    _direction(code, s, th, sigma, P, G, C, u, work)
    for i in range(d):
        v1, v2, inc = _opt_elem(opt, u[i], state_mu[0, i], state_mu[1, i], a, b1, b2, eps, c1, c2)
        new_mu[0, i] = v1
        new_mu[1, i] = v2
        mu[i] += inc
    tri = code == CHOLESKY or code == LOG_CHOLESKY
    for i in range(d):
        for j in range(d):
            if tri and j > i:
                new_th[0, i, j] = state_th[0, i, j]
                new_th[1, i, j] = state_th[1, i, j]
                continue
            v1, v2, inc = _opt_elem(opt, C[i, j], state_th[0, i, j], state_th[1, i, j],
                                    a, b1, b2, eps, c1, c2)
            new_th[0, i, j] = v1
            new_th[1, i, j] = v2
            th[i, j] += inc
    if sym and (code == COVARIANCE or code == PRECISION):
        _symmetrize(th)
    return True


# ------------------------------------------------------------- riemannian
@nb.njit(**_JIT)
def _eigh2(p, r, q):
    """Eigen-decomposition of the symmetric [[p, r], [r, q]]: (l1, l2, c, sn), l1 >= l2.

    Eigenvectors (c, sn) for l1 and (-sn, c) for l2, from the rotation angle:
    both stay accurate when the eigenvalues differ by many orders of magnitude,
    which the exponential map needs (it keeps every direction of Sigma).
    """
    m = 0.5 * (p + q)
    h = math.hypot(0.5 * (p - q), r)
    ang = 0.5 * math.atan2(r, 0.5 * (p - q))
    return m + h, m - h, math.cos(ang), math.sin(ang)


@nb.njit(**_JIT)
def _riemann2(step, t00, t01, t10, t11, c00, c01, c11):
    """The riemannian covariance step at d = 2 in closed form: (ok, S'00, S'01, S'11).

    Sigma' = L expm(step (L^-1 C L^-T - I)) L^T (docs/MATH.md), L the Cholesky
    factor of (the symmetric part of) the stored Sigma, expm through the 2 x 2
    eigen-decomposition: Sigma' = B diag(exp(step (m_k - 1))) B^T, B = L Q.
    The result is symmetric by construction (one off-diagonal value). ok is
    False when Sigma has no Cholesky factor (not positive definite).
    """
    s10 = 0.5 * (t10 + t01)
    if not (t00 > 0.0):
        return False, 0.0, 0.0, 0.0
    l00 = math.sqrt(t00)
    l10 = s10 / l00
    v = t11 - l10 * l10
    if not (v > 0.0):
        return False, 0.0, 0.0, 0.0
    l11 = math.sqrt(v)
    # W = L^-1 C column by column (C symmetric), then M = L^-1 W^T.
    w00 = c00 / l00
    w10 = (c01 - l10 * w00) / l11
    w01 = c01 / l00
    w11 = (c11 - l10 * w01) / l11
    m00 = w00 / l00
    m10 = (w01 - l10 * m00) / l11
    m01 = w10 / l00
    m11 = (w11 - l10 * m01) / l11
    e1, e2, c, sn = _eigh2(m00, 0.5 * (m01 + m10), m11)
    x1 = math.exp(step * (e1 - 1.0))
    x2 = math.exp(step * (e2 - 1.0))
    b00 = l00 * c
    b01 = -(l00 * sn)
    b10 = l10 * c + l11 * sn
    b11 = l11 * c - l10 * sn
    n00 = x1 * b00 * b00 + x2 * b01 * b01
    n01 = x1 * b00 * b10 + x2 * b01 * b11
    n11 = x1 * b10 * b10 + x2 * b11 * b11
    return True, n00, n01, n11


@nb.njit(**_JIT)
def _riemannian_update(s, a, mu, th, Y, i0, n, L, C, W, B, rbar, r):
    """One riemannian update (sgd only), any d, in place; False if Sigma has no Cholesky factor.

    Mean as natural (mu += a s mean r); Sigma' = L expm(a s (inv(L) C inv(L)^T - I)) L^T
    with C = mean r r^T about the old mean (docs/MATH.md "The SPD-manifold rule").
    The new Sigma is written exactly symmetric (lower triangle mirrored), so
    the stored Sigma of this rule is always exactly symmetric. d = 2 uses the
    closed form of ``_riemann2`` (the same function as the d = 2 fast path),
    d = 1 the scalar exp, larger d ``np.linalg.eigh``.
    """
    d = mu.shape[0]
    step = a * s
    inv_n = 1.0 / n
    for i in range(d):
        rbar[i] = 0.0
        for j in range(d):
            C[i, j] = 0.0
    for b in range(n):
        for i in range(d):
            r[i] = Y[i0 + b, i] - mu[i]
            rbar[i] += r[i]
        for i in range(d):
            for j in range(d):
                C[i, j] += r[i] * r[j]
    for i in range(d):
        rbar[i] *= inv_n
        for j in range(d):
            C[i, j] *= inv_n
    if d == 2:
        ok, n00, n01, n11 = _riemann2(step, th[0, 0], th[0, 1], th[1, 0], th[1, 1], C[0, 0], C[0, 1], C[1, 1])
        if not ok:
            return False
        th[0, 0] = n00
        th[0, 1] = n01
        th[1, 0] = n01
        th[1, 1] = n11
    else:
        # Cholesky factor of the symmetric part of Sigma.
        for i in range(d):
            for j in range(d):
                L[i, j] = 0.0
        for i in range(d):
            for j in range(i + 1):
                v = 0.5 * (th[i, j] + th[j, i])
                for k in range(j):
                    v -= L[i, k] * L[j, k]
                if i == j:
                    if not (v > 0.0):
                        return False
                    L[i, i] = math.sqrt(v)
                else:
                    L[i, j] = v / L[j, j]
        if d == 1:
            m = (C[0, 0] / L[0, 0]) / L[0, 0]
            x = math.exp(step * (m - 1.0))
            th[0, 0] = x * L[0, 0] * L[0, 0]
        else:
            # W = L^-1 C (column by column), then M = L^-1 W^T into C.
            for j in range(d):
                for i in range(d):
                    v = C[i, j]
                    for k in range(i):
                        v -= L[i, k] * W[k, j]
                    W[i, j] = v / L[i, i]
            for j in range(d):
                for i in range(d):
                    v = W[j, i]
                    for k in range(i):
                        v -= L[i, k] * C[k, j]
                    C[i, j] = v / L[i, i]
            _symmetrize(C)
            for i in range(d):
                for j in range(d):
                    if not math.isfinite(C[i, j]):
                        # r r^T overflowed: no eigen-decomposition (LAPACK would raise); the
                        # update fails as non-finite, as every other rule's does.
                        for p in range(d):
                            for q in range(d):
                                th[p, q] = math.nan
                        return True
            ev, Q = np.linalg.eigh(C)
            for k in range(d):
                ev[k] = math.exp(step * (ev[k] - 1.0))
            # B = L Q, then Sigma' = B diag(exp) B^T, lower triangle mirrored.
            for i in range(d):
                for k in range(d):
                    v = 0.0
                    for m in range(i + 1):
                        v += L[i, m] * Q[m, k]
                    B[i, k] = v
            for i in range(d):
                for j in range(i + 1):
                    v = 0.0
                    for k in range(d):
                        v += ev[k] * B[i, k] * B[j, k]
                    th[i, j] = v
                    th[j, i] = v
    for i in range(d):
        mu[i] += step * rbar[i]
    return True


@nb.njit(**_JIT)
def _riemann_step2(s, a, mu, th, Y, i0, n):
    """The riemannian update and its checks at d = 2, in scalars (as ``_step2``)."""
    m0, m1 = mu[0], mu[1]
    step = a * s
    inv_n = 1.0 / n
    rb0 = rb1 = 0.0
    c00 = c01 = c11 = 0.0
    for b in range(n):
        r0 = Y[i0 + b, 0] - m0
        r1 = Y[i0 + b, 1] - m1
        rb0 += r0
        rb1 += r1
        c00 += r0 * r0
        c01 += r0 * r1
        c11 += r1 * r1
    rb0 *= inv_n
    rb1 *= inv_n
    c00 *= inv_n
    c01 *= inv_n
    c11 *= inv_n
    ok, n00, n01, n11 = _riemann2(step, th[0, 0], th[0, 1], th[1, 0], th[1, 1], c00, c01, c11)
    if not ok:
        return NOT_PD, DETAIL_EIG, 0.0
    nm0 = m0 + step * rb0
    nm1 = m1 + step * rb1
    st, det, val = _check2(RIEMANNIAN, True, th[0, 0], th[1, 1], nm0, nm1, n00, n01, n01, n11)
    if st == OK:
        mu[0] = nm0
        mu[1] = nm1
        th[0, 0] = n00
        th[0, 1] = n01
        th[1, 0] = n01
        th[1, 1] = n11
    return st, det, val


@nb.njit(**_JIT)
def _inv2(a00, a01, a10, a11):
    """2 x 2 inverse by exactly the operations of ``_inverse`` (LU, partial pivoting).

    Same round-off as the general path, so the asymmetry drift is the same.
    Returns (ok, b00, b01, b10, b11).
    """
    swap = abs(a10) > abs(a00)
    if swap:
        p00, p01, p10, p11 = a10, a11, a00, a01
    else:
        p00, p01, p10, p11 = a00, a01, a10, a11
    if p00 == 0.0 or not math.isfinite(p00):
        return False, 0.0, 0.0, 0.0, 0.0
    f = p10 * (1.0 / p00)
    u11 = p11 - f * p01
    if u11 == 0.0 or not math.isfinite(u11):
        return False, 0.0, 0.0, 0.0, 0.0
    # column 0 and 1 of the identity, permuted like the rows
    if swap:
        y00, y10, y01, y11 = 0.0, 1.0, 1.0, 0.0
    else:
        y00, y10, y01, y11 = 1.0, 0.0, 0.0, 1.0
    y10 = y10 - f * y00
    y11 = y11 - f * y01
    b10 = y10 / u11
    b11 = y11 / u11
    b00 = (y00 - p01 * b10) / p00
    b01 = (y01 - p01 * b11) / p00
    return True, b00, b01, b10, b11


@nb.njit(inline="always", **_JIT)
def _dir2(code, sym, scale, m0, m1, t00, t01, t10, t11, Y, i0, n):
    """``_batch_stats`` + ``_direction`` at d = 2 in scalars: (status, mean 0, mean 1, th 00, 01, 10, 11).

    ``scale`` times the direction, as ``_direction`` (scale = a*s: the sgd
    increment; scale = s: D). status is NOT_PD when Sigma could not be
    inverted, INVALID for an unknown rule code. For the Cholesky rules the 01
    entry is not a coordinate and comes back 0.
    """
    s00 = s01 = s10 = s11 = 0.0
    p00 = p01 = p10 = p11 = 0.0
    l00 = l10 = l11 = 0.0
    if code == COVARIANCE:
        s00, s01, s10, s11 = t00, t01, t10, t11
        ok, p00, p01, p10, p11 = _inv2(t00, t01, t10, t11)
        if not ok:
            return NOT_PD, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        if sym:
            v = 0.5 * (p01 + p10)
            p01 = v
            p10 = v
    elif code == PRECISION:
        p00, p01, p10, p11 = t00, t01, t10, t11
        ok, s00, s01, s10, s11 = _inv2(t00, t01, t10, t11)
        if not ok:
            return NOT_PD, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        if sym:
            v = 0.5 * (s01 + s10)
            s01 = v
            s10 = v
    elif code == NATURAL:
        s00, s01, s10, s11 = t00, t01, t10, t11
    elif code == CHOLESKY or code == LOG_CHOLESKY:
        l00, l10, l11 = t00, t10, t11
        if code == LOG_CHOLESKY:
            l00 = math.exp(t00)
            l11 = math.exp(t11)
        s00 = l00 * l00
        s10 = l10 * l00
        s01 = s10
        s11 = l10 * l10 + l11 * l11
        ok, p00, p01, p10, p11 = _inv2(s00, s01, s10, s11)
        if not ok:
            return NOT_PD, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        v = 0.5 * (p01 + p10)
        p01 = v
        p10 = v
    else:
        return INVALID, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    inv_n = 1.0 / n
    rb0 = rb1 = 0.0
    c00 = c01 = c10 = c11 = 0.0
    outer_pr = code == COVARIANCE or code == CHOLESKY or code == LOG_CHOLESKY
    for b in range(n):
        r0 = Y[i0 + b, 0] - m0
        r1 = Y[i0 + b, 1] - m1
        rb0 += r0
        rb1 += r1
        if outer_pr:
            u0 = p00 * r0 + p01 * r1
            u1 = p10 * r0 + p11 * r1
        else:
            u0 = r0
            u1 = r1
        c00 += u0 * u0
        c01 += u0 * u1
        c10 += u1 * u0
        c11 += u1 * u1
    rb0 *= inv_n
    rb1 *= inv_n
    c00 *= inv_n
    c01 *= inv_n
    c10 *= inv_n
    c11 *= inv_n
    if code == NATURAL:
        g0, g1 = rb0, rb1
    else:
        g0 = p00 * rb0 + p01 * rb1
        g1 = p10 * rb0 + p11 * rb1
    if code == COVARIANCE:
        d00 = scale * (-0.5 * (p00 - c00))
        d01 = scale * (-0.5 * (p01 - c01))
        d10 = scale * (-0.5 * (p10 - c10))
        d11 = scale * (-0.5 * (p11 - c11))
    elif code == PRECISION:
        d00 = scale * (0.5 * (s00 - c00))
        d01 = scale * (0.5 * (s01 - c01))
        d10 = scale * (0.5 * (s10 - c10))
        d11 = scale * (0.5 * (s11 - c11))
    elif code == NATURAL:
        d00 = scale * (c00 - s00)
        d01 = scale * (c01 - s01)
        d10 = scale * (c10 - s10)
        d11 = scale * (c11 - s11)
    else:
        G00 = -0.5 * (p00 - c00)
        G01 = -0.5 * (p01 - c01)
        G10 = -0.5 * (p10 - c10)
        G11 = -0.5 * (p11 - c11)
        M00 = 2.0 * (G00 * l00 + G01 * l10)
        M10 = 2.0 * (G10 * l00 + G11 * l10)
        M11 = 2.0 * (G11 * l11)
        if code == LOG_CHOLESKY:
            d00 = scale * M00 * l00
            d11 = scale * M11 * l11
        else:
            d00 = scale * M00
            d11 = scale * M11
        d10 = scale * M10
        d01 = 0.0
    return OK, scale * g0, scale * g1, d00, d01, d10, d11


@nb.njit(**_JIT)
def _check2(code, sym, t00, t11, nm0, nm1, n00, n01, n10, n11):
    """``check_state`` at d = 2 in scalars, the same tests in the same order: (status, detail, value).

    (t00, t11) is the old diagonal (a Cholesky diagonal entry must not cross zero).
    """
    if not math.isfinite(nm0):
        return NON_FINITE, DETAIL_MEAN, nm0
    if not math.isfinite(nm1):
        return NON_FINITE, DETAIL_MEAN, nm1
    for v in (n00, n01, n10, n11):
        if not math.isfinite(v):
            return NON_FINITE, DETAIL_PARAM, v
    if (code == COVARIANCE or code == PRECISION) and not sym:
        f = _asym_scale(n00, n01, n10, n11)  # as relative_asymmetry: 1 unless squares over/underflow
        x00, x01, x10, x11 = n00 / f, n01 / f, n10 / f, n11 / f
        den = x00 * x00 + x01 * x01 + x10 * x10 + x11 * x11
        dd = x01 - x10
        asym = math.sqrt((dd * dd + dd * dd) / den) if den != 0.0 else 0.0
        if asym > ASYMMETRY_TOL:
            return ASYMMETRIC, DETAIL_NONE, asym
    if code == CHOLESKY:
        if n00 == 0.0 or (n00 > 0.0) != (t00 > 0.0):
            return NOT_PD, DETAIL_CHOL_ZERO, 0.0
        if n11 == 0.0 or (n11 > 0.0) != (t11 > 0.0):
            return NOT_PD, DETAIL_CHOL_ZERO, 1.0
    if code == CHOLESKY or code == LOG_CHOLESKY:
        q00, q10, q11 = n00, n10, n11
        if code == LOG_CHOLESKY:
            q00 = math.exp(n00)
            q11 = math.exp(n11)
            if q00 == 0.0:
                return NOT_PD, DETAIL_CHOL_ZERO, 0.0
            if q11 == 0.0:
                return NOT_PD, DETAIL_CHOL_ZERO, 1.0
        e00 = q00 * q00
        e01 = q10 * q00
        e11 = q10 * q10 + q11 * q11
        if not (math.isfinite(e00) and math.isfinite(e11)):
            # L L^T overflows: exploded, as in check_state
            return EXPLODED, DETAIL_LARGEST, e00 if not math.isfinite(e00) else e11
        rr = 0.5 * (e01 + e01)
    elif code == COVARIANCE or code == PRECISION or code == NATURAL or code == RIEMANNIAN:
        e00, e11 = n00, n11
        rr = 0.5 * (n01 + n10)
    else:
        return INVALID, DETAIL_RULE_CODE, float(code)
    mm = 0.5 * (e00 + e11)
    h = math.hypot(0.5 * (e00 - e11), rr)
    lo = mm - h
    hi = mm + h
    if not (lo > 0.0):
        if code == RIEMANNIAN:
            return EXPLODED, DETAIL_COND, math.inf  # round-off only: see check_state
        return NOT_PD, DETAIL_EIG, lo
    if code == PRECISION:
        lo, hi = 1.0 / hi, 1.0 / lo
    if hi > EXPLODE_LIMIT:
        return EXPLODED, DETAIL_LARGEST, hi
    if hi > EXPLODE_LIMIT * lo:
        return EXPLODED, DETAIL_COND, hi / lo
    return OK, DETAIL_NONE, 0.0


@nb.njit(inline="always", **_JIT)
def _step2(code, sym, s, a, mu, th, Y, i0, n):
    """One sgd update and its divergence checks at d = 2, in scalars.

    The same arithmetic as ``one_update`` + ``check_state`` (the finite-difference
    tests cover both paths), about ten times faster because nothing loops or
    touches scratch arrays. Writes (mu, th) only when the new state passes the
    checks; returns (status, detail, value).

    This is the path sessions replay bit for bit, kept in one piece as it was
    before the optimizers came (split into ``_dir2`` + ``_check2`` it ran ~10%
    slower); ``step2_opt`` uses those two, and the bit-identity tests tie both
    to the general path.
    """
    t00, t01, t10, t11 = th[0, 0], th[0, 1], th[1, 0], th[1, 1]
    m0, m1 = mu[0], mu[1]
    s00 = s01 = s10 = s11 = 0.0
    p00 = p01 = p10 = p11 = 0.0
    l00 = l10 = l11 = 0.0
    if code == COVARIANCE:
        s00, s01, s10, s11 = t00, t01, t10, t11
        ok, p00, p01, p10, p11 = _inv2(t00, t01, t10, t11)
        if not ok:
            return NOT_PD, DETAIL_EIG, 0.0
        if sym:
            v = 0.5 * (p01 + p10)
            p01 = v
            p10 = v
    elif code == PRECISION:
        p00, p01, p10, p11 = t00, t01, t10, t11
        ok, s00, s01, s10, s11 = _inv2(t00, t01, t10, t11)
        if not ok:
            return NOT_PD, DETAIL_EIG, 0.0
        if sym:
            v = 0.5 * (s01 + s10)
            s01 = v
            s10 = v
    elif code == NATURAL:
        s00, s01, s10, s11 = t00, t01, t10, t11
    elif code == CHOLESKY or code == LOG_CHOLESKY:
        l00, l10, l11 = t00, t10, t11
        if code == LOG_CHOLESKY:
            l00 = math.exp(t00)
            l11 = math.exp(t11)
        s00 = l00 * l00
        s10 = l10 * l00
        s01 = s10
        s11 = l10 * l10 + l11 * l11
        ok, p00, p01, p10, p11 = _inv2(s00, s01, s10, s11)
        if not ok:
            return NOT_PD, DETAIL_EIG, 0.0
        v = 0.5 * (p01 + p10)
        p01 = v
        p10 = v
    else:  # riemannian has its own step (_riemann_step2), called by the chain loops
        return INVALID, DETAIL_RULE_CODE, float(code)
    inv_n = 1.0 / n
    rb0 = rb1 = 0.0
    c00 = c01 = c10 = c11 = 0.0
    outer_pr = code == COVARIANCE or code == CHOLESKY or code == LOG_CHOLESKY
    for b in range(n):
        r0 = Y[i0 + b, 0] - m0
        r1 = Y[i0 + b, 1] - m1
        rb0 += r0
        rb1 += r1
        if outer_pr:
            u0 = p00 * r0 + p01 * r1
            u1 = p10 * r0 + p11 * r1
        else:
            u0 = r0
            u1 = r1
        c00 += u0 * u0
        c01 += u0 * u1
        c10 += u1 * u0
        c11 += u1 * u1
    rb0 *= inv_n
    rb1 *= inv_n
    c00 *= inv_n
    c01 *= inv_n
    c10 *= inv_n
    c11 *= inv_n
    step = a * s
    if code == NATURAL:
        g0, g1 = rb0, rb1
    else:
        g0 = p00 * rb0 + p01 * rb1
        g1 = p10 * rb0 + p11 * rb1
    n00, n01, n10, n11 = t00, t01, t10, t11
    if code == COVARIANCE:
        n00 += step * (-0.5 * (p00 - c00))
        n01 += step * (-0.5 * (p01 - c01))
        n10 += step * (-0.5 * (p10 - c10))
        n11 += step * (-0.5 * (p11 - c11))
    elif code == PRECISION:
        n00 += step * (0.5 * (s00 - c00))
        n01 += step * (0.5 * (s01 - c01))
        n10 += step * (0.5 * (s10 - c10))
        n11 += step * (0.5 * (s11 - c11))
    elif code == NATURAL:
        n00 += step * (c00 - s00)
        n01 += step * (c01 - s01)
        n10 += step * (c10 - s10)
        n11 += step * (c11 - s11)
    else:
        G00 = -0.5 * (p00 - c00)
        G01 = -0.5 * (p01 - c01)
        G10 = -0.5 * (p10 - c10)
        G11 = -0.5 * (p11 - c11)
        M00 = 2.0 * (G00 * l00 + G01 * l10)
        M10 = 2.0 * (G10 * l00 + G11 * l10)
        M11 = 2.0 * (G11 * l11)
        if code == LOG_CHOLESKY:
            n00 += step * M00 * l00
            n11 += step * M11 * l11
        else:
            n00 += step * M00
            n11 += step * M11
        n10 += step * M10
    if (code == COVARIANCE or code == PRECISION) and sym:
        v = 0.5 * (n01 + n10)
        n01 = v
        n10 = v
    nm0 = m0 + step * g0
    nm1 = m1 + step * g1
    # ---- checks, in the order of docs/MATH.md
    if not math.isfinite(nm0):
        return NON_FINITE, DETAIL_MEAN, nm0
    if not math.isfinite(nm1):
        return NON_FINITE, DETAIL_MEAN, nm1
    for v in (n00, n01, n10, n11):
        if not math.isfinite(v):
            return NON_FINITE, DETAIL_PARAM, v
    if (code == COVARIANCE or code == PRECISION) and not sym:
        f = _asym_scale(n00, n01, n10, n11)  # as relative_asymmetry: 1 unless squares over/underflow
        x00, x01, x10, x11 = n00 / f, n01 / f, n10 / f, n11 / f
        den = x00 * x00 + x01 * x01 + x10 * x10 + x11 * x11
        dd = x01 - x10
        asym = math.sqrt((dd * dd + dd * dd) / den) if den != 0.0 else 0.0
        if asym > ASYMMETRY_TOL:
            return ASYMMETRIC, DETAIL_NONE, asym
    if code == CHOLESKY:
        if n00 == 0.0 or (n00 > 0.0) != (t00 > 0.0):
            return NOT_PD, DETAIL_CHOL_ZERO, 0.0
        if n11 == 0.0 or (n11 > 0.0) != (t11 > 0.0):
            return NOT_PD, DETAIL_CHOL_ZERO, 1.0
    if code == CHOLESKY or code == LOG_CHOLESKY:
        q00, q10, q11 = n00, n10, n11
        if code == LOG_CHOLESKY:
            q00 = math.exp(n00)
            q11 = math.exp(n11)
            if q00 == 0.0:
                return NOT_PD, DETAIL_CHOL_ZERO, 0.0
            if q11 == 0.0:
                return NOT_PD, DETAIL_CHOL_ZERO, 1.0
        e00 = q00 * q00
        e01 = q10 * q00
        e11 = q10 * q10 + q11 * q11
        if not (math.isfinite(e00) and math.isfinite(e11)):
            # L L^T overflows: exploded, as in check_state
            return EXPLODED, DETAIL_LARGEST, e00 if not math.isfinite(e00) else e11
        rr = 0.5 * (e01 + e01)
    else:
        e00, e11 = n00, n11
        rr = 0.5 * (n01 + n10)
    mm = 0.5 * (e00 + e11)
    h = math.hypot(0.5 * (e00 - e11), rr)
    lo = mm - h
    hi = mm + h
    if not (lo > 0.0):
        return NOT_PD, DETAIL_EIG, lo
    if code == PRECISION:
        lo, hi = 1.0 / hi, 1.0 / lo
    if hi > EXPLODE_LIMIT:
        return EXPLODED, DETAIL_LARGEST, hi
    if hi > EXPLODE_LIMIT * lo:
        return EXPLODED, DETAIL_COND, hi / lo
    mu[0] = nm0
    mu[1] = nm1
    th[0, 0] = n00
    th[0, 1] = n01
    th[1, 0] = n10
    th[1, 1] = n11
    return OK, DETAIL_NONE, 0.0


@nb.njit(inline="always", **_JIT)
def step2_opt(code, sym, s, a, opt, b1, b2, eps, c1, c2, mu, th, S, Y, i0, n):
    """``optimizer_update`` + ``check_state`` at d = 2 in scalars (bit-identical to them).

    ``S`` is the optimizer state as a tuple (see ``load_state2``), kept in
    registers across a chunk (this and inlining: ~35% more updates per second
    than through the state arrays). Writes (mu, th) only when the new state
    passes the checks; returns (status, detail, value, new S), new S = S when
    the update fails.
    """
    t00, t01, t10, t11 = th[0, 0], th[0, 1], th[1, 0], th[1, 1]
    m0, m1 = mu[0], mu[1]
    st, D0, D1, D00, D01, D10, D11 = _dir2(code, sym, s, m0, m1, t00, t01, t10, t11, Y, i0, n)
    if st == NOT_PD:
        return NOT_PD, DETAIL_EIG, 0.0, S
    if st != OK:
        return INVALID, DETAIL_RULE_CODE, float(code), S
    f0, q0, i_m0 = _opt_elem(opt, D0, S[0], S[6], a, b1, b2, eps, c1, c2)
    f1, q1, i_m1 = _opt_elem(opt, D1, S[1], S[7], a, b1, b2, eps, c1, c2)
    f00, q00, i00 = _opt_elem(opt, D00, S[2], S[8], a, b1, b2, eps, c1, c2)
    f10, q10, i10 = _opt_elem(opt, D10, S[4], S[10], a, b1, b2, eps, c1, c2)
    f11, q11, i11 = _opt_elem(opt, D11, S[5], S[11], a, b1, b2, eps, c1, c2)
    if code == CHOLESKY or code == LOG_CHOLESKY:
        f01, q01 = S[3], S[9]  # not a coordinate: state and value stay
        n01 = t01
    else:
        f01, q01, i01 = _opt_elem(opt, D01, S[3], S[9], a, b1, b2, eps, c1, c2)
        n01 = t01 + i01
    n00 = t00 + i00
    n10 = t10 + i10
    n11 = t11 + i11
    if (code == COVARIANCE or code == PRECISION) and sym:
        v = 0.5 * (n01 + n10)
        n01 = v
        n10 = v
    nm0 = m0 + i_m0
    nm1 = m1 + i_m1
    st, det, val = _check2(code, sym, t00, t11, nm0, nm1, n00, n01, n10, n11)
    if st != OK:
        return st, det, val, S
    mu[0] = nm0
    mu[1] = nm1
    th[0, 0] = n00
    th[0, 1] = n01
    th[1, 0] = n10
    th[1, 1] = n11
    return st, det, val, (f0, f1, f00, f01, f10, f11, q0, q1, q00, q01, q10, q11)


@nb.njit(inline="always", **_JIT)
def load_state2(state_mu, state_th):
    """A d = 2 chain's optimizer state as the tuple ``step2_opt`` takes: first moments of
    (mu0, mu1, th00, th01, th10, th11), then the second moments in the same order."""
    return (state_mu[0, 0], state_mu[0, 1], state_th[0, 0, 0], state_th[0, 0, 1], state_th[0, 1, 0],
            state_th[0, 1, 1], state_mu[1, 0], state_mu[1, 1], state_th[1, 0, 0], state_th[1, 0, 1],
            state_th[1, 1, 0], state_th[1, 1, 1])


@nb.njit(inline="always", **_JIT)
def store_state2(S, state_mu, state_th):
    """Write a ``load_state2`` tuple back to the chain's state arrays."""
    state_mu[0, 0], state_mu[0, 1] = S[0], S[1]
    state_th[0, 0, 0], state_th[0, 0, 1], state_th[0, 1, 0], state_th[0, 1, 1] = S[2], S[3], S[4], S[5]
    state_mu[1, 0], state_mu[1, 1] = S[6], S[7]
    state_th[1, 0, 0], state_th[1, 0, 1], state_th[1, 1, 0], state_th[1, 1, 1] = S[8], S[9], S[10], S[11]


@nb.njit(**_JIT)
def check_codes(code, opt):
    """The kernels' own refusal of a rule/optimizer code pair: (status, detail, value).

    Unknown rule or optimizer codes, and riemannian with anything but sgd,
    stop the chain with INVALID before any update: nothing falls through to
    another rule.
    """
    if code < COVARIANCE or code > RIEMANNIAN:
        return INVALID, DETAIL_RULE_CODE, float(code)
    if opt < SGD or opt > ADAM or (code == RIEMANNIAN and opt != SGD):
        return INVALID, DETAIL_OPT_CODE, float(opt)
    return OK, DETAIL_NONE, 0.0


@nb.njit(**_JIT)
def _average(code, mu, th, n, avg_mu, avg_sigma, sigma, work, piv):
    """Fold the state after an update into the Polyak-Ruppert averages (docs/MATH.md), n = 1, 2, ...

    ``mu_bar += (mu - mu_bar) / n``, ``Sigma_bar += (Sigma - Sigma_bar) / n``
    in mu/Sigma space, so the average of PD matrices stays PD.
    """
    stored_to_sigma(th, code, sigma, work, piv)
    d = mu.shape[0]
    if n == 1:
        # The average of one state is that state; the increment form would round a state far
        # below the start (Sigma 1e-300 after Sigma 1) to (1e-300 - 1) + 1 = 0.
        for i in range(d):
            avg_mu[i] = mu[i]
            for j in range(d):
                avg_sigma[i, j] = sigma[i, j]
        return
    tf = float(n)
    for i in range(d):
        avg_mu[i] += (mu[i] - avg_mu[i]) / tf
        for j in range(d):
            avg_sigma[i, j] += (sigma[i, j] - avg_sigma[i, j]) / tf


@nb.njit(**_JIT)
def _fail(k, st, det, val, t, status, fail_step, fail_detail, fail_value):
    status[k] = st
    fail_step[k] = t + 1
    fail_detail[k] = det
    fail_value[k] = val


@nb.njit(**_JIT)
def _advance_chain2(
    k, codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``_advance_chain`` at d = 2 for an sgd chain (not riemannian): the same calls in the same
    order (bit-identical), with the chain's settings, step and status held in locals, views taken
    once and no scratch arrays unless the chunk records or averages (~40% more updates per second
    on one core).

    sgd runs here in the form it had before the optimizers came (its speed depends on this
    function and ``_step2`` staying small: LLVM inlines ``_step2`` into these loops); any
    other optimizer, and the riemannian rule, run in ``_advance_chain2_opt`` (the entry points
    choose; neither calls the other, so a run of sgd chains compiles neither the optimizers
    nor the riemannian rule).
    """
    n_rec = rec_mu.shape[1]
    code = codes[k]
    sym = syms[k]
    s = signs[k]
    alpha = alphas[k]
    sched = schedules[k]
    off = offsets[k]
    Ys = Y[streams[k]]
    mk = mu[k]
    tk = th[k]
    t = steps[k]
    stat = status[k]
    avg = avg_flags[k]
    if stat != OK and n_rec == 0:
        return
    # One loop, one call site: numba inlines _step2 here (a second site would double its
    # compile time); recording and averaging are branches the predictor learns.
    work = np.empty((2, 2)) if n_rec > 0 or avg else np.empty((0, 0))
    sig = np.empty((2, 2)) if avg else np.empty((0, 0))
    piv = np.empty(2, dtype=np.int64) if n_rec > 0 or avg else np.empty(0, dtype=np.int64)
    an = avg_n[k]
    for i in range(n_updates):
        if stat == OK:
            a = learning_rate(alpha, sched, t)
            st, det, val = _step2(code, sym, s, a, mk, tk, Ys, off + i * batch, batch)
            if st != OK:
                stat = st
                status[k] = st
                fail_step[k] = t + 1
                fail_detail[k] = det
                fail_value[k] = val
                if n_rec == 0:
                    break
            else:
                t += 1
                if avg:
                    an += 1
                    _average(code, mk, tk, an, avg_mu[k], avg_sigma[k], sig, work, piv)
        if n_rec > 0 and ((i + 1) % rec_every == 0 or i == n_updates - 1):
            j = i // rec_every
            if j >= n_rec:
                j = n_rec - 1
            rec_alpha[k, j] = learning_rate(alpha, sched, t)
            stored_to_sigma(tk, code, rec_sigma[k, j], work, piv)
            rec_asym[k, j] = relative_asymmetry(rec_sigma[k, j])
            rec_mu[k, j, 0] = mk[0]
            rec_mu[k, j, 1] = mk[1]
    steps[k] = t
    avg_n[k] = an


@nb.njit(**_JIT)
def _advance_chain2_opt(
    k, codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``_advance_chain2`` for a chain with an optimizer, or with the riemannian rule (sgd
    only): ``step2_opt`` is inlined into this one loop (its only call site: every inlined copy
    costs numba compile time) and the optimizer state rides along in a tuple, written back
    once per chunk."""
    n_rec = rec_mu.shape[1]
    code = codes[k]
    sym = syms[k]
    s = signs[k]
    alpha = alphas[k]
    sched = schedules[k]
    off = offsets[k]
    Ys = Y[streams[k]]
    mk = mu[k]
    tk = th[k]
    t = steps[k]
    stat = status[k]
    opt = opt_codes[k]
    avg = avg_flags[k]
    if stat != OK and n_rec == 0:
        return
    work = np.empty((2, 2))
    sig = np.empty((2, 2))
    piv = np.empty(2, dtype=np.int64)
    b1 = opt_params[k, 0]
    b2 = opt_params[k, 1]
    eps = opt_params[k, 2]
    h1 = bias_horizon(b1)
    h2 = bias_horizon(b2)
    S = load_state2(opt_mu[k], opt_th[k]) if opt != SGD else (0.0,) * 12
    to = opt_t[k]
    BP = bias_start(b1, b2, to + 1) if opt == ADAM else (1.0, 1.0, 1.0, 1.0)
    an = avg_n[k]
    for i in range(n_updates):
        if stat == OK:
            a = learning_rate(alpha, sched, t)
            if code == RIEMANNIAN:  # sgd only (check_codes)
                st, det, val = _riemann_step2(s, a, mk, tk, Ys, off + i * batch, batch)
            else:
                c1, c2 = bias_factors(opt, to + 1, h1, h2, BP)
                st, det, val, S = step2_opt(code, sym, s, a, opt, b1, b2, eps, c1, c2, mk, tk, S,
                                            Ys, off + i * batch, batch)
            if st != OK:
                stat = st
                _fail(k, st, det, val, t, status, fail_step, fail_detail, fail_value)
            else:
                t += 1
                if opt != SGD:
                    to += 1
                    if opt == ADAM and (to < h1 or to < h2):
                        BP = bias_advance(b1, b2, to + 1, BP)
                if avg:
                    an += 1
                    _average(code, mk, tk, an, avg_mu[k], avg_sigma[k], sig, work, piv)
        if n_rec > 0 and ((i + 1) % rec_every == 0 or i == n_updates - 1):
            j = i // rec_every
            if j >= n_rec:
                j = n_rec - 1
            rec_alpha[k, j] = learning_rate(alpha, sched, t)
            stored_to_sigma(tk, code, rec_sigma[k, j], work, piv)
            rec_asym[k, j] = relative_asymmetry(rec_sigma[k, j])
            rec_mu[k, j, 0] = mk[0]
            rec_mu[k, j, 1] = mk[1]
    steps[k] = t
    opt_t[k] = to
    avg_n[k] = an
    if opt != SGD:
        store_state2(S, opt_mu[k], opt_th[k])


@nb.njit(**_JIT)
def _advance_chain_sgd(
    k,
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``_advance_chain`` for an sgd chain (any d but 2; the riemannian rule included): the same
    calls in the same order without the optimizer's state, so a run of sgd chains does not
    compile the optimizers."""
    d = mu.shape[1]
    n_rec = rec_mu.shape[1]
    code = codes[k]
    mats = np.empty((7, d, d))
    vecs = np.empty((6, d))
    sigma, P, G, C, work, work2, th_old = mats[0], mats[1], mats[2], mats[3], mats[4], mats[5], mats[6]
    mu_old, rbar, r, u, w, vals = vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], vecs[5]
    piv = np.empty(d, dtype=np.int64)
    sym = syms[k]
    s = signs[k]
    avg = avg_flags[k]
    Ys = Y[streams[k]]
    for i in range(n_updates):
        if status[k] == OK:
            t = steps[k]
            a = learning_rate(alphas[k], schedules[k], t)
            i0 = offsets[k] + i * batch
            for p in range(d):
                mu_old[p] = mu[k, p]
                for q in range(d):
                    th_old[p, q] = th[k, p, q]
            ok = one_update(code, sym, s, a, mu[k], th[k], Ys, i0, batch,
                            sigma, P, G, rbar, C, r, u, w, work, piv)
            if ok:
                st, det, val = check_state(code, sym, mu[k], th[k], th_old, work, work2, vals)
            else:
                st, det, val = NOT_PD, DETAIL_EIG, 0.0
            if st != OK:
                for p in range(d):
                    mu[k, p] = mu_old[p]
                    for q in range(d):
                        th[k, p, q] = th_old[p, q]
                _fail(k, st, det, val, t, status, fail_step, fail_detail, fail_value)
            else:
                steps[k] = t + 1
                if avg:
                    avg_n[k] += 1
                    _average(code, mu[k], th[k], avg_n[k], avg_mu[k], avg_sigma[k], sigma, work, piv)
        if n_rec > 0 and ((i + 1) % rec_every == 0 or i == n_updates - 1):
            j = i // rec_every
            if j >= n_rec:
                j = n_rec - 1
            rec_alpha[k, j] = learning_rate(alphas[k], schedules[k], steps[k])
            stored_to_sigma(th[k], code, rec_sigma[k, j], work, piv)
            rec_asym[k, j] = relative_asymmetry(rec_sigma[k, j])
            for p in range(d):
                rec_mu[k, j, p] = mu[k, p]


@nb.njit(**_JIT)
def _advance_chain(
    k, codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """The whole chunk for chain k at any d, any optimizer (scratch is per call, so chains can
    run in parallel); the entry points check the codes first."""
    d = mu.shape[1]
    n_rec = rec_mu.shape[1]
    code = codes[k]
    opt = opt_codes[k]
    mats = np.empty((7, d, d))
    vecs = np.empty((6, d))
    sigma, P, G, C, work, work2, th_old = mats[0], mats[1], mats[2], mats[3], mats[4], mats[5], mats[6]
    mu_old, rbar, r, u, w, vals = vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], vecs[5]
    piv = np.empty(d, dtype=np.int64)
    sym = syms[k]
    s = signs[k]
    avg = avg_flags[k]
    b1 = opt_params[k, 0]
    b2 = opt_params[k, 1]
    eps = opt_params[k, 2]
    h1 = bias_horizon(b1)
    h2 = bias_horizon(b2)
    BP = bias_start(b1, b2, opt_t[k] + 1) if opt == ADAM else (1.0, 1.0, 1.0, 1.0)
    if opt != SGD:
        new_mu = np.empty((2, d))
        new_th = np.empty((2, d, d))
    else:
        new_mu = np.empty((2, 0))
        new_th = np.empty((2, 0, 0))
    Ys = Y[streams[k]]
    for i in range(n_updates):
        if status[k] == OK:
            t = steps[k]
            a = learning_rate(alphas[k], schedules[k], t)
            i0 = offsets[k] + i * batch
            for p in range(d):
                mu_old[p] = mu[k, p]
                for q in range(d):
                    th_old[p, q] = th[k, p, q]
            if opt == SGD:
                ok = one_update(code, sym, s, a, mu[k], th[k], Ys, i0, batch,
                                sigma, P, G, rbar, C, r, u, w, work, piv)
            else:
                c1, c2 = bias_factors(opt, opt_t[k] + 1, h1, h2, BP)
                ok = optimizer_update(code, sym, s, a, opt, b1, b2, eps, c1, c2, mu[k], th[k], Ys, i0, batch,
                                      sigma, P, G, rbar, C, r, u, work, piv, opt_mu[k], opt_th[k], new_mu, new_th)
            if ok:
                st, det, val = check_state(code, sym, mu[k], th[k], th_old, work, work2, vals)
            else:
                st, det, val = NOT_PD, DETAIL_EIG, 0.0
            if st != OK:
                for p in range(d):
                    mu[k, p] = mu_old[p]
                    for q in range(d):
                        th[k, p, q] = th_old[p, q]
                _fail(k, st, det, val, t, status, fail_step, fail_detail, fail_value)
            else:
                steps[k] = t + 1
                if opt != SGD:
                    opt_mu[k] = new_mu
                    opt_th[k] = new_th
                    opt_t[k] += 1
                    if opt == ADAM and (opt_t[k] < h1 or opt_t[k] < h2):
                        BP = bias_advance(b1, b2, opt_t[k] + 1, BP)
                if avg:
                    avg_n[k] += 1
                    _average(code, mu[k], th[k], avg_n[k], avg_mu[k], avg_sigma[k], sigma, work, piv)
        if n_rec > 0 and ((i + 1) % rec_every == 0 or i == n_updates - 1):
            j = i // rec_every
            if j >= n_rec:
                j = n_rec - 1
            rec_alpha[k, j] = learning_rate(alphas[k], schedules[k], steps[k])
            stored_to_sigma(th[k], code, rec_sigma[k, j], work, piv)
            rec_asym[k, j] = relative_asymmetry(rec_sigma[k, j])
            for p in range(d):
                rec_mu[k, j, p] = mu[k, p]


@nb.njit(**_JIT)
def _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value):
    """``check_codes`` for chain k: an invalid pair stops the chain (INVALID) before any update
    (a stopped chain still records its state)."""
    if status[k] == OK:
        st, det, val = check_codes(codes[k], opt_codes[k])
        if st != OK:
            _fail(k, st, det, val, steps[k], status, fail_step, fail_detail, fail_value)


@nb.njit(**_JIT)
def _advance_chain_any(
    k,
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """Chain k by its dimension and optimizer (every path compiled)."""
    if mu.shape[1] != 2:
        _advance_chain(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                       opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                       Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                       rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)
    elif opt_codes[k] != SGD or codes[k] == RIEMANNIAN:
        _advance_chain2_opt(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                            opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                            Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                            rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)
    else:
        _advance_chain2(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                        opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                        Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                        rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(**_JIT)
def _advance_chain2_any(
    k,
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """Chain k at d = 2 by its optimizer."""
    if opt_codes[k] != SGD or codes[k] == RIEMANNIAN:
        _advance_chain2_opt(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                            opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                            Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                            rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)
    else:
        _advance_chain2(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                        opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                        Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                        rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


# Entry points. numba compiles every function a kernel can reach, taken or not: one entry point
# for everything made a first d = 2 update compile the optimizers, the riemannian rule and the
# general-d path too (~68 s of CPU on a 2-core machine). These compile what their chains use.
@nb.njit(**_JIT)
def advance_chains(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """Run ``n_updates`` updates on every running chain, one chain after another.

    Chain k reads batch b from ``Y[streams[k], offsets[k] + b*batch :]``. A
    failing update is not applied (parameters, optimizer state and averages
    all stay): the chain stops with its last good state and ``status``/``fail_*``
    say why and at which update. After update i (0-based) with
    ``(i + 1) % rec_every == 0`` or the last one, the state is written to the
    ``rec_*`` arrays at index ``i // rec_every`` (the last one at ``R - 1``).
    ``opt_mu``/``opt_th`` may have zero-size trailing axes when no chain uses
    an optimizer, ``avg_mu``/``avg_sigma`` when no chain averages.

    Any d, any optimizer: it compiles every path. ``advance_kernel`` picks a
    leaner entry point with the same arguments and the same numbers.
    """
    for k in range(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain_any(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                           opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                           Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                           rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(parallel=True, **_JIT)
def advance_chains_parallel(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` with the chains spread over all cores (bit-identical: chains are
    independent)."""
    for k in nb.prange(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain_any(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                           opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                           Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                           rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(**_JIT)
def advance_sgd(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for sgd chains at any d but 2."""
    for k in range(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain_sgd(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                           opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                           Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                           rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(**_JIT)
def advance_opt(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for chains at any d but 2, any optimizer."""
    for k in range(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                       opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                       Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                       rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(**_JIT)
def advance_sgd2(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for sgd chains at d = 2 (not riemannian)."""
    for k in range(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain2(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                        opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                        Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                        rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(**_JIT)
def advance_opt2(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for chains at d = 2, any optimizer or rule."""
    for k in range(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain2_any(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                            opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                            Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                            rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(parallel=True, **_JIT)
def advance_sgd_parallel(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for sgd chains at any d but 2, the chains spread over all cores."""
    for k in nb.prange(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain_sgd(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                           opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                           Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                           rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(parallel=True, **_JIT)
def advance_opt_parallel(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for chains at any d but 2, any optimizer, the chains spread over all cores."""
    for k in nb.prange(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                       opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                       Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                       rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(parallel=True, **_JIT)
def advance_sgd2_parallel(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for sgd chains at d = 2 (not riemannian), the chains spread over all cores."""
    for k in nb.prange(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain2(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                        opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                        Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                        rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(parallel=True, **_JIT)
def advance_opt2_parallel(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` for chains at d = 2, any optimizer or rule, the chains spread over all cores."""
    for k in nb.prange(mu.shape[0]):
        _check_codes(k, codes, opt_codes, steps, status, fail_step, fail_detail, fail_value)
        _advance_chain2_any(k, codes, syms, signs, schedules, alphas, steps, mu, th,
                            opt_codes, opt_params, avg_flags, opt_mu, opt_th, opt_t, avg_n, avg_mu, avg_sigma,
                            Y, streams, offsets, batch, n_updates, status, fail_step, fail_detail, fail_value,
                            rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


def needs_optimizers(codes: np.ndarray, opt_codes: np.ndarray) -> bool:
    """True unless every chain is a plain sgd chain (at d = 2: and not riemannian)."""
    return bool(np.any(opt_codes != SGD) or np.any(codes == RIEMANNIAN))


def advance_kernel(d: int, parallel: bool, optimizers: bool = True):
    """The lean entry point for chains of dimension ``d`` (all take ``advance_chains``' arguments
    and give its numbers); ``optimizers``: ``needs_optimizers(codes, opt_codes)``."""
    if d == 2:
        if optimizers:
            return advance_opt2_parallel if parallel else advance_opt2
        return advance_sgd2_parallel if parallel else advance_sgd2
    if optimizers:
        return advance_opt_parallel if parallel else advance_opt
    return advance_sgd_parallel if parallel else advance_sgd


@nb.njit(**_JIT)
def _cholesky_logdet(S, Lc):
    """The lower Cholesky factor of the symmetric S (d, d) into Lc, and log det S; NaN when S is
    not positive definite (a pivot <= 0 or not finite). Shared by the KL and the held-out
    log-likelihood (docs/MATH.md, metrics)."""
    d = S.shape[0]
    logdet = 0.0
    for i in range(d):
        for j in range(i + 1):
            v = S[i, j]
            for k in range(j):
                v -= Lc[i, k] * Lc[j, k]
            if i == j:
                if not (v > 0.0) or not math.isfinite(v):
                    return np.nan
                Lc[i, i] = math.sqrt(v)
                logdet += math.log(v)
            else:
                Lc[i, j] = v / Lc[j, j]
    return logdet


@nb.njit(**_JIT)
def heldout_loglik(mu, sigma, Y, out):
    """Mean log-likelihood of a held-out batch Y (n, d) under each of a stack of (mu, Sigma)
    (M, d), (M, d, d), into out (M,): -inf where the symmetric part of Sigma is not positive
    definite or the value overflows (docs/MATH.md, metrics). One compiled loop without the GIL:
    as numpy calls per chain it held the GIL for half of a five-chain snapshot."""
    M = mu.shape[0]
    d = mu.shape[1]
    n = Y.shape[0]
    S = np.empty((d, d))
    Lc = np.empty((d, d))
    z = np.empty(d)
    log2pi = math.log(2.0 * math.pi)
    for m in range(M):
        for i in range(d):
            for j in range(d):
                S[i, j] = 0.5 * (sigma[m, i, j] + sigma[m, j, i])
        logdet = _cholesky_logdet(S, Lc)
        if math.isnan(logdet):
            out[m] = -np.inf
            continue
        ss = 0.0
        for r in range(n):
            for i in range(d):
                v = Y[r, i] - mu[m, i]
                for k in range(i):
                    v -= Lc[i, k] * z[k]
                z[i] = v / Lc[i, i]
                ss += z[i] * z[i]
        ll = -0.5 * (d * log2pi + logdet + ss / n)
        out[m] = ll if math.isfinite(ll) else -np.inf
    return out


@nb.njit(**_JIT)
def gaussian_metrics(mu, sigma, true_mu, true_sigma, true_logdet, eig_out, kl_out):
    """Eigenvalues and KL(true || estimate) for a stack of (mu, Sigma) (M, d), (M, d, d).

    Uses the symmetric part of Sigma; a non-PD estimate gets KL = inf (callers
    keep that away from plots).
    """
    M = mu.shape[0]
    d = mu.shape[1]
    S = np.empty((d, d))
    Lc = np.empty((d, d))
    x = np.empty(d)
    for m in range(M):
        for i in range(d):
            for j in range(d):
                S[i, j] = 0.5 * (sigma[m, i, j] + sigma[m, j, i])
        if d == 1:
            eig_out[m, 0] = S[0, 0]
        elif d == 2:
            p = S[0, 0]
            q = S[1, 1]
            h = math.hypot(0.5 * (p - q), S[0, 1])
            eig_out[m, 0] = 0.5 * (p + q) - h
            eig_out[m, 1] = 0.5 * (p + q) + h
        else:
            ev = np.linalg.eigvalsh(S)
            for i in range(d):
                eig_out[m, i] = ev[i]
        if kl_out.shape[0] == 0:
            continue
        # KL via the Cholesky factor of the estimate: tr(P S*) = ||L^-1 A*||_F^2
        # with S* = A* A*^T; (mu - mu*)^T P (mu - mu*) = ||L^-1 (mu - mu*)||^2.
        logdet = _cholesky_logdet(S, Lc)
        if math.isnan(logdet):
            kl_out[m] = np.inf
            continue
        # tr(P Sigma*) = sum_j ||L^-1 Sigma*[:, j]|| ... computed column by column.
        tr = 0.0
        for c in range(d):
            for i in range(d):
                v = true_sigma[i, c]
                for k in range(i):
                    v -= Lc[i, k] * x[k]
                x[i] = v / Lc[i, i]
            # x = L^-1 Sigma*[:, c]; need (L^-T x)[c]
            for i in range(d - 1, -1, -1):
                v = x[i]
                for k in range(i + 1, d):
                    v -= Lc[k, i] * x[k]
                x[i] = v / Lc[i, i]
            tr += x[c]
        maha = 0.0
        for i in range(d):
            v = mu[m, i] - true_mu[i]
            for k in range(i):
                v -= Lc[i, k] * x[k]
            x[i] = v / Lc[i, i]
            maha += x[i] * x[i]
        kl_out[m] = 0.5 * (tr + maha - d + logdet - true_logdet)


@nb.njit(**_JIT)
def running_moments(Y: np.ndarray, ends: np.ndarray, n0: int, mean: np.ndarray, m2: np.ndarray,
                    means: np.ndarray, covs: np.ndarray) -> int:
    """The running MLE (``core.reference``) fed ``Y`` segment by segment, without the GIL.

    Each segment ``Y[ends[j-1]:ends[j]]`` (the last runs to ``len(Y)``) is reduced to its mean
    and its scatter about that mean, then merged into (n, mean, m2) by Chan's parallel formula
    (docs/MATH.md "Reference"); ``means[j]``, ``covs[j]`` receive the estimate after segment j.
    ``mean`` and ``m2`` are updated in place; returns the new count. In the window this runs
    beside the GUI thread: as numpy calls in a Python loop it held the GIL for most of a chunk.
    """
    n, d = Y.shape
    n_ends = ends.shape[0]
    na = n0
    mb = np.empty(d)
    sc = np.empty((d, d))
    start = 0
    for j in range(n_ends + 1):
        e = ends[j] if j < n_ends else n
        nb_ = e - start
        if nb_ > 0:
            for k in range(d):
                mb[k] = 0.0
            for i in range(start, e):
                for k in range(d):
                    mb[k] += Y[i, k]
            for k in range(d):
                mb[k] /= nb_
            for k in range(d):
                for m in range(d):
                    sc[k, m] = 0.0
            for i in range(start, e):
                for k in range(d):
                    ck = Y[i, k] - mb[k]
                    for m in range(k, d):
                        sc[k, m] += ck * (Y[i, m] - mb[m])
            tot = na + nb_
            w = na * nb_ / tot
            for k in range(d):
                dk = mb[k] - mean[k]
                for m in range(k, d):
                    v = m2[k, m] + sc[k, m] + dk * (mb[m] - mean[m]) * w
                    m2[k, m] = v
                    m2[m, k] = v
            for k in range(d):
                mean[k] += (mb[k] - mean[k]) * (nb_ / tot)
            na = tot
        if j < n_ends:
            for k in range(d):
                means[j, k] = mean[k]
                for m in range(d):
                    covs[j, k, m] = m2[k, m] / na if na > 0 else m2[k, m]
        start = e
    return na


def start_kernels(d: int, optimizers: bool = False) -> tuple:
    """The kernels a run of dimension ``d`` needs before its first update is drawn."""
    return (times_transpose, stored_to_sigma, gaussian_metrics, heldout_loglik, relative_asymmetry, learning_rate,
            running_moments, advance_kernel(d, False, optimizers))


def cached(d: int, optimizers: bool = False) -> bool:
    """True when numba's cache holds every kernel a run of dimension ``d`` starts with, compiled from
    this very source (a start then loads them in well under a second); False when a start compiles
    them (a first start, or the first after an upgrade). Reads the cache's index files only."""
    from .jit import in_cache

    return all(in_cache(k) for k in start_kernels(d, optimizers))
