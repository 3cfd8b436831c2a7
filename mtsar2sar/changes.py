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
* :func:`truth_change_slope` (simulated scenes): what :func:`change_slope` estimates, measured with the
  truth at the same window.
* :func:`bias_per_bin` (simulated scenes): per bin of a date's true departure from the temporal mean of
  the truth (dB), the bias of the estimate against the truth (dB) and its mean square error (dB^2).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter

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
