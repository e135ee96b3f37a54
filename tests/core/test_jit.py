"""The kernels' entry points and their interpreted twins (core/jit.py, issue 13).

- Every lean entry point (``advance_kernel``) computes exactly what the all-paths
  ``advance_chains`` computes, for the chains it is chosen for.
- The interpreted twin (the same source, not compiled) computes exactly what the
  compiled kernels compute, so a run that starts interpreted and switches half-way
  gives the numbers of a compiled run.
- Interpreting compiles nothing (a fresh process with an empty numba cache).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gaussviz.core import jit
from gaussviz.core import kernels as kn
from gaussviz.core.estimator import BatchEstimator
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import build_run

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _estimators(d: int, optimizers: bool, **extra):
    rules = ["covariance", "precision", "cholesky", "log-cholesky", "natural"]
    K = 10
    kw = dict(parameterization=[rules[k % 5] for k in range(K)], alpha=list(np.geomspace(1e-3, 0.05, K)),
              averaging=[k % 3 == 0 for k in range(K)], schedule="inverse-sqrt", symmetrize=True, **extra)
    if optimizers:
        kw["optimizer"] = ["sgd", "adam", "momentum", "rmsprop", "nesterov"] * 2
    return [BatchEstimator(np.zeros(d), np.eye(d), n_chains=K, **kw) for _ in range(2)]


def _state(e: BatchEstimator) -> list[np.ndarray]:
    return [e._mu, e._th, e._steps, e._status, e._fail_step, e._fail_value, e._opt_mu, e._opt_th, e._avg_mu,
            e._avg_sigma]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("optimizers", [False, True])
def test_each_lean_entry_point_equals_the_all_paths_kernel(d, optimizers, monkeypatch):
    rng = np.random.default_rng(d)
    Y = np.ascontiguousarray(rng.standard_normal((600, d)) * 1.5 + 0.2)
    lean, full = _estimators(d, optimizers)
    assert kn.needs_optimizers(lean._codes, lean._opt_codes) == optimizers
    rec_lean = lean.advance(Y, record_every=40)
    monkeypatch.setattr(kn, "advance_kernel", lambda d, parallel, optimizers=True: kn.advance_chains)
    rec_full = full.advance(Y, record_every=40)
    for a, b in zip(_state(lean) + list(rec_lean), _state(full) + list(rec_full), strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    assert np.any(lean._status != kn.OK) or lean._steps.min() == 600  # something happened


def test_riemannian_picks_the_optimizer_path_at_d_2():
    e = BatchEstimator(np.zeros(2), np.eye(2), parameterization="riemannian", alpha=0.01)
    assert kn.needs_optimizers(e._codes, e._opt_codes)
    assert kn.advance_kernel(2, False, True) is kn.advance_opt2
    assert kn.advance_kernel(2, False, False) is kn.advance_sgd2
    assert kn.advance_kernel(3, True, False) is kn.advance_sgd_parallel


def _run_preset(name: str, steps: int, interpreted: bool):
    jit.set_interpreted(interpreted)
    try:
        run = build_run(get_preset(name))
        while run.step < steps and not run.all_diverged:
            run.advance(min(97, steps - run.step))  # odd chunks: chunking changes no bit
        return run.snapshot()
    finally:
        jit.set_interpreted(False)


@pytest.mark.parametrize("name, steps", [("seed-question", 600), ("start-too-small", 50),
                                         ("ill-conditioned-covariance", 120), ("what-am-i-missing", 300),
                                         ("heavy-tails", 300)])
def test_a_run_interpreted_gives_the_numbers_of_the_compiled_run(name, steps):
    before = len(jit.fallbacks)
    a = _run_preset(name, steps, interpreted=False)
    b = _run_preset(name, steps, interpreted=True)
    assert a.step == b.step > 0
    for ca, cb in zip(a.chains, b.chains, strict=True):
        assert np.array_equal(ca.mean, cb.mean) and np.array_equal(ca.cov, cb.cov)
        assert (ca.steps == cb.steps and ca.divergence == cb.divergence and ca.kl == cb.kl) or np.isnan(ca.kl)
    assert np.array_equal(a.history.kl, b.history.kl, equal_nan=True)
    assert jit.fallbacks[before:] == []  # these runs did not need the compiled fallback


@pytest.mark.parametrize("d", [2, 3])
def test_interpreted_optimizers_and_riemannian_match_compiled(d):
    rng = np.random.default_rng(7)
    Y = np.ascontiguousarray(rng.standard_normal((150, d)))
    comp, interp = _estimators(d, True)
    comp.advance(Y, record_every=25)
    jit.set_interpreted(True)
    try:
        interp.advance(Y, record_every=25)
    finally:
        jit.set_interpreted(False)
    for a, b in zip(_state(comp), _state(interp), strict=True):
        assert np.array_equal(a, b, equal_nan=True)
    r1 = BatchEstimator(np.zeros(d), np.eye(d), parameterization="riemannian", alpha=0.02)
    r2 = BatchEstimator(np.zeros(d), np.eye(d), parameterization="riemannian", alpha=0.02)
    r1.advance(Y)
    jit.set_interpreted(True)
    try:
        r2.advance(Y)
    finally:
        jit.set_interpreted(False)
    assert np.array_equal(r1.covs, r2.covs) and r1.steps.tolist() == r2.steps.tolist() == [150]


def test_a_python_error_is_undone_and_redone_compiled():
    """Where interpreted Python raises and numba would not (log(0)), the call is undone (its
    writable arrays restored) and made compiled: the numbers of numba."""
    def kernel_like(out):
        out[0] = 5.0
        return math.log(out[1] - out[1])  # ValueError in Python, -inf compiled

    def compiled(out):
        out[0] = -1.0
        return -math.inf

    call = jit._safe(compiled, kernel_like, "test")
    out = np.array([0.0, 2.0])
    before = len(jit.fallbacks)
    assert call(out) == -math.inf and out.tolist() == [-1.0, 2.0]
    assert jit.fallbacks[before:] == ["test"]


def test_interpreting_compiles_nothing(tmp_path):
    """A first start with an empty cache: the run and the plot data run interpreted, no kernel compiles."""
    code = textwrap.dedent("""
        import time
        t0 = time.perf_counter()
        from gaussviz.core import jit, kernels, plotdata
        from gaussviz.core.presets import get_preset
        from gaussviz.core.settings import build_run
        jit.set_interpreted(True)
        run = build_run(get_preset("ill-conditioned-covariance"))
        run.advance(50)
        snap = run.snapshot()
        plotdata.thin(snap.history.steps.astype(float), snap.history.kl[0], 10)
        plotdata.extent(snap.history.steps.astype(float), snap.history.kl[0])
        n = sum(jit.compiled_signatures(kernels).values()) + sum(jit.compiled_signatures(plotdata).values())
        print(n, run.step, round(time.perf_counter() - t0, 2))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    compiled, steps, _seconds = r.stdout.split()
    assert (int(compiled), int(steps)) == (0, 50)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # nothing written to the cache either


