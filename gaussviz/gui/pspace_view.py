"""The parameter-space plot: where the estimate is, in the space it moves in (issue 15).

d = 1: the half-plane (mu, Sigma > 0). Its background is the expected log-likelihood under the
target (shaded, with contour lines of its drop from the best value, i.e. of KL), the forbidden
region Sigma <= 0 is hatched red with its edge drawn, the truth is a black cross, the exact
running MLE a grey diamond, each chain's path is drawn in its rule's colour, fading with age,
and the arrows are the field of the expected update of chain 0's rule, rate, sign and optimizer
(``core/param_space.expected_update``): 100 expected updates, their length on a log scale and
clipped (orange: clipped). The Sigma axis is linear, or logarithmic when a path went far above
the truth (auto; the View menu forces either).

d >= 2: the plane of Sigma's smallest and largest eigenvalue; its edge lambda_min = 0 is the
positive-definite boundary that the seed's rule crosses, hatched red beyond.

Everything costly (the shaded grid, contours, arrows) is computed once per view box, target and
rule settings and kept; a frame only updates the paths and markers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg

from ..core import jit, raster
from ..core import param_space as ps
from ..core.plotdata import ViewBox, finite_xy
from ..core.settings import PSPACE_SIGMA_SCALES
from . import style
from .plot_items import Canvas, Trace, put_data
from .style import Look

if TYPE_CHECKING:
    from ..core.snapshot import Snapshot

#: Sigma scales the view offers ("auto": log when a path went far above the truth)
SIGMA_SCALES = PSPACE_SIGMA_SCALES
#: auto switches to a log Sigma axis when the largest Sigma shown exceeds this many true variances
AUTO_LOG_RATIO = 30.0
#: a chain's path: its older part (about PATH_POINTS points, faded: FADE_SHADES[0] white mixed in)
#: changes only every OLD_BLOCK strides and is kept as a static layer; the newest RECENT_POINTS are
#: drawn each frame in full colour
PATH_POINTS = 600
RECENT_POINTS = 300
OLD_BLOCK = 128
FADE_SHADES = (0.5, 0.0)
#: the shaded grid (pixels of the background image) and the contour grid
IMAGE_SIZE = (240, 180)
CONTOUR_SIZE = (160, 120)
#: arrows of the field: columns x rows, and how many expected updates one arrow shows
ARROWS = (15, 10)
ARROW_UPDATES = 100
#: d >= 2: paths may widen the eigenvalue plane to at most this many true largest eigenvalues
EIG_RUNAWAY = 3.0
#: colours: background ramp (best -> far), contour lines, forbidden region and its edge, arrows
NEAR_COLOR = (178, 207, 234)
FAR_COLOR = (252, 252, 252)
CONTOUR_COLOR = "#7d8ea3"
FORBIDDEN_COLOR = (246, 214, 214)
HATCH_COLOR = (226, 160, 160)
EDGE_COLOR = style.BAD
ARROW_COLOR = "#3d3d3d"
CLIPPED_COLOR = style.WARN
#: the anatomy of one update (step mode): the sample, r, the step
ANATOMY_COLOR = "#6a3d9a"
_EMPTY = np.zeros(0)


def _mix_white(color: str, f: float) -> str:
    c = pg.mkColor(color)
    r, g, b = (round(v + (255 - v) * f) for v in (c.red(), c.green(), c.blue()))
    return f"#{r:02x}{g:02x}{b:02x}"


def _argb(rgb: tuple[int, int, int]) -> int:
    return raster.argb(*rgb)


def shade_image(kl: np.ndarray, hatch_px: int = 6) -> np.ndarray:
    """The background: KL on a log ramp from NEAR_COLOR (at the best) to FAR_COLOR (KL >= 10),
    NaN (Sigma <= 0) hatched red. Rows as ``kl``'s (from the bottom)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip((np.log10(np.maximum(kl, 1e-6)) + 2.5) / 3.5, 0.0, 1.0)
    near = np.array(NEAR_COLOR, dtype=float)
    far = np.array(FAR_COLOR, dtype=float)
    rgb = near[None, None, :] + (far - near)[None, None, :] * t[..., None]
    rgb = np.round(np.nan_to_num(rgb, nan=0.0)).astype(np.uint32)
    img = (np.uint32(0xFF) << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    bad = ~np.isfinite(kl)
    if bad.any():
        i, j = np.indices(kl.shape)
        stripe = ((i + j) // max(1, hatch_px // 2)) % 3 == 0
        img[bad] = _argb(FORBIDDEN_COLOR)
        img[bad & stripe] = _argb(HATCH_COLOR)
    return img


def forbidden_image(w: int = 64, h: int = 64, hatch_px: int = 6) -> np.ndarray:
    """A hatched red tile for a forbidden rectangle."""
    return shade_image(np.full((h, w), np.nan), hatch_px)


def arrow_segments(x0: float, y0: float, x1: float, y1: float, kx: float, ky: float, log_y: bool = False,
                   head_px: float = 9.0) -> tuple[np.ndarray, np.ndarray]:
    """An arrow from (x0, y0) to (x1, y1) as three line segments (shaft, two head lines), the head
    ``head_px`` pixels long at kx, ky pixels per unit (per decade of y on a log axis). Empty when
    the arrow is shorter than a pixel or not finite."""
    Y0, Y1 = (math.log10(y0), math.log10(y1)) if log_y else (y0, y1)
    dx, dy = (x1 - x0) * kx, (Y1 - Y0) * ky
    L = math.hypot(dx, dy)
    if not (math.isfinite(L) and L >= 1.0):
        return _EMPTY, _EMPTY
    ux, uy = dx / L, dy / L
    h = min(head_px, 0.5 * L)
    pts = []
    for ang in (152.0, -152.0):
        ca, sa = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        pts.append((L * ux + h * (ca * ux - sa * uy), L * uy + h * (sa * ux + ca * uy)))
    px = [0.0, L * ux, L * ux, pts[0][0], L * ux, pts[1][0]]
    py = [0.0, L * uy, L * uy, pts[0][1], L * uy, pts[1][1]]
    xs = np.array([x0 + v / kx for v in px])
    ys = np.array([Y0 + v / ky for v in py])
    return xs, (10.0 ** ys if log_y else ys)


def view_scale(plot: pg.PlotItem) -> tuple[float, float]:
    """Pixels per unit of view coordinates (x, y) of a plot now."""
    vb = plot.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    return max(vb.width(), 1.0) / max(x1 - x0, 1e-300), max(vb.height(), 1.0) / max(y1 - y0, 1e-300)


class ParamSpaceView:
    """Draws the parameter-space plot of a snapshot into its ``Canvas`` (GUI thread)."""

    def __init__(self, plot: pg.PlotItem, canvas: Canvas) -> None:
        self.plot = plot
        self.canvas = canvas
        cv = canvas
        self.background = cv.add("image", Look(), "expected log-likelihood", z=-30, static=True)
        self.forbidden = cv.add("image", Look(), "forbidden region", z=-29, static=True)
        self.contours = cv.add("segments", Look(CONTOUR_COLOR, 1), "KL contours", z=-25, static=True)
        self.diagonal = cv.add("path", Look("#9a9a9a", 1, (4, 4)), "lambda_min = lambda_max", z=-25, static=True)
        self.edge = cv.add("path", Look(EDGE_COLOR, 3), "the edge Sigma = 0", z=-20, static=True)
        self.arrows = cv.add("segments", Look(ARROW_COLOR, 1), "expected update", z=-15, static=True)
        self.clipped = cv.add("segments", Look(CLIPPED_COLOR, 2), "expected update (clipped)", z=-15, static=True)
        self.truth = cv.add("symbols", Look(style.TRUE_COLOR, marker="x", size=16, edge_width=2.5), "truth", z=46)
        self.mle = cv.add("symbols", Look(style.REF_COLOR, marker="d", size=12, edge="#ffffff", edge_width=1.5),
                          "running MLE", z=39)
        self.anat_step = cv.add("segments", Look(ANATOMY_COLOR, 3), "this update's step", z=50)
        self.anat_before = cv.add("symbols", Look("#ffffff", marker="o", size=9, edge=ANATOMY_COLOR, edge_width=2.0),
                                  "before this update", z=50)
        self._paths: list[list[Trace]] = []
        self._points: list[Trace] = []
        self._starts: list[Trace] = []
        self._view = ViewBox()
        self._scale = "auto"
        self._log = False
        self._d: int | None = None
        self._box: tuple | None = None
        self._bg_key: tuple | None = None
        self._field_key: tuple | None = None
        self.title = ""
        self.arrow_count = 0
        self.clipped_count = 0
        #: how often the background and the field were computed (they are cached)
        self.background_count = 0
        self.field_count = 0

    # ------------------------------------------------------------- settings
    def set_sigma_scale(self, scale: str) -> None:
        if scale not in SIGMA_SCALES:
            raise ValueError(f"parameter-space Sigma axis must be one of {', '.join(SIGMA_SCALES)}; got {scale!r}")
        if scale != self._scale:
            self._scale = scale
            self._view = ViewBox()

    def sigma_scale(self) -> str:
        return self._scale

    @property
    def log_sigma(self) -> bool:
        """Is the Sigma axis logarithmic now (d = 1)?"""
        return self._log

    def clear(self) -> None:
        for t in self.canvas.traces:
            t.clear()
        self._view = ViewBox()
        self._bg_key = self._field_key = self._box = None

    def _chain_traces(self, k: int, color: str) -> tuple[list[Trace], Trace]:
        while len(self._paths) <= k:
            j = len(self._paths)
            self._paths.append([self.canvas.add("path", Look(color, 2), f"chain {j} path {i}", z=10 + i,
                                                static=i == 0) for i in range(len(FADE_SHADES))])
            self._points.append(self.canvas.add(
                "symbols", Look(color, marker="o", size=12, edge="#ffffff", edge_width=1.5), f"chain {j} now", z=45))
            self._starts.append(self.canvas.add(
                "symbols", Look("#ffffff", marker="s", size=9, edge=color, edge_width=2.0), f"chain {j} start", z=44))
        p = self._points[k]
        if p.look.color != color:  # a new rule in this slot: restyle (only then)
            for i, t in enumerate(self._paths[k]):
                t.set_look(t.look.with_(color=_mix_white(color, FADE_SHADES[i])))
            p.set_look(p.look.with_(color=color))
            st = self._starts[k]
            st.set_look(st.look.with_(edge=color))
        return self._paths[k], p

    # ------------------------------------------------------------------ draw
    def draw(self, snap: Snapshot, colors: list[str]) -> str:
        """Draw ``snap``; returns the plot's title."""
        d = int(snap.ref_mean.shape[0])
        if d != self._d:
            self._d = d
            self.clear()
        for k in range(len(snap.chains), len(self._paths)):
            for t in (*self._paths[k], self._points[k], self._starts[k]):
                t.clear()
        if d == 1:
            return self._draw_1d(snap, colors)
        return self._draw_eig(snap, colors)

    def _path(self, snap: Snapshot, k: int, d: int) -> tuple[np.ndarray, ...]:
        """(x, y) of the path's older part and of its newest part (overlapping by one point). The
        older part is sampled on a grid of the history's indices that only moves every OLD_BLOCK
        strides, so from frame to frame it is the same array (and its pixels are kept)."""
        h = snap.history
        if d == 1:
            x, y = h.mean[k, :, 0], h.cov[k, :, 0, 0]
        else:
            x, y = ps.extreme_eigenvalues(h.eig[k])
        n = x.shape[0]
        stride = 1 << max(0, math.ceil(math.log2(max(n, 1) / PATH_POINTS)))
        block = OLD_BLOCK * stride
        cut = max(0, (n - RECENT_POINTS) // block * block)
        ox, oy = finite_xy(x[0:cut + 1:stride], y[0:cut + 1:stride]) if cut > 0 else (_EMPTY, _EMPTY)
        step = max(1, (n - cut) // RECENT_POINTS)
        idx = np.arange(cut, n, step)
        if idx.size and idx[-1] != n - 1:
            idx = np.append(idx, n - 1)
        nx, ny = finite_xy(x[idx], y[idx])
        return ox, oy, nx, ny

    def _draw_paths(self, snap: Snapshot, colors: list[str], paths: list, now: list) -> None:
        for k in range(len(snap.chains)):
            traces, point = self._chain_traces(k, colors[k])
            ox, oy, nx, ny = paths[k]
            for t, (x, y) in zip(traces, ((ox, oy), (nx, ny))):
                if x.size >= 2:
                    put_data(t, x, y)
                else:
                    t.clear()
            start = self._starts[k]
            first = (ox, oy) if ox.size else (nx, ny)
            if first[0].size and snap.history.steps.size and int(snap.history.steps[0]) == 0:
                put_data(start, first[0][:1], first[1][:1])  # where the run began (the history's first point)
            else:
                start.clear()
            px, py = now[k]
            if np.isfinite(px) and np.isfinite(py):
                put_data(point, [px], [py])
            else:
                point.clear()

    def _set_range(self, box: np.ndarray, log_y: bool) -> None:
        """Show ``box`` (x0, x1, y0, y1 in data coordinates); the plot's own autorange is off."""
        key = (tuple(np.round(box, 12)), log_y)
        if key == self._box:
            return
        self._box = key
        vb = self.plot.vb
        if bool(vb.state["logMode"][1]) != log_y:
            self.plot.setLogMode(y=log_y)
        y0, y1 = (math.log10(box[2]), math.log10(box[3])) if log_y else (box[2], box[3])
        vb.disableAutoRange()
        vb.setRange(xRange=(box[0], box[1]), yRange=(y0, y1), padding=0.0)

    def draw_anatomy(self, anatomy) -> None:
        """The last single update of chain 0 (step mode): where it was before, an arrow to where it went."""
        if anatomy is None or anatomy.chain != 0:
            self.anat_step.clear()
            self.anat_before.clear()
            return
        if self._d == 1:
            x0, y0 = float(anatomy.mu_before[0]), float(anatomy.sigma_before[0, 0])
            x1, y1 = float(anatomy.mu_after[0]), float(anatomy.sigma_after[0, 0])
        else:
            w0 = np.linalg.eigvalsh(0.5 * (anatomy.sigma_before + anatomy.sigma_before.T))
            w1 = np.linalg.eigvalsh(0.5 * (anatomy.sigma_after + anatomy.sigma_after.T))
            x0, y0, x1, y1 = float(w0[0]), float(w0[-1]), float(w1[0]), float(w1[-1])
        kx, ky = view_scale(self.plot)
        log = self._log and self._d == 1
        if log and not (y0 > 0 and y1 > 0):
            self.anat_step.clear()
        else:
            put_data(self.anat_step, *arrow_segments(x0, y0, x1, y1, kx, ky, log))
        put_data(self.anat_before, [x0], [y0])

    # ------------------------------------------------------------------ d = 1
    def _draw_1d(self, snap: Snapshot, colors: list[str]) -> str:
        self.diagonal.clear()
        tm = tv = None
        if snap.true_mean is not None and snap.true_cov is not None:
            tm, tv = float(snap.true_mean[0]), float(snap.true_cov[0, 0])
            if not (math.isfinite(tm) and math.isfinite(tv) and tv > 0):
                tm = tv = None
        paths = [self._path(snap, k, 1) for k in range(len(snap.chains))]
        now = [(float(c.mean[0]), float(c.cov[0, 0])) for c in snap.chains]
        xs = [p[0] for p in paths] + [p[2] for p in paths] + [np.array([m for m, _ in now])]
        ys = [p[1] for p in paths] + [p[3] for p in paths] + [np.array([s for _, s in now])]
        allx = np.concatenate(xs)
        ally = np.concatenate(ys)
        ok = np.isfinite(allx) & np.isfinite(ally)
        allx, ally = allx[ok], ally[ok]
        ref_m, ref_v = float(snap.ref_mean[0]), float(snap.ref_cov[0, 0])
        ref_ok = snap.n_samples > 1 and math.isfinite(ref_m) and math.isfinite(ref_v) and ref_v > 0
        centre = tm if tm is not None else (float(np.median(allx)) if allx.size else 0.0)
        scale_v = tv if tv is not None else (float(np.median(ally[ally > 0])) if np.any(ally > 0) else 1.0)
        sd = math.sqrt(scale_v)
        top = float(ally.max()) if ally.size else scale_v
        if self._scale == "auto":
            log = top > AUTO_LOG_RATIO * scale_v
        else:
            log = self._scale == "log"
        self._log = log
        # x: the truth's +-3 sd and the paths (a runaway may widen it at most 60 sd)
        spread = float(np.max(np.abs(allx - centre))) if allx.size else 0.0
        half = min(max(3.0 * sd, 1.1 * spread), 60.0 * sd)
        want_x = (centre - half, centre + half)
        if log:
            pos = ally[ally > 0]
            lo = min(scale_v, float(pos.min()) if pos.size else scale_v) / 3.0
            hi = max(scale_v, top) * 3.0
            want = np.array([want_x[0], want_x[1], math.log10(lo), math.log10(hi)])
        else:
            hi = max(2.4 * scale_v, 1.1 * top)
            want = np.array([want_x[0], want_x[1], -0.16 * hi, hi])
        if self._view.update(want):
            pass
        b = self._view.box.copy()
        box = b.copy()
        if log:
            box[2], box[3] = 10.0 ** b[2], 10.0 ** b[3]
        self._set_range(box, log)
        # the background, contours and the forbidden region: once per box and target, and once more
        # when the kernels run compiled (interpreted, the contours would take seconds: drawn then)
        bg_key = (tuple(np.round(box, 12)), log, tm, tv, jit.interpreting())
        if bg_key != self._bg_key:
            self._bg_key = bg_key
            self._draw_background(box, log, tm, tv)
        # the field: once per box, target and chain 0's rule settings and rate
        c0 = snap.chains[0]
        rate = float(c0.alpha_t)
        keys = ("parameterization", "objective", "direction", "optimizer", "beta1", "beta2", "eps", "symmetrize")
        field_key = (bg_key, tuple(c0.settings.get(k) for k in keys), float(f"{rate:.3g}") if math.isfinite(rate)
                     else None, round(self.plot.vb.width()), round(self.plot.vb.height()))
        if field_key != self._field_key:
            self._field_key = field_key
            if tm is not None and math.isfinite(rate) and rate > 0 and not jit.interpreting():
                self._draw_field(box, log, c0.settings, rate, tm, tv)  # the kernels' step: with them
            else:
                self.arrows.clear()
                self.clipped.clear()
        if tm is not None:
            put_data(self.truth, [tm], [tv])
        else:
            self.truth.clear()
        if ref_ok:
            put_data(self.mle, [ref_m], [ref_v])
        else:
            self.mle.clear()
        self._draw_paths(snap, colors, paths, now)
        scale = "log Σ" if log else "Σ"
        self.title = (f"(μ, {scale}): KL contours, expected step" if not jit.interpreting() else
                      f"(μ, {scale}): contours and steps when the kernels are ready")
        return self.title

    def _draw_background(self, box: np.ndarray, log: bool, tm: float | None, tv: float | None) -> None:
        self.background_count += 1
        x0, x1, y0, y1 = (float(v) for v in box)
        if log:
            self.forbidden.clear()
            self.edge.clear()
        else:
            self.forbidden.set_image(forbidden_image(), (x0, x1), (y0, 0.0)) if y0 < 0 else self.forbidden.clear()
            put_data(self.edge, [x0, x1], [0.0, 0.0])
        if tm is None:
            self.background.clear()
            self.contours.clear()
            return
        lo = y0 if log else max(y0, 0.0)
        if not y1 > lo:
            return
        nx, ny = IMAGE_SIZE
        # cell centres of the image (so pixel (i, j) shows its centre's value)
        if log:
            ys = np.geomspace(lo, y1, 2 * ny + 1)[1::2]
        else:
            ys = np.linspace(lo, y1, 2 * ny + 1)[1::2]
        xs = np.linspace(x0, x1, 2 * nx + 1)[1::2]
        kl = ps.best_loglik(tv) - ps.expected_loglik(xs[None, :], ys[:, None], tm, tv)
        self.background.set_image(shade_image(kl), (x0, x1), (lo, y1))
        if jit.interpreting():  # the kernels compile or load: the contours come with them (_draw_1d)
            self.contours.clear()
            return
        cx, cy = CONTOUR_SIZE
        g = ps.loglik_grid((x0, x1), (max(lo, 1e-300) if log else max(lo, 1e-9 * (y1 - lo)), y1), tm, tv,
                           n_mu=cx, n_sigma=cy, log_sigma=log)
        segs_x, segs_y = [], []
        for level in ps.KL_LEVELS:
            x, y = ps.isolines(g.kl, g.mus, g.sigmas, level)
            segs_x.append(x)
            segs_y.append(y)
        put_data(self.contours, np.concatenate(segs_x), np.concatenate(segs_y))

    def _draw_field(self, box: np.ndarray, log: bool, settings: dict, rate: float, tm: float, tv: float) -> None:
        self.field_count += 1
        x0, x1, y0, y1 = (float(v) for v in box)
        na, nb = ARROWS
        gx = np.linspace(x0, x1, 2 * na + 1)[1::2]
        if log:
            gy = np.geomspace(y0, y1, 2 * nb + 1)[1::2]
        else:
            lo = max(y0, 0.0)
            gy = np.linspace(lo, y1, 2 * nb + 1)[1::2]
        M, S = np.meshgrid(gx, gy)
        dmu, ds = ps.expected_update(settings, rate, M, S, tm, tv)
        vb = self.plot.vb
        W, H = max(vb.width(), 50.0), max(vb.height(), 50.0)
        kx = W / (x1 - x0)
        # the direction of one expected step on screen; the length of ARROW_UPDATES of them
        dx = dmu * kx
        if log:
            ky = H / (math.log10(y1) - math.log10(y0))
            with np.errstate(divide="ignore", invalid="ignore"):
                # log-axis displacements, never through Sigma <= 0
                dy = (np.log10(np.maximum(S + ds, S * 1e-6)) - np.log10(S)) * ky
                dyn = (np.log10(np.maximum(S + ARROW_UPDATES * ds, S * 1e-6)) - np.log10(S)) * ky
        else:
            ky = H / (y1 - y0)
            dy = ds * ky
            dyn = ARROW_UPDATES * dy
        v1 = np.hypot(dx, dy)
        v = np.hypot(ARROW_UPDATES * dx, dyn)
        cell = min(W / na, H / nb)
        top = 0.85 * cell
        want = 4.0 + 7.0 * np.log10(1.0 + v)
        length = np.minimum(want, top)
        clipped = want > top
        ok = np.isfinite(v) & (v > 1e-9) & np.isfinite(v1) & (v1 > 0)
        X, Y, CX, CY = [], [], [], []
        for i, j in zip(*np.nonzero(ok)):
            ux, uy = dx[i, j] / v1[i, j], dy[i, j] / v1[i, j]
            L = float(length[i, j])
            # pixel-space arrow from the grid point; heads at +-28 degrees
            pts = [(0.0, 0.0), (L * ux, L * uy)]
            hl = max(3.0, 0.38 * L)
            ca, sa = math.cos(math.radians(152)), math.sin(math.radians(152))
            hx1 = L * ux + hl * (ca * ux - sa * uy)
            hy1 = L * uy + hl * (sa * ux + ca * uy)
            hx2 = L * ux + hl * (ca * ux + sa * uy)
            hy2 = L * uy + hl * (-sa * ux + ca * uy)
            seq = [pts[0], pts[1], pts[1], (hx1, hy1), pts[1], (hx2, hy2)]  # shaft and two head lines
            bx, by = (CX, CY) if clipped[i, j] else (X, Y)
            for px, py in seq:
                bx.append(M[i, j] + px / kx)
                if log:
                    by.append(S[i, j] * 10.0 ** (py / ky))
                else:
                    by.append(S[i, j] + py / ky)
        put_data(self.arrows, np.array(X), np.array(Y)) if X else self.arrows.clear()
        put_data(self.clipped, np.array(CX), np.array(CY)) if CX else self.clipped.clear()
        self.arrow_count = int(ok.sum())
        self.clipped_count = int((ok & clipped).sum())

    # ----------------------------------------------------------------- d >= 2
    def _draw_eig(self, snap: Snapshot, colors: list[str]) -> str:
        self._log = False
        for t in (self.background, self.contours, self.arrows, self.clipped):
            t.clear()
        paths = [self._path(snap, k, 2) for k in range(len(snap.chains))]
        now = [(float(c.eig[0]), float(c.eig[-1])) for c in snap.chains]
        tl = th = None
        if snap.true_cov is not None:
            w = np.linalg.eigvalsh(0.5 * (snap.true_cov + snap.true_cov.T))
            tl, th = float(w[0]), float(w[-1])
        ref_ok = snap.n_samples > snap.ref_mean.shape[0]
        rl = rh = None
        if ref_ok:
            w = np.linalg.eigvalsh(0.5 * (snap.ref_cov + snap.ref_cov.T))
            rl, rh = float(w[0]), float(w[-1])
        xs = np.concatenate([p[0] for p in paths] + [p[2] for p in paths] + [np.array([a for a, _ in now])])
        ys = np.concatenate([p[1] for p in paths] + [p[3] for p in paths] + [np.array([b for _, b in now])])
        ok = np.isfinite(xs) & np.isfinite(ys)
        xs, ys = xs[ok], ys[ok]
        ref_scale = th if th is not None else (float(np.median(ys)) if ys.size else 1.0)
        # the truth's region, widened by the paths at most EIG_RUNAWAY times (a blown-up chain
        # leaves the view rather than squashing the edge lambda_min = 0 into a line)
        cap = EIG_RUNAWAY * ref_scale
        x_hi = min(cap, max(1.6 * (tl if tl is not None else 0.0), float(xs.max()) * 1.1 if xs.size else 1.0,
                            0.1 * ref_scale))
        y_hi = min(cap, max(1.4 * ref_scale, float(ys.max()) * 1.1 if ys.size else 1.0))
        x_lo = max(-cap, min(-0.2 * x_hi, float(xs.min()) * 1.1 if xs.size else 0.0))
        y_lo = max(-cap, min(0.0, float(ys.min()) if ys.size else 0.0))
        self._view.update(np.array([x_lo, x_hi, y_lo, y_hi]))
        box = self._view.box.copy()
        self._set_range(box, False)
        key = ("eig", tuple(np.round(box, 12)))
        if key != self._bg_key:
            self._bg_key = key
            x0, x1, y0, y1 = (float(v) for v in box)
            if x0 < 0:
                self.forbidden.set_image(forbidden_image(), (x0, 0.0), (y0, y1))
            else:
                self.forbidden.clear()
            put_data(self.edge, [0.0, 0.0], [y0, y1])
            lo, hi = max(x0, y0), min(x1, y1)
            if hi > lo:
                put_data(self.diagonal, [lo, hi], [lo, hi])
            else:
                self.diagonal.clear()
        if tl is not None:
            put_data(self.truth, [tl], [th])
        else:
            self.truth.clear()
        if rl is not None and math.isfinite(rl) and math.isfinite(rh):
            put_data(self.mle, [rl], [rh])
        else:
            self.mle.clear()
        self._draw_paths(snap, colors, paths, now)
        self.title = "λmin, λmax of Σ: PD edge"
        return self.title


__all__ = ["ANATOMY_COLOR", "ARROW_UPDATES", "SIGMA_SCALES", "ParamSpaceView", "arrow_segments", "forbidden_image",
           "shade_image", "view_scale"]
