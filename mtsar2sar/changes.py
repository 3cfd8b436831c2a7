"""Change preservation of a despeckled stack: does each date keep what it has of its own?

* :func:`change_slope`, from the products alone (no truth). For each pair of consecutive dates, ``x``
  is the noisy log-ratio averaged over a ``window`` x ``window`` boxcar (the boxcar mean of
  ``log w_{t+1}`` minus that of ``log w_t``: the log-mean bias of speckle cancels), ``y`` the same of the
  estimates; the score is the slope of ``y`` on ``x`` through the origin over the pixels whose average
  change exceeds ``threshold_db`` (1: the changes kept at full size, below 1: shrunk, 0: a constant
  estimate). Its plain form (select on ``x``, regress on ``x``) is biased on noisy data: most pixels
  selected at 3 dB on single-look data are speckle (their ``y`` is about 0) and those selected are
  those whose noise pushed ``|x|`` up. The score is therefore a **split sample**: the pixels of each
  window are split in two halves (a checkerboard of 2 x 2 blocks, so that speckle correlated between
  neighbouring pixels stays mostly in one half); pixels are selected on half A's average ``x_A``
  (``|x_A|`` above the larger of ``threshold_db`` and ``k_sigma`` times its noise), and the slope is
  fitted on half B's ``x_B``, whose noise took no part in the selection, corrected for that noise
  (errors in variables): ``sum(x_B y) / (sum(x_B^2) - n sigma^2)``. The noise ``sigma`` of each half's
  ``x`` is the robust spread (MAD) of ``x_A - x_B`` over all pixels and pairs, divided by sqrt(2): a
  change moves both halves alike and cancels there (the spread of ``x`` itself is inflated by the
  changes of a scene that changes much, which over-corrects).
  Its 95 % interval is a block bootstrap whose units are (pair of dates, ``tile`` x ``tile`` tile),
  so that the windows' overlap and the spatial correlation of the errors stay within a unit.
  The denominator depends on the noisy dates alone: on one stack every method's slope shares it, so an
  error of ``sigma`` scales them all alike and leaves their order. Measured on the demo scenes (20
  dates, 512 x 512): the truth itself as the estimate reads 0.998 on white 4-look speckle and 0.969 on
  spatially correlated single-look speckle, where the two halves' noise correlates (+0.22) and
  ``sigma`` comes out low; noise an estimate keeps from its input correlates with ``x_B`` and reads as
  kept change (the noisy dates themselves read 1.06 there).
* :func:`departure_slope`, from the products alone: the same score for one date against the filtered
  super-image instead of the date before: does the estimate keep the date's own departures from it?
* :func:`truth_change_slope` (simulated scenes): what :func:`change_slope` estimates, measured with the
  truth at the same window.
* :func:`bias_per_bin` (simulated scenes): per bin of a date's true departure from the temporal mean of
  the truth (dB), the bias of the estimate against the truth (dB) and its mean square error (dB^2).
* :func:`ghost_contrast` (simulated scenes): does a date's product draw the outline of an object that
  only other dates hold (a flood, a new target, a harvested parcel), borrowed from the temporal mean?
  From the truth alone (:func:`absent_outlines`), for each date t: the pixels where some date of the
  stack differs from date t's truth by more than ``threshold_db`` (6 dB); their *outline*, a 1-pixel band
  on either side of the region's boundary, kept where date t's own truth is flat (log-gradient below
  ``flat_db``, 0.5 dB per pixel, within 2 pixels: an edge date t has itself is no ghost); and a *control*
  band 4-6 pixels from the boundary where every date is flat (nothing there to borrow). The gradient is
  the magnitude of the log-image's gradient through a Gaussian of 1 pixel (dB per pixel). The *contrast*
  is the mean over the outline of the estimate's gradient minus the truth's (0 for the truth), the
  *floor* the same over the control band (what residual speckle adds where no ghost can be), and the
  score their difference, the *excess*: about 0 without a ghost, whatever the speckle left (the floor
  takes it away; both bands are flat in the truth, so speckle adds to the gradient alike in both), and
  positive where the product draws the absent outline. Pooled over the dates with outline pixels, with a
  95 % block-bootstrap interval over (date, 64 x 64 tile). Measured on ``demo_4look`` (5 dates): the
  noisy dates read -0.01 [-0.06, +0.04] dB/px (their floor 0.55), the filtered super-image +0.64.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import (
    binary_dilation,
    binary_erosion,
    distance_transform_edt,
    gaussian_gradient_magnitude,
    maximum_filter,
    uniform_filter,
)

Image = NDArray[np.floating]
Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

DB = 10.0 / math.log(10.0)  # natural log -> dB
# bins of a date's true departure from the truth's temporal mean, dB
DEPARTURE_BINS_DB = (-math.inf, -6.0, -3.0, -1.0, 1.0, 3.0, 6.0, math.inf)
MAD_TO_SIGMA = 1.4826  # the MAD of a Gaussian times this is its standard deviation


@dataclass(frozen=True)
class ChangeSlope:
    """The change-preservation slope, its 95 % interval ``[low, high]``, the pixels (summed over the
    pairs) and pairs of dates it was fitted on, the selection threshold and the noise of ``x`` (dB)."""

    slope: float
    low: float
    high: float
    pixels: int
    pairs: int
    threshold_db: float = math.nan
    noise_db: float = math.nan

    def __str__(self) -> str:
        return f"{self.slope:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class BinBias:
    """One bin of true departure ``[low_db, high_db)``: its pixels, their mean true departure (dB), the
    estimate's mean error ``10 log10(w_hat / v)`` (dB) and its mean square (dB^2); NaN when empty."""

    low_db: float
    high_db: float
    pixels: int
    true_db: float
    bias_db: float
    mse_db2: float


