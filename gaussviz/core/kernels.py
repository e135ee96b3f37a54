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

import numba as nb
import numpy as np

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
    num = 0.0
    den = 0.0
    for i in range(d):
        for j in range(d):
            den += a[i, j] * a[i, j]
            if i != j:
                v = a[i, j] - a[j, i]
                num += v * v
    if den == 0.0:
        return 0.0
    return math.sqrt(num / den)


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
def advance_chains(
    codes, syms, signs, schedules, alphas, steps, mu, th,
    Y, streams, offsets, batch, n_updates,
    status, fail_step, fail_detail, fail_value,
    rec_every, rec_alpha, rec_mu, rec_sigma, rec_asym,
):
    """Run ``n_updates`` updates on every running chain.

    Chain k reads batch b from ``Y[streams[k], offsets[k] + b*batch :]``.
    After update i (0-based) with ``(i + 1) % rec_every == 0`` or the last one,
    the state (last good state for a stopped chain) is written to the ``rec_*``
    arrays at index ``i // rec_every`` (the last one at ``R - 1``).
    Returns nothing; ``steps`` counts each chain's applied updates.
    """
    K = mu.shape[0]
    d = mu.shape[1]
    n_rec = rec_mu.shape[1]
    sigma = np.empty((d, d))
    P = np.empty((d, d))
    G = np.empty((d, d))
    C = np.empty((d, d))
    work = np.empty((d, d))
    work2 = np.empty((d, d))
    mu_old = np.empty(d)
    th_old = np.empty((d, d))
    rbar = np.empty(d)
    r = np.empty(d)
    u = np.empty(d)
    w = np.empty(d)
    vals = np.empty(d)
    piv = np.empty(d, dtype=np.int64)
    for k in range(K):
        code = codes[k]
        sym = syms[k]
        s = signs[k]
        src = streams[k]
        for i in range(n_updates):
            if status[k] == OK:
                t = steps[k]
                a = learning_rate(alphas[k], schedules[k], t)
                for p in range(d):
                    mu_old[p] = mu[k, p]
                    for q in range(d):
                        th_old[p, q] = th[k, p, q]
                ok = one_update(code, sym, s, a, mu[k], th[k], Y[src], offsets[k] + i * batch,
                                batch, sigma, P, G, rbar, C, r, u, w, work, piv)
                if ok:
                    st, det, val = check_state(code, sym, mu[k], th[k], th_old, work, work2, vals)
                else:
                    st, det, val = NOT_PD, DETAIL_EIG, 0.0
                if st != OK:
                    status[k] = st
                    fail_step[k] = t + 1
                    fail_detail[k] = det
                    fail_value[k] = val
                    for p in range(d):
                        mu[k, p] = mu_old[p]
                        for q in range(d):
                            th[k, p, q] = th_old[p, q]
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
