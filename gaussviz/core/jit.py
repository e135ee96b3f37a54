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

numba itself is imported when a kernel is first used, not when a kernel module is: a kernel
module declares its functions with ``@nb.njit(...)`` where ``nb`` is :data:`lazy_numba`, which
records each function as a :class:`Kernel`. The first compiled call of any kernel of a module
(or :func:`numba_module`) imports numba (its cache pointed at the user's cache folder), makes
every recorded function of that module a numba dispatcher with the options it was declared
with, and puts the dispatchers (and numba as ``nb``) into the module's globals, where numba's
compiler finds them; a ``Kernel`` held elsewhere forwards to its dispatcher. So a window's
first frame (the run's step 0, drawn interpreted) needs neither numba's ~0.5 s import nor its
target's start (issue 13); the kernels stay numba ``nogil`` functions, compiled from the same
source with the same options. A kernel module's numba functions call only numba functions of
the same module (numba resolves them among the module's globals when it compiles).
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import numpy as np

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


# ------------------------------------------------------------------ numba, made on first use
_numba_lock = threading.RLock()
#: each kernel module's numba functions by name, as declared (``Kernel``)
_kernels: dict[str, dict[str, Kernel]] = {}


def numba_module() -> types.ModuleType:
    """numba itself, imported here once (its cache in the user's cache folder: core/paths.py)."""
    nb = sys.modules.get("numba")
    if nb is not None and "numba" in _made:
        return nb
    with _numba_lock:
        from .paths import configure_numba_cache

        configure_numba_cache()
        import numba

        _made.add("numba")
        return numba


def start_numba() -> types.ModuleType:
    """numba, with its CPU target started: the ~300 modules numba imports at its first compile or
    cache load (~0.8 s) are imported now (the CLI does it with the signals held: cli/entry.py)."""
    nb = numba_module()
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
        cpu_target.typing_context.refresh()
    except Exception:  # another numba's internals: it starts its target at the first call instead
        pass
    return nb


def numba_loaded() -> bool:
    """Whether numba has been imported into this process (by gaussviz or anyone)."""
    return "numba" in sys.modules


_made: set[str] = set()  # "numba" once imported here, and each kernel module made numba's


def _make(module_name: str) -> None:
    """Make every recorded function of the kernel module a numba dispatcher, in its globals too."""
    if module_name in _made:
        return
    with _numba_lock:
        if module_name in _made:
            return
        nb = numba_module()
        module = sys.modules[module_name]
        recorded = _kernels.get(module_name, {})
        made = {name: nb.njit(**k.options)(k.py_func) for name, k in recorded.items()}
        g = vars(module)
        for name, k in recorded.items():
            if g.get(name) is k:
                g[name] = made[name]
        if isinstance(g.get("nb"), _LazyNumba):
            g["nb"] = nb
        for name, k in recorded.items():  # last: a caller that sees a dispatcher finds the globals set
            k._dispatcher = made[name]
        _made.add(module_name)


class Kernel:
    """A kernel module's numba function until numba is needed (``@nb.njit(...)`` with ``nb`` =
    :data:`lazy_numba`): its Python original (``py_func``) and numba options. Calling it (or asking
    for a dispatcher's attribute, ``overloads``, ``compile``, ...) makes its module's numba
    dispatchers (:func:`_make`) and forwards to its own."""

    def __init__(self, py_func: Callable, options: dict[str, Any]) -> None:
        self._dispatcher: Any = None
        self.py_func = py_func
        self.options = dict(options)
        functools.update_wrapper(self, py_func)

    @property
    def dispatcher(self) -> Any:
        """The numba dispatcher (made, with its module's, on first use)."""
        d = self._dispatcher
        if d is None:
            _make(self.py_func.__module__)
            d = self._dispatcher
        return d

    def __call__(self, *args, **kwargs):
        d = self._dispatcher
        if d is None:
            d = self.dispatcher
        return d(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_dispatcher", "py_func", "options"):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __copy__(self) -> Kernel:
        return self

    def __deepcopy__(self, memo) -> Kernel:
        return self

    def __reduce__(self):
        return _kernel_named, (self.py_func.__module__, self.py_func.__name__)

    def __repr__(self) -> str:
        state = "numba dispatcher made" if self._dispatcher is not None else "numba not loaded"
        return f"<gaussviz kernel {self.py_func.__module__}.{self.py_func.__name__} ({state})>"


def _kernel_named(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


class _LazyNumba:
    """What a kernel module calls ``nb`` until numba is loaded: ``nb.njit(**options)`` records a
    :class:`Kernel`; ``nb.prange`` is ``range`` (never run: a kernel runs compiled or interpreted)."""

    prange = range

    @staticmethod
    def njit(*args, **options):
        def record(f: Callable) -> Kernel:
            k = Kernel(f, options)
            _kernels.setdefault(f.__module__, {})[f.__name__] = k
            return k

        if args and callable(args[0]) and not options:  # bare @nb.njit
            return record(args[0])
        if args:
            raise TypeError("lazy_numba.njit takes numba's options as keywords (no signatures)")
        return record


#: ``from .jit import lazy_numba as nb`` in a kernel module (see the module's docstring)
lazy_numba = _LazyNumba()


def loaded(kernel: Any) -> bool:
    """Whether ``kernel`` has a compiled (or cache-loaded) version in this process; never imports numba."""
    if isinstance(kernel, Kernel) and kernel._dispatcher is None:
        return False
    return bool(kernel.overloads)


def _dispatcher_type() -> type | None:
    m = sys.modules.get("numba.core.dispatcher")
    return getattr(m, "Dispatcher", None)


def _original(obj: Any) -> Callable | None:
    if isinstance(obj, Kernel):
        return obj.py_func
    if isinstance(obj, types.FunctionType):
        return getattr(obj, "__wrapped__", obj)
    dispatcher = _dispatcher_type()
    if dispatcher is not None and isinstance(obj, dispatcher):
        return obj.py_func
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


def dispatchers(module: types.ModuleType) -> dict[str, Kernel]:
    """The module's numba functions by name (as :class:`Kernel`; numba is not imported for this)."""
    return dict(_kernels.get(module.__name__, {}))


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


def in_cache(kernel: Any) -> bool:
    """True when numba's cache holds a version of ``kernel`` compiled from its current source
    (reads the cache's index file only); True too when numba's cache layout is not the one
    known here (no false alarm)."""
    try:
        return bool(kernel._cache._cache_file._load_index())
    except Exception:
        return True


__all__ = ["Kernel", "compiled_here", "compiled_signatures", "dispatchers", "entry", "fallbacks", "in_cache",
           "interpreting", "lazy_numba", "load_cached", "loaded", "numba_loaded", "numba_module", "set_interpreted",
           "start_numba", "twin", "use"]