def test_numba_loads_on_first_use_and_every_kernel_stays_a_nogil_numba_function(tmp_path):
    """A run's step 0 (interpreted) imports no numba; the first compiled call makes each kernel module's
    numba dispatchers with the options it declared (the hot loop nogil, cached), in the module's globals."""
    code = textwrap.dedent("""
        import sys
        from gaussviz.core import jit, kernels, param_space, plotdata, raster
        from gaussviz.core.presets import get_preset
        from gaussviz.core.settings import build_run
        assert "numba" not in sys.modules, "importing the core imports numba"
        jit.set_interpreted(True)
        run = build_run(get_preset("seed-question"))
        run.advance(3)
        run.snapshot()
        assert "numba" not in sys.modules, "an interpreted run imports numba"
        jit.set_interpreted(False)
        run.advance(3)
        from numba.core.dispatcher import Dispatcher
        assert isinstance(kernels.advance_sgd, Dispatcher) and kernels.advance_sgd.overloads
        assert not isinstance(raster._frame, Dispatcher)  # another module: made on its own first use
        for m in (kernels, plotdata, raster, param_space):
            for name, k in jit.dispatchers(m).items():
                d = k.dispatcher  # made now (with its module's) if not yet
                assert isinstance(d, Dispatcher) and getattr(m, name) is d and d.py_func is k.py_func, name
                assert d.targetoptions.get("nogil", False) == (m is not param_space), name
                assert type(d._cache).__name__ == "FunctionCache", name
            assert m.nb is sys.modules["numba"]
        assert kernels.advance_sgd_parallel.targetoptions["parallel"] is True
        print(len(jit.dispatchers(kernels)))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert int(r.stdout.split()[-1]) > 40
