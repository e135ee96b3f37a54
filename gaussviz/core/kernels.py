"""Compiled update kernels: the hot loop of every estimator in gaussviz.

Everything here is a plain function over arrays, compiled by numba with
``nogil=True`` so that a worker thread can run it flat out while the Qt event
loop keeps the GIL (a Python loop in a thread starves the GUI: p99 > 1 s).

State of K independent chains:

- ``mu`` (K, d): the mean.
- ``th`` (K, d, d): the stored covariance parameter, whose meaning depends on
  the chain's parameterization code (see ``PARAM_CODES``): Sigma for
  ``covariance`` and ``natural``, Lambda = inv(Sigma) for ``precision``, the
  lower Cholesky factor L for ``cholesky``, and L with log(L_kk) stored on the
  diagonal for ``log-cholesky``.

The formulas are those of MATH.md; they are tested against finite differences
of the log-likelihood, not against a copy of themselves.
"""

from __future__ import annotations

import math

from .paths import configure_numba_cache

configure_numba_cache()  # before numba: the cache goes to the user's cache folder, not next to this file

import numba as nb  # noqa: E402
import numpy as np  # noqa: E402

# Parameterization codes (the order is part of the session format: do not reorder).
COVARIANCE = 0
PRECISION = 1
CHOLESKY = 2
LOG_CHOLESKY = 3
NATURAL = 4

# Schedule codes.
CONSTANT = 0
INVERSE = 1
INVERSE_SQRT = 2

# Chain status codes (0 = running). The reason order is the check order of MATH.md.
OK = 0
NON_FINITE = 1
ASYMMETRIC = 2
NOT_PD = 3
EXPLODED = 4

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
    asymmetry drift of MATH.md. Returns False when the matrix is singular.
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
    if code == COVARIANCE or code == NATURAL:
        for i in range(d):
            for j in range(d):
                sigma[i, j] = th[i, j]
        return True
    if code == PRECISION:
        return _inverse(th, sigma, work, piv)
    _chol_to_sigma(th, code, sigma)
    return True


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
    """Divergence tests of MATH.md, in their order: (status, detail, value)."""
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
    else:
        pd, lo, hi = _spd_extremes(th, work, vals)
        if not pd:
            return NOT_PD, DETAIL_EIG, lo
        if code == PRECISION:
            # Eigenvalues of Sigma are the reciprocals of Lambda's.
            lo, hi = 1.0 / hi, 1.0 / lo
    if hi > EXPLODE_LIMIT:
        return EXPLODED, DETAIL_LARGEST, hi
    if hi > EXPLODE_LIMIT * lo:
        return EXPLODED, DETAIL_COND, hi / lo
    return OK, DETAIL_NONE, 0.0


@nb.njit(**_JIT)
def relative_asymmetry(a):
    """||A - A^T||_F / ||A||_F: the drift MATH.md says a one-triangle check misses."""
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
def one_update(code, sym, s, a, mu, th, Y, i0, n, sigma, P, G, rbar, C, r, u, w, work, piv):
    """Apply one simultaneous update to (mu, th) with the batch Y[i0:i0+n].

    Returns False if Sigma could not be inverted (the caller reports it).
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
    else:
        _chol_to_sigma(th, code, sigma)
        if not _inverse(sigma, P, work, piv):
            return False
        _symmetrize(P)

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
            # 1 + a/(2 l_i l_j) per update (MATH.md "Asymmetry drift").
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
    else:
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


@nb.njit(**_JIT)
def _step2(code, sym, s, a, mu, th, Y, i0, n):
    """One update and its divergence checks at d = 2, in scalars.

    The same arithmetic as ``one_update`` + ``check_state`` (the finite-difference
    tests cover both paths), about ten times faster because nothing loops or
    touches scratch arrays. Writes (mu, th) only when the new state passes the
    checks; returns (status, detail, value).
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
    else:
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
    # ---- checks, in the order of MATH.md
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


