"""The window's one ``Settings`` object, which every control binds to by dotted path (glue-style).

A change is validated on a trial copy first, so a bad value never reaches the
settings or the run: the caller gets a ValueError and the previous value stays.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from PySide6 import QtCore

from ..core.settings import Settings


def _resize_vector(v: Any, d: int) -> float | list[float]:
    """A mean for a new dimension: a scalar stays; a list is cut or padded with zeros."""
    if not isinstance(v, (list, tuple)):
        return v
    vals = [float(x) for x in v][:d] + [0.0] * max(0, d - len(v))
    return vals[0] if d == 1 else vals


class SettingsModel(QtCore.QObject):
    """The window's one ``Settings``; views bind to it by dotted attribute path."""

    #: one setting changed (its dotted path)
    sig_changed = QtCore.Signal(str)
    #: everything changed at once (preset or session loaded)
    sig_replaced = QtCore.Signal()

    def __init__(self, settings: Settings, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._s = settings.validate()

    @property
    def settings(self) -> Settings:
        return self._s

    def get(self, path: str) -> Any:
        obj: Any = self._s
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def set(self, path: str, value: Any) -> None:
        """Validate on a copy, then apply and announce; ValueError leaves everything as it was."""
        if self.get(path) == value:
            return
        trial = self._s.copy()
        self._assign(trial, path, value)
        trial.validate()
        self._assign(self._s, path, value)
        self.sig_changed.emit(path)

    def set_many(self, values: dict[str, Any]) -> None:
        """Several settings that only make sense together (e.g. the sign pair), validated at once."""
        changed = [p for p, v in values.items() if self.get(p) != v]
        if not changed:
            return
        trial = self._s.copy()
        for p in changed:
            self._assign(trial, p, values[p])
        trial.validate()
        for p in changed:
            self._assign(self._s, p, values[p])
        for p in changed:
            self.sig_changed.emit(p)

    def set_dim(self, d: int) -> None:
        """Change the target dimension, adapting the means and dropping a typed covariance."""
        if d == self._s.target.dim:
            return
        trial = self._s.copy()
        self._resize(trial, d)
        trial.validate()
        self._resize(self._s, d)
        self.sig_changed.emit("target.dim")

    @staticmethod
    def _resize(s: Settings, d: int) -> None:
        s.target.dim = int(d)
        s.target.mean = _resize_vector(s.target.mean, d)
        s.start.mean = _resize_vector(s.start.mean, d)
        if s.target.cov is not None:
            s.target.cov = None  # a typed matrix of another size no longer applies

    def replace(self, new: Settings) -> None:
        """Load another settings object's values into this one (the object itself stays)."""
        new = new.copy().validate()
        for f in fields(Settings):
            setattr(self._s, f.name, getattr(new, f.name))
        self.sig_replaced.emit()

    @staticmethod
    def _assign(root: Settings, path: str, value: Any) -> None:
        *head, last = path.split(".")
        obj: Any = root
        for part in head:
            obj = getattr(obj, part)
        setattr(obj, last, value)
        if path == "estimator.batch_size":
            for c in root.compare:  # compared estimators share the stream's mini-batches
                c.batch_size = value


__all__ = ["SettingsModel"]
