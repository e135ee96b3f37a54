"""The numba kernels compiled, or the same kernels interpreted while they compile (issue 13).

A first-ever start (an empty numba cache: a fresh install, or the first start after an
upgrade) has to compile the kernels: a minute or more of CPU, several on a busy 2-core
machine. Rather than make the user wait for it, the window can run the *same* functions
interpreted: every ``@nb.njit`` function of a kernel module has its Python original
(``py_func``), and :func:`interpreted` rebinds those originals to call each other, so the
twin runs exactly the source that numba compiles, no second copy of any formula. It is
~100x slower than the compiled code, plenty for the first seconds of a run at its pace,
while a helper process compiles the kernels into numba's cache (``gui/warmup.py``); then
:func:`set_interpreted` (False) switches back and the compiled kernels load from the cache.

Routing, one place: code outside the kernel modules calls a kernel through :func:`use`
(``jit.use(kn).gaussian_metrics(...)``) or, for a module's plain-Python entry points,
decorates them with :func:`entry`. Inside the kernels nothing changes (numba resolves the
module's globals, which stay the compiled dispatchers).

Interpreted Python raises where compiled code returns inf or NaN (``math.sqrt(-1)``,
``1.0 / 0.0``, ``math.exp(1e3)``); such a call is undone (its writable array arguments are
restored) and made again compiled (numba then compiles it here: slow once, never wrong).
By default (the CLI, the tests, a warm cache) everything is compiled.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numba.core.dispatcher import Dispatcher

#: interpreting (set by gui/warmup.py while the kernels compile)
_mode = {"interpreted": False}
_lock = threading.Lock()
_local = threading.local()  # compiled_here(): this thread runs compiled whatever the mode
_twins: dict[str, types.SimpleNamespace] = {}
#: calls an interpreted twin could not finish (they ran compiled): for the tests and the curious
fallbacks: list[str] = []


def set_interpreted(on: bool) -> None:
    """Run the kernels interpreted (True) or compiled (False) from the next call on."""
    _mode["interpreted"] = bool(on)


def interpreting() -> bool:
    return _mode["interpreted"]


class _NoNumba:
    """What the interpreted twins see as ``nb``: ``nb.prange`` is ``range``."""

    prange = range


def _original(obj: Any) -> Callable | None:
    if isinstance(obj, Dispatcher):
        return obj.py_func
    if isinstance(obj, types.FunctionType):
        return getattr(obj, "__wrapped__", obj)
    return None


def twin(module: types.ModuleType) -> types.SimpleNamespace:
    """The module with every function (numba's and plain) replaced by its Python original bound
    to call the other originals: the kernels interpreted. Built once per module."""
    with _lock:
        tw = _twins.get(module.__name__)
        if tw is not None:
            return tw
        ns: dict[str, Any] = dict(vars(module))
        ns["nb"] = _NoNumba
        for name, obj in vars(module).items():
            f = _original(obj)
            if f is not None and getattr(f, "__module__", None) == module.__name__:
                g = types.FunctionType(f.__code__, ns, f.__name__, f.__defaults__, f.__closure__)
                g.__kwdefaults__ = f.__kwdefaults__
                ns[name] = g
        tw = _twins[module.__name__] = types.SimpleNamespace(**{k: v for k, v in ns.items()
                                                                 if not k.startswith("__")})
        tw.__ns__ = ns
        return tw


def _safe(compiled: Callable, interpreted: Callable, name: str) -> Callable:
    """``interpreted``, undone and redone by ``compiled`` where Python raises and numba would not."""

    def call(*args, **kwargs):
        saved = [(a, a.copy()) for a in args if isinstance(a, np.ndarray) and a.flags.writeable]
        try:
            with np.errstate(all="ignore"):
                return interpreted(*args, **kwargs)
        except (ArithmeticError, ValueError, IndexError):
            for a, copy in saved:
                a[...] = copy
            fallbacks.append(name)
            return compiled(*args, **kwargs)

    return call


class _Interpreted:
    """``use(module)`` while interpreting: the module's names, functions interpreted (safely)."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module
        self._twin = twin(module)
        self._calls: dict[str, Callable] = {}

    def __getattr__(self, name: str) -> Any:
        call = self._calls.get(name)
        if call is not None:
            return call
        real = getattr(self._module, name)
        if _original(real) is None:
            return real
        call = self._calls[name] = _safe(real, getattr(self._twin, name), f"{self._module.__name__}.{name}")
        return call


_views: dict[str, _Interpreted] = {}


class compiled_here:
    """``with jit.compiled_here():`` this thread calls the compiled kernels even while interpreting
    (a background thread loading them from numba's cache)."""

    def __enter__(self):
        _local.compiled = True
        return self

    def __exit__(self, *exc):
        _local.compiled = False
        return False


def _interpreting_here() -> bool:
    return _mode["interpreted"] and not getattr(_local, "compiled", False)


def use(module: types.ModuleType):
    """``module`` itself, or while interpreting a view of it whose functions run interpreted."""
    if not _interpreting_here():
        return module
    v = _views.get(module.__name__)
    if v is None:
        v = _views[module.__name__] = _Interpreted(module)
    return v


def entry(f: Callable) -> Callable:
    """Decorator for a kernel module's plain-Python entry point (one that calls numba functions):
    while interpreting, its interpreted twin runs instead (same source)."""
    module = sys.modules[f.__module__]

    @functools.wraps(f)
    def call(*args, **kwargs):
        if not _interpreting_here():
            return f(*args, **kwargs)
        return getattr(use(module), f.__name__)(*args, **kwargs)

    return call


def dispatchers(module: types.ModuleType) -> dict[str, Dispatcher]:
    """The module's numba functions by name."""
    return {k: v for k, v in vars(module).items() if isinstance(v, Dispatcher)}


def compiled_signatures(module: types.ModuleType) -> dict[str, int]:
    """How many compiled (or cache-loaded) versions each numba function of ``module`` has in this
    process (the tests check that interpreting compiles nothing)."""
    return {k: len(v.overloads) for k, v in dispatchers(module).items()}


def load_cached(kernels) -> int:
    """Load into this process every version of ``kernels`` (numba functions) that numba's cache holds
    for their current source and this machine; compiles nothing. Returns how many were loaded.
    (A start with a warm cache loads them in a background thread while the first frames run
    interpreted: gui/warmup.py.)"""
    n = 0
    for k in kernels:
        try:
            cache = k._cache
            index = cache._cache_file._load_index()
            codegen = k.targetctx.codegen()
        except Exception:
            continue
        for key in list(index):
            sig = key[0]
            if sig in k.overloads or cache._index_key(sig, codegen) != key:
                continue
            k.compile(sig)  # found in the cache: loaded, not compiled
            n += 1
    return n


def in_cache(kernel: Dispatcher) -> bool:
    """True when numba's cache holds a version of ``kernel`` compiled from its current source
    (reads the cache's index file only); True too when numba's cache layout is not the one
    known here (no false alarm)."""
    try:
        return bool(kernel._cache._cache_file._load_index())
    except Exception:
        return True


__all__ = ["compiled_here", "compiled_signatures", "dispatchers", "entry", "fallbacks", "in_cache", "interpreting",
           "load_cached", "set_interpreted", "twin", "use"]