# Inlined into the entry points (numba IR): one compiled level fewer, ~25 % less compile time.
@nb.njit(inline='always', **_JIT)
def _advance_chain2(
    k, codes, syms, signs, schedules, alphas, steps, mu, th,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``_advance_chain`` at d = 2: the same calls in the same order (bit-identical), with the
    chain's settings, step and status held in locals, views taken once and no scratch arrays
    unless the chunk records (~40% more updates per second on one core)."""
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
    if n_rec == 0:
        if stat != OK:
            return
        for i in range(n_updates):
            a = learning_rate(alpha, sched, t)
            st, det, val = _step2(code, sym, s, a, mk, tk, Ys, off + i * batch, batch)
            if st != OK:
                status[k] = st
                fail_step[k] = t + 1
                fail_detail[k] = det
                fail_value[k] = val
                break
            t += 1
        steps[k] = t
        return
    work = np.empty((2, 2))
    piv = np.empty(2, dtype=np.int64)
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
            else:
                t += 1
        if (i + 1) % rec_every == 0 or i == n_updates - 1:
            j = i // rec_every
            if j >= n_rec:
                j = n_rec - 1
            rec_alpha[k, j] = learning_rate(alpha, sched, t)
            stored_to_sigma(tk, code, rec_sigma[k, j], work, piv)
            rec_asym[k, j] = relative_asymmetry(rec_sigma[k, j])
            rec_mu[k, j, 0] = mk[0]
            rec_mu[k, j, 1] = mk[1]
    steps[k] = t


# Inlined into the entry points, like _advance_chain2.
@nb.njit(inline='always', **_JIT)
def _advance_chain(
    k, codes, syms, signs, schedules, alphas, steps, mu, th,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """The whole chunk for chain k at any d but 2 (scratch is per call, so chains can run in parallel)."""
    d = mu.shape[1]
    n_rec = rec_mu.shape[1]
    mats = np.empty((7, d, d))
    vecs = np.empty((6, d))
    sigma, P, G, C, work, work2, th_old = mats[0], mats[1], mats[2], mats[3], mats[4], mats[5], mats[6]
    mu_old, rbar, r, u, w, vals = vecs[0], vecs[1], vecs[2], vecs[3], vecs[4], vecs[5]
    piv = np.empty(d, dtype=np.int64)
    code = codes[k]
    sym = syms[k]
    s = signs[k]
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
            if st != OK:
                status[k] = st
                fail_step[k] = t + 1
                fail_detail[k] = det
                fail_value[k] = val
            else:
                steps[k] = t + 1
        if n_rec > 0 and ((i + 1) % rec_every == 0 or i == n_updates - 1):
            j = i // rec_every
            if j >= n_rec:
                j = n_rec - 1
            rec_alpha[k, j] = learning_rate(alphas[k], schedules[k], steps[k])
            stored_to_sigma(th[k], code, rec_sigma[k, j], work, piv)
            rec_asym[k, j] = relative_asymmetry(rec_sigma[k, j])
            for p in range(d):
                rec_mu[k, j, p] = mu[k, p]


# Four entry points, so that a run compiles only what its dimension uses (d = 2 has its own
# scalar path; numba compiles every function a kernel can reach, used or not): a first start
# on a 1-D preset compiles neither _step2 nor the parallel machinery. ``advance_kernel`` picks one.
@nb.njit(**_JIT)
def advance_chains(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """Run ``n_updates`` updates on every running chain (any d but 2), one chain after another.

    Chain k reads batch b from ``Y[streams[k], offsets[k] + b*batch :]``. A
    failing update is not applied: the chain stops with its last good state and
    ``status``/``fail_*`` say why and at which update. After update i (0-based)
    with ``(i + 1) % rec_every == 0`` or the last one, the state is written to
    the ``rec_*`` arrays at index ``i // rec_every`` (the last one at ``R - 1``).
    """
    for k in range(mu.shape[0]):
        _advance_chain(k, codes, syms, signs, schedules, alphas, steps, mu, th, Y, streams, offsets,
                       batch, n_updates, status, fail_step, fail_detail, fail_value,
                       rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(parallel=True, **_JIT)
def advance_chains_parallel(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """Any d but 2, the chains spread over all cores (sweeps, forecasts); chains are
    independent, so the result is bit-identical to the serial one."""
    for k in nb.prange(mu.shape[0]):
        _advance_chain(k, codes, syms, signs, schedules, alphas, steps, mu, th, Y, streams, offsets,
                       batch, n_updates, status, fail_step, fail_detail, fail_value,
                       rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(**_JIT)
def advance_chains2(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains`` at d = 2 (the scalar path ``_step2``)."""
    for k in range(mu.shape[0]):
        _advance_chain2(k, codes, syms, signs, schedules, alphas, steps, mu, th, Y, streams, offsets,
                        batch, n_updates, status, fail_step, fail_detail, fail_value,
                        rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


@nb.njit(parallel=True, **_JIT)
def advance_chains2_parallel(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """``advance_chains2`` with the chains spread over all cores."""
    for k in nb.prange(mu.shape[0]):
        _advance_chain2(k, codes, syms, signs, schedules, alphas, steps, mu, th, Y, streams, offsets,
                        batch, n_updates, status, fail_step, fail_detail, fail_value,
                        rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym)


def advance_kernel(d: int, parallel: bool):
    """The entry point for chains of dimension ``d`` (same arguments for all four)."""
    if d == 2:
        return advance_chains2_parallel if parallel else advance_chains2
    return advance_chains_parallel if parallel else advance_chains


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
        ok = True
        logdet = 0.0
        for i in range(d):
            for j in range(i + 1):
                v = S[i, j]
                for k in range(j):
                    v -= Lc[i, k] * Lc[j, k]
                if i == j:
                    if not (v > 0.0) or not math.isfinite(v):
                        ok = False
                        break
                    Lc[i, i] = math.sqrt(v)
                    logdet += math.log(v)
                else:
                    Lc[i, j] = v / Lc[j, j]
            if not ok:
                break
        if not ok:
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


def start_kernels(d: int) -> tuple:
    """The kernels a run of dimension ``d`` needs before its first update is drawn."""
    return (times_transpose, stored_to_sigma, gaussian_metrics, relative_asymmetry, learning_rate,
            advance_kernel(d, False))


def cached(d: int) -> bool:
    """True when numba's cache holds every kernel a run of dimension ``d`` starts with, compiled from
    this very source (a start then loads them in well under a second); False when a start compiles
    them (a first start, or the first after an upgrade: several seconds). Reads the cache's index
    files only. True when numba's cache layout is not the one known here (no false alarm)."""
    try:
        return all(bool(k._cache._cache_file._load_index()) for k in start_kernels(d))
    except Exception:
        return True