def _images(images: Sequence[Image], what: str, minimum: int = 2) -> list[Array]:
    """The images as 2-D float64 arrays of one shape, at least ``minimum`` of them."""
    out = [np.asarray(a, dtype=np.float64) for a in images]
    if len(out) < minimum:
        raise ValueError(f"{what}: at least {minimum} dates are needed, got {len(out)}")
    for k, a in enumerate(out):
        if a.ndim != 2:
            raise ValueError(f"{what}: date {k} is not a 2-D image (shape {a.shape})")
        if a.shape != out[0].shape:
            raise ValueError(f"{what}: date {k} has shape {a.shape}, date 0 {out[0].shape}")
    return out


def _same_stack(a: list[Array], b: list[Array], what_a: str, what_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} {what_a} dates but {len(b)} {what_b} dates")
    if a[0].shape != b[0].shape:
        raise ValueError(f"{what_a} dates have shape {a[0].shape}, {what_b} dates {b[0].shape}")


def checkerboard(shape: tuple[int, ...]) -> tuple[Mask, Mask]:
    """Two interleaved halves of the pixels: a checkerboard of 2 x 2 blocks."""
    r, c = np.indices(shape[:2])
    a = ((r // 2 + c // 2) % 2) == 0
    return a, ~a


def log_box(image: Array, window: int, mask: Mask | None = None) -> Array:
    """The boxcar mean of ``log(image)`` over the valid pixels (finite, > 0) of ``mask`` in each
    ``window`` x ``window`` window; NaN where the pixel itself is invalid or fewer than half of the
    window's pixels of ``mask`` are valid."""
    valid = np.isfinite(image) & (image > 0)
    use = valid if mask is None else valid & mask
    logs = np.where(use, np.log(np.where(use, image, 1.0)), 0.0)
    num = uniform_filter(logs, window, mode="reflect")
    den = uniform_filter(use.astype(np.float64), window, mode="reflect")
    cover = 1.0 if mask is None else uniform_filter(mask.astype(np.float64), window, mode="reflect")
    ok = valid & (den > 0.5 * cover) & (den > 0)
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def _mad(values: list[Array]) -> float:
    """Robust standard deviation (MAD x 1.4826) of the finite values of ``values``; NaN when none."""
    x = np.concatenate([v[np.isfinite(v)] for v in values])
    if x.size == 0:
        return math.nan
    return float(MAD_TO_SIGMA * np.median(np.abs(x - np.median(x))))


def _units(pairs: list[tuple[Array, Array, Mask]], tile: int) -> tuple[Array, Array, NDArray[np.int64]]:
    """Per unit (pair x tile) with selected pixels: sum(x y), sum(x x) and the count."""
    sxy: list[float] = []
    sxx: list[float] = []
    cnt: list[int] = []
    for x, y, sel in pairs:
        h, w = x.shape
        for r in range(0, h, tile):
            for c in range(0, w, tile):
                s = sel[r : r + tile, c : c + tile]
                n = int(s.sum())
                if n:
                    xx = x[r : r + tile, c : c + tile][s]
                    yy = y[r : r + tile, c : c + tile][s]
                    sxy.append(float((xx * yy).sum()))
                    sxx.append(float((xx * xx).sum()))
                    cnt.append(n)
    return np.array(sxy), np.array(sxx), np.array(cnt, dtype=np.int64)


def _ratio(sxy: Array | float, sxx: Array | float, n: Array | float, s2: float) -> Array:
    den = np.asarray(sxx, dtype=np.float64) - s2 * np.asarray(n, dtype=np.float64)
    return np.where(den > 0, np.asarray(sxy, dtype=np.float64) / np.where(den > 0, den, 1.0), np.nan)


def change_slope(
    noisy: Sequence[Image], estimates: Sequence[Image], *, window: int = 9, threshold_db: float = 3.0,
    k_sigma: float = 4.0, tile: int = 32, boots: int = 2000, seed: int = 0, split: bool = True,
) -> ChangeSlope:
    """The change-preservation slope of the estimates of consecutive dates against the noisy dates
    (module docstring), with its 95 % block-bootstrap interval (``boots`` draws, seeded: deterministic).

    ``noisy[t]`` and ``estimates[t]`` are the same date; NaN or non-positive pixels are left out.
    ``split=False``: the plain score, selected and fitted on the whole window's ``x``, ``|x| >
    threshold_db``, ``sum(x y) / sum(x^2)`` (biased on noisy data: for comparison only). NaN (and 0
    pixels) when no pixel changes enough."""
    w = _images(noisy, "noisy")
    e = _images(estimates, "estimates")
    _same_stack(w, e, "noisy", "estimate")
    if window < 1 or tile < 1 or boots < 1:
        raise ValueError(f"window, tile and boots must be >= 1, got {window}, {tile}, {boots}")
    y_box = [log_box(a, window) for a in e]
    if split:
        half_a, half_b = checkerboard(w[0].shape)
        sel_box = [log_box(a, window, half_a) for a in w]
        fit_box = [log_box(a, window, half_b) for a in w]
        # the noise of x_B: x_A - x_B holds twice its variance and no change (a change moves both halves)
        noise = _mad([(sel_box[t + 1] - sel_box[t]) - (fit_box[t + 1] - fit_box[t]) for t in range(len(w) - 1)])
        noise /= math.sqrt(2.0)
        threshold, s2 = max(threshold_db / DB, k_sigma * noise), noise * noise
    else:
        sel_box = fit_box = [log_box(a, window) for a in w]
        noise = _mad([fit_box[t + 1] - fit_box[t] for t in range(len(w) - 1)])
        threshold, s2 = threshold_db / DB, 0.0
    pairs = []
    for t in range(len(w) - 1):
        xs, x, y = sel_box[t + 1] - sel_box[t], fit_box[t + 1] - fit_box[t], y_box[t + 1] - y_box[t]
        sel = np.isfinite(xs) & np.isfinite(x) & np.isfinite(y) & (np.abs(np.nan_to_num(xs)) > threshold)
        pairs.append((x, y, sel))
    sxy, sxx, cnt = _units(pairs, tile)
    n_pairs = len(w) - 1
    if cnt.size == 0 or not np.isfinite(s2):
        return ChangeSlope(math.nan, math.nan, math.nan, 0, n_pairs, threshold * DB, noise * DB)
    slope = float(_ratio(sxy.sum(), sxx.sum(), cnt.sum(), s2))
    rng = np.random.default_rng(seed)
    draws: list[Array] = []
    chunk = max(1, 2_000_000 // cnt.size)
    for start in range(0, boots, chunk):
        idx = rng.integers(0, cnt.size, size=(min(chunk, boots - start), cnt.size))
        draws.append(_ratio(sxy[idx].sum(axis=1), sxx[idx].sum(axis=1), cnt[idx].sum(axis=1), s2))
    b = np.concatenate(draws)
    b = b[np.isfinite(b)]
    low, high = (float(np.quantile(b, 0.025)), float(np.quantile(b, 0.975))) if b.size else (math.nan, math.nan)
    return ChangeSlope(slope, low, high, int(cnt.sum()), n_pairs, threshold * DB, noise * DB)


def departure_slope(
    noisy: Image, estimate: Image, reference: Image, *, window: int = 9, threshold_db: float = 3.0,
    boots: int = 200, seed: int = 0,
) -> ChangeSlope:
    """The slope of a date's own departures from a reference (the filtered super-image) kept by its
    estimate: :func:`change_slope` of the pair (reference, date), the reference standing for both the noisy
    and the estimated date before. ``x`` is the noisy date's boxcar log-departure from the reference,
    ``y`` the estimate's: 1 where the estimate keeps what the date has of its own (a flood over several
    dates, a harvested parcel), 0 where it is the reference. Unlike consecutive dates, the log-mean bias of
    speckle does not cancel in ``x``: it is taken out as the median over the pixels of ``x - y`` (at 4
    looks, -0.130 = psi(4) - log 4, measured on ``demo_4look``), so that most pixels, which do not depart,
    read the same in both. NaN (0 pixels) where no pixel departs by more than ``threshold_db``."""
    w = np.asarray(noisy, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    s = np.asarray(reference, dtype=np.float64)
    offset = log_box(w, window) - log_box(e, window)
    bias = float(np.nanmedian(offset)) if np.isfinite(offset).any() else 0.0
    return change_slope([s, w * math.exp(-bias)], [s, e], window=window, threshold_db=threshold_db, boots=boots,
                        seed=seed)


def truth_change_slope(truth: Sequence[Image], estimates: Sequence[Image], *, window: int = 9,
                       threshold_db: float = 3.0) -> float:
    """What :func:`change_slope` estimates, with the truth in place of the noisy dates: the slope of the
    estimates' boxcar log-ratio of consecutive dates on the truth's, where the truth's exceeds
    ``threshold_db``; NaN where none does."""
    v = _images(truth, "truth")
    e = _images(estimates, "estimates")
    _same_stack(v, e, "truth", "estimate")
    xb = [log_box(a, window) for a in v]
    yb = [log_box(a, window) for a in e]
    sxy = sxx = 0.0
    for t in range(len(v) - 1):
        x, y = xb[t + 1] - xb[t], yb[t + 1] - yb[t]
        sel = np.isfinite(x) & np.isfinite(y) & (np.abs(np.nan_to_num(x)) > threshold_db / DB)
        sxy += float((x[sel] * y[sel]).sum())
        sxx += float((x[sel] ** 2).sum())
    return sxy / sxx if sxx > 0 else math.nan


def bias_per_bin(estimates: Sequence[Image], truth: Sequence[Image], *, truth_mean: Image | None = None,
                 bins: Sequence[float] = DEPARTURE_BINS_DB) -> tuple[BinBias, ...]:
    """Per bin of a date's true departure ``10 log10(v_t / mean(v))`` from the truth's temporal mean
    (``truth_mean``; default the mean of ``truth``, pass the whole stack's when ``truth`` is a few
    dates of it), the pixels over all dates, their mean departure, and the estimate's mean error
    ``10 log10(w_hat_t / v_t)`` (bias, dB) and mean square error (dB^2). Pixels invalid in the estimate,
    the truth or the mean are left out. One entry per bin, in order (NaN values for an empty bin)."""
    e = _images(estimates, "estimates", 1)
    v = _images(truth, "truth", 1)
    _same_stack(v, e, "truth", "estimate")
    edges = [float(x) for x in bins]
    if len(edges) < 2 or any(hi <= lo for lo, hi in itertools.pairwise(edges)):
        raise ValueError(f"bins must be at least 2 increasing edges, got {edges}")
    if truth_mean is None:
        if len(v) < 2:
            raise ValueError("bias_per_bin: one truth date needs its stack's temporal mean (truth_mean)")
        mean = np.mean(np.stack(v), axis=0)
    else:
        mean = np.asarray(truth_mean, dtype=np.float64)
        if mean.shape != v[0].shape:
            raise ValueError(f"truth_mean has shape {mean.shape}, the dates {v[0].shape}")
    dep: list[Array] = []
    err: list[Array] = []
    for a, b in zip(e, v, strict=True):
        ok = np.isfinite(a) & (a > 0) & np.isfinite(b) & (b > 0) & np.isfinite(mean) & (mean > 0)
        dep.append(DB * np.log(b[ok] / mean[ok]))
        err.append(DB * np.log(a[ok] / b[ok]))
    d, r = np.concatenate(dep), np.concatenate(err)
    out = []
    for lo, hi in itertools.pairwise(edges):
        s = (d >= lo) & (d < hi)
        n = int(s.sum())
        if n:
            out.append(BinBias(lo, hi, n, float(d[s].mean()), float(r[s].mean()), float((r[s] ** 2).mean())))
        else:
            out.append(BinBias(lo, hi, 0, math.nan, math.nan, math.nan))
    return tuple(out)


@dataclass(frozen=True)
class GhostContrast:
    """The ghost contrast of an estimate (module docstring), pooled over the dates where an object of
    another date is absent: on the outline, the mean excess of the estimate's log-gradient magnitude over
    the truth's (``contrast``, dB per pixel), the same on the control band (``floor``), ``excess`` =
    ``contrast - floor`` with its 95 % interval ``[low, high]``, the pixels of outline and control (summed
    over the dates), the dates measured and each one's excess (``per_date``, NaN where it has none)."""

    contrast: float
    floor: float
    excess: float
    low: float
    high: float
    pixels: int
    control_pixels: int
    dates: int
    per_date: tuple[float, ...] = ()

    def __str__(self) -> str:
        return f"{self.excess:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def log_gradient(image: Image, sigma: float = 1.0) -> tuple[Array, Mask]:
    """The gradient magnitude of ``log(image)`` through a Gaussian of ``sigma`` pixels, in dB per pixel,
    and the mask of the pixels it is valid at: the image's invalid pixels (NaN, <= 0) are filled with the
    mean log before filtering, and the pixels within ``3 sigma + 1`` of them are left out."""
    a = np.asarray(image, dtype=np.float64)
    ok = np.isfinite(a) & (a > 0)
    if not ok.any():
        return np.full(a.shape, np.nan), ok
    logs = np.log(np.where(ok, a, 1.0))
    logs = np.where(ok, logs, float(logs[ok].mean()))
    grad = DB * gaussian_gradient_magnitude(logs, sigma, mode="nearest")
    if not ok.all():
        ok = ~binary_dilation(~ok, iterations=math.ceil(3 * sigma) + 1)
    return grad, ok


def absent_outlines(truth: Sequence[Image], stack: Sequence[Image] | None = None, *, threshold_db: float = 6.0,
                    flat_db: float = 0.5, sigma: float = 1.0, band: int = 1, control: tuple[int, int] = (4, 6),
                    ) -> list[tuple[Mask, Mask]]:
    """Per date of ``truth``, the (outline, control) masks of :func:`ghost_contrast`, from the truth alone.

    The pixels where some date of ``stack`` (default ``truth``; pass the whole stack when ``truth`` is a
    few dates of it) differs from the date's truth by more than ``threshold_db`` hold an object that the
    date lacks (or has alone); the outline is the ``band``-pixel band on either side of their boundary,
    restricted to pixels where the date's own truth is flat (its log-gradient below ``flat_db`` dB per
    pixel everywhere within ``band + 1`` pixels: a true edge of the date, such as the outline of an object
    it has alone, is not a ghost). The control band: the pixels ``control[0]``-``control[1]`` pixels from
    the boundary where every date of ``stack`` is flat (nothing there for an estimate to borrow from
    another date)."""
    v = _images(truth, "truth", 1)
    st = v if stack is None else _images(stack, "stack")
    if st[0].shape != v[0].shape:
        raise ValueError(f"stack dates have shape {st[0].shape}, truth dates {v[0].shape}")
    if threshold_db <= 0 or flat_db <= 0 or sigma <= 0 or band < 1:
        raise ValueError(f"threshold_db, flat_db, sigma must be > 0 and band >= 1, got {threshold_db}, {flat_db}, "
                         f"{sigma}, {band}")
    if not 0 < control[0] <= control[1]:
        raise ValueError(f"control must be (near, far) pixels with 0 < near <= far, got {control}")
    size = 2 * (band + 1) + 1
    grads = [log_gradient(a, sigma) for a in st]
    stack_ok = np.logical_and.reduce([ok for _, ok in grads])
    stack_flat = stack_ok & (maximum_filter(np.max([np.where(ok, g, np.inf) for g, ok in grads], axis=0), size) < flat_db)
    logs = [np.log(np.where(np.isfinite(a) & (a > 0), a, np.nan)) for a in st]
    out = []
    for a in v:
        la = np.log(np.where(np.isfinite(a) & (a > 0), a, np.nan))
        with np.errstate(invalid="ignore"):
            diff = np.nanmax(np.abs(np.stack(logs) - la), axis=0) if len(logs) else np.zeros(a.shape)
        absent = np.nan_to_num(diff, nan=0.0) > threshold_db / DB
        boundary = (absent & ~binary_erosion(absent, iterations=band, border_value=1)) | (
            binary_dilation(absent, iterations=band) & ~absent)
        g, ok = log_gradient(a, sigma)
        flat = ok & (maximum_filter(np.where(ok, g, np.inf), size) < flat_db)
        outline = boundary & flat
        if boundary.any():
            dist = distance_transform_edt(~boundary)
            ring = (dist >= control[0]) & (dist <= control[1]) & stack_flat & flat
        else:
            ring = np.zeros(a.shape, dtype=bool)
        out.append((outline, ring))
    return out


def ghost_contrast(estimates: Sequence[Image], truth: Sequence[Image], stack: Sequence[Image] | None = None, *,
                   threshold_db: float = 6.0, flat_db: float = 0.5, sigma: float = 1.0, band: int = 1,
                   control: tuple[int, int] = (4, 6), min_pixels: int = 20, tile: int = 64, boots: int = 2000,
                   seed: int = 0, masks: Sequence[tuple[Mask, Mask]] | None = None) -> GhostContrast:
    """The ghost contrast of the estimates of the dates of ``truth`` (module docstring), pooled over the
    dates with at least ``min_pixels`` outline and control pixels, with a 95 % block-bootstrap interval of
    its excess over the floor (units: date x ``tile`` x ``tile`` tile; ``boots`` draws, seeded).

    ``estimates[t]`` and ``truth[t]`` are the same date; ``stack`` is the truth of every date whose objects
    can be absent from them (default ``truth``). ``masks``: the (outline, control) of each date from
    :func:`absent_outlines` with the same settings, when several methods are scored on one truth. NaN (0
    pixels, 0 dates) where no date lacks an object."""
    e = _images(estimates, "estimates", 1)
    v = _images(truth, "truth", 1)
    _same_stack(v, e, "truth", "estimate")
    if min_pixels < 1 or tile < 1 or boots < 1:
        raise ValueError(f"min_pixels, tile and boots must be >= 1, got {min_pixels}, {tile}, {boots}")
    if masks is None:
        masks = absent_outlines(v, stack, threshold_db=threshold_db, flat_db=flat_db, sigma=sigma, band=band,
                                control=control)
    elif len(masks) != len(v) or any(m.shape != v[0].shape for pair in masks for m in pair):
        raise ValueError(f"masks: {len(masks)} (outline, control) pairs for {len(v)} truth dates of shape {v[0].shape}")
    # per unit (date x tile): sum and count of the excess gradient on the outline and on the control band
    units: list[tuple[float, int, float, int]] = []
    per_date: list[float] = []
    for a, b, (outline, ring) in zip(e, v, masks, strict=True):
        ge, oke = log_gradient(a, sigma)
        gt, okt = log_gradient(b, sigma)
        d = ge - gt
        o, c = outline & oke & okt, ring & oke & okt
        if o.sum() < min_pixels or c.sum() < min_pixels:
            per_date.append(math.nan)
            continue
        per_date.append(float(d[o].mean() - d[c].mean()))
        h, w = d.shape
        for r in range(0, h, tile):
            for col in range(0, w, tile):
                so, sc = o[r : r + tile, col : col + tile], c[r : r + tile, col : col + tile]
                if so.any() or sc.any():
                    dd = d[r : r + tile, col : col + tile]
                    units.append((float(dd[so].sum()), int(so.sum()), float(dd[sc].sum()), int(sc.sum())))
    n_dates = sum(math.isfinite(x) for x in per_date)
    if not units:
        return GhostContrast(math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0, 0, tuple(per_date))
    u = np.array(units, dtype=np.float64)
    contrast, floor = u[:, 0].sum() / u[:, 1].sum(), u[:, 2].sum() / u[:, 3].sum()
    rng = np.random.default_rng(seed)
    draws: list[Array] = []
    chunk = max(1, 2_000_000 // len(u))
    for start in range(0, boots, chunk):
        idx = rng.integers(0, len(u), size=(min(chunk, boots - start), len(u)))
        s = u[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            draws.append(s[:, 0] / s[:, 1] - s[:, 2] / s[:, 3])
    b = np.concatenate(draws)
    b = b[np.isfinite(b)]
    low, high = (float(np.quantile(b, 0.025)), float(np.quantile(b, 0.975))) if b.size else (math.nan, math.nan)
    return GhostContrast(float(contrast), float(floor), float(contrast - floor), low, high, int(u[:, 1].sum()),
                         int(u[:, 3].sum()), n_dates, tuple(per_date))
