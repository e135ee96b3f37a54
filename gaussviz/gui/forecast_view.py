"""The stability forecast under the alpha slider: how large a step the run can take from here.

Two numbers for the first (main) estimator, computed OFF the GUI thread:

- the linearized bound (``forecast.linear_bound`` at the true covariance): the
  largest alpha for which the expected update is stable;
- the empirical forecast (``forecast.empirical_forecast``, as ``forecast_chain``):
  how many of 32 copies of the chain, started from its current state with the
  current settings on fresh samples, diverge within the next 2,000 updates.

How it stays off the GUI thread without stalling the run: a request goes to the
run worker as a ``call`` command, which copies the chain's state (mean, cov,
stored parameter, step count, settings) and a fork of the source between two
chunks (microseconds), and hands that copy to a short-lived forecast thread.
The forecast thread runs the copies (numba, nogil; time budget 0.1 s) and sends
the result back as a queued Qt signal. Requests are debounced (a drag of the
slider asks once, 150 ms after it stops), and only the newest pending request
is computed.
"""

from __future__ import annotations

import html
import threading
from typing import Any

from PySide6 import QtCore, QtWidgets

from ..core import forecast
from ..core.forecast import ForecastJob, ForecastResult, capture, compute, verdict
from ..core.live import LIVE_PATHS
from . import style
from .settings_model import SettingsModel

#: the empirical forecast's horizon in updates
N_UPDATES = forecast.DEFAULT_UPDATES
#: seconds the forecast may take (the horizon shrinks at large d)
TIME_BUDGET = 0.1
#: debounce of slider drags and other changes (ms)
DEBOUNCE_MS = 150
#: a running run's state moves on: forecast again this often (ms) while the view is visible
PERIODIC_MS = 4000
#: settings whose change asks for a new forecast: every live change, and compare mode's apply
TRIGGERS = LIVE_PATHS | {"estimator", "compare"}
GREEN, AMBER, RED = style.GOOD, style.WARN, style.BAD
#: the colour of each verdict level (core.forecast.verdict)
LEVEL_COLOURS = {"good": GREEN, "warn": AMBER, "bad": RED}


class ForecastView(QtWidgets.QWidget):
    """A coloured label under the alpha slider; asks the run worker for a state copy when needed."""

    #: a result from the forecast thread (queued to the GUI thread)
    sig_result = QtCore.Signal(object)

    def __init__(self, model: SettingsModel, worker: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.worker = worker
        self.label = QtWidgets.QLabel("forecast: waiting for the run…")
        self.label.setWordWrap(True)
        self.label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.label.setToolTip(
            "linear bound: the largest α for which the EXPECTED update is stable at the true covariance "
            "(noise ignored).\nforecast: of 32 copies of the first estimator, started from its current state "
            "with these settings on fresh samples, how many diverge within the next 2,000 updates "
            "(noise included: usually far stricter).")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        self.result: ForecastResult | None = None
        self._request = 0
        self._lock = threading.Lock()
        self._job: ForecastJob | None = None  # newest job not yet computed
        self._thread: threading.Thread | None = None
        self._closing = False
        self.debounce = QtCore.QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.request)
        self.periodic = QtCore.QTimer(self)
        self.periodic.setInterval(PERIODIC_MS)
        self.periodic.timeout.connect(self._on_periodic)
        self.periodic.start()
        self.sig_result.connect(self._show)
        # every chain diverged and the run paused: show that, not the last forecast (a bound
        # method: a lambda here would keep this view and the worker alive in a cycle Python's gc
        # cannot see through the connection)
        diverged = getattr(worker, "sig_diverged", None)
        if diverged is not None:
            diverged.connect(self._on_diverged)
        model.sig_changed.connect(self._on_changed)
        model.sig_replaced.connect(self.schedule)
        self.schedule()  # a first forecast once the worker has built the run

    # ----------------------------------------------------------- GUI thread
    def _on_changed(self, path: str) -> None:
        if path in TRIGGERS or path.startswith("target") or path.startswith("start"):
            self.schedule()

    def _on_diverged(self, _snap: object) -> None:
        self.schedule()

    def schedule(self) -> None:
        """Ask for a forecast DEBOUNCE_MS from now (a drag restarts the wait)."""
        if not self._closing:
            self.debounce.start()

    def _on_periodic(self) -> None:
        if self.isVisible() and getattr(self.worker, "running", False):
            self.request()

    def request(self) -> int:
        """Send the state-copy request to the run worker now; returns its number."""
        if self._closing:
            return self._request
        self._request += 1
        req = self._request
        self.worker.send("call", lambda run: self._submit(capture(run, req)))
        return req

    def _show(self, result: ForecastResult) -> None:
        if self._closing or result.request < (self.result.request if self.result else 0):
            return
        self.result = result
        level, text = verdict(result)
        colour = LEVEL_COLOURS[level]
        s = result.job.settings
        who = f"{s['parameterization']}, α = {s['alpha']:.3g}"
        if s.get("optimizer", "sgd") != "sgd":
            who += f", {s['optimizer']}"
        if len(self.model.settings.all_estimators()) > 1:
            who = "first estimator: " + who
        note = " (stopped: no forecast from a dead chain)" if result.job.divergence is not None \
            else " (from its last good state)" if result.job.diverged else ""
        self.label.setText(f"<span style='color:{colour}; font-weight:bold'>{html.escape(text)}</span>"
                           f"<br><span style='color:#555'>{html.escape(who + note)}</span>")

    def text(self) -> str:
        return self.label.text()

    def shutdown(self, timeout: float = 3.0) -> bool:
        """Stop asking and wait for a forecast in flight (the window calls this on close)."""
        self._closing = True
        self.debounce.stop()
        self.periodic.stop()
        with self._lock:
            self._job = None
            t = self._thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    # ----------------------------------------------- worker / forecast thread
    def _submit(self, job: ForecastJob) -> None:
        """In the run worker: queue the copy and make sure a forecast thread will take it."""
        with self._lock:
            if self._closing:
                return
            self._job = job  # only the newest request matters
            if self._thread is not None:
                return  # the running forecast thread takes it next
            self._thread = threading.Thread(target=self._main, name="gaussviz-forecast", daemon=True)
            self._thread.start()

    def _main(self) -> None:
        while True:
            with self._lock:
                job, self._job = self._job, None
                if job is None or self._closing:
                    self._thread = None
                    return
            try:
                result = compute(job, TIME_BUDGET, N_UPDATES)
            except Exception as e:  # never die silently: show why
                result = ForecastResult(job.request, job, None, None, f"{type(e).__name__}: {e}")
            if not self._closing:
                self.sig_result.emit(result)


def colour_of(text: str) -> str:
    """The verdict colour in a label's text (tests and the screenshot check read it)."""
    for c in (RED, AMBER, GREEN):
        if c in text:
            return c
    return ""


__all__ = ["ForecastView", "colour_of"]
