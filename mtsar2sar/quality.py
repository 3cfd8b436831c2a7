"""Did it work on my stack? Scores of a despeckled date without a truth, a verdict in words, per AOI.

SAR practitioners judge a despeckler on real data by its **ratio image** ``r = y / w_hat`` (noisy over
despeckled): where only speckle was removed it is pure speckle, of mean 1, of ENL equal to the input's
looks and without structure; edges or targets left in it are signal the filter removed. Per date:

* **Ratio mean and ENL** (``mean^2 / var``) over the homogeneous areas: the pixels of the 20 % of
  non-overlapping 7 x 7 windows of the super-image (the AOI's temporal mean) with the lowest coefficient
  of variation (:func:`mtsar2sar.realscore.homogeneous_mask`, the windows of ``benchmarks/real_stacks.py``).
  They are chosen on the super-image, not on the date or the estimate: its speckle is T times weaker, so
  the choice depends on neither the date's speckle nor the method judged, and every date and method is
  judged on the same areas. (``metrics.homogeneous_windows`` picks 15 x 15 windows of the image judged
  itself: fine on a truth, biased towards whichever windows a filter happened to smooth.) The mean and
  ENL are pooled over the windows' pixels, as :func:`mtsar2sar.realscore.ratio_stats`, with standard
  errors by the jackknife over windows (the windows, not the pixels, are the independent units: speckle
  is spatially correlated). The ENL is compared with the **reference looks**
  (:func:`reference_looks`): the larger of the AOI's looks and the stack's temporal estimate per date.
* **Residual structure**, the M-index of Gomez, Ospina and Frery, "Unassisted quantitative evaluation
  of despeckling filters", Remote Sensing 9(4):389, 2017 (``M = (r_ENL,mu + delta_h) / 2``, 0 for pure
  speckle), as we implement it:

  - first order ``r_ENL,mu``: the mean over the homogeneous windows ``i`` of ``(|1 - ENL_r(i) /
    ENL_y(i)| + |1 - mu_r(i)|) / 2``, with ``ENL_r(i)``, ``mu_r(i)`` the ratio's ENL and mean in window
    ``i`` and ``ENL_y(i)`` the noisy date's in the same window (a perfect estimate, constant over a
    window, scales the noisy window: its terms are exactly 0 there). A fraction, as in the paper;
  - second order ``delta_h = 100 |h_o - h_g| / h_o``: ``h_o`` the Haralick homogeneity of the ratio's
    grey-level co-occurrence matrix (scikit-image's ``graycomatrix`` / ``graycoprops``; distance 1, the
    four directions 0, 45, 90, 135 degrees, symmetric, averaged over the directions) and ``h_g`` that
    of the ratio with its pixels randomly permuted (no structure left). Simplifications: the whole
    valid ratio image (invalid pixels are left out of the pairs) in :data:`GREY_LEVELS` equal-count grey
    levels (quantiles of the ratio: ``delta_h`` then measures only where the values are, not their
    distribution, which the first order judges); ``h_g`` is the permutation's exact expectation
    (``sum_ij p_i p_j / (1 + (i - j)^2)`` of the grey levels' frequencies ``p``) unless ``permutations``
    seeded permutations are asked for (the same to 0.1-0.5 points on 512 x 512 dates, without their noise);
  - caveat: spatially correlated speckle has structure of its own: ``delta_h`` of the ratio of a perfect
    estimate is 0 on white speckle, about 8 on Sentinel-1-like single-look speckle (the demo's) and 3 to
    9 on the OPERA stacks. It ranks the methods of one stack; it is not given a threshold.
* **Edge correlation**: Pearson's correlation between the ratio's departure ``|log r - mean(log r)|`` and
  the gradient magnitude of the log super-image (3 x 3 boxcar; of the estimate when no super-image is
  given): edges and targets left in the ratio, where the scene has them. 0 for pure speckle whatever its
  correlation, unlike ``delta_h`` (the estimate's own gradient, ``metrics.ratio_statistics``, follows
  the speckle an estimate keeps: 0.06-0.13 for the chain on the OPERA sea stacks).
* **Change preservation**: the slope of the estimate's change against the noisy change between
  consecutive dates. Computed by :mod:`mtsar2sar.changes`, passed in through the hook ``change_slope``
  (:data:`ChangeSlopeHook`); ``None`` when not given.
* **Invalid pixels**: the fraction of the product's pixels that are invalid (NaN, <= 0), the input's,
  and the fraction valid in the input but lost in the product.
* **Despeckled ENL**: the despeckled date's ENL on the homogeneous windows (``1 / mean(var / mean^2)``
  over the windows; the noisy date's, ``noisy_enl``, the same way): how much it smooths. The ratio does
  not see noise an estimate keeps or adds well below the speckle's level (the chain with
  ``super_image.filter: none`` carries the plain mean's noise: 4-5 dB worse in PSNR on the demos, its
  M-index the same within 0.05); this does. Its ``residual_variation`` is ``100 / despeckled_enl`` (%).

Each date gets a :class:`Verdict` (ok / warning / fail and one line in plain words) from the thresholds
below; a departure counts only beyond twice its standard error. The AOI's :class:`AoiQuality` aggregates
the dates; :meth:`AoiQuality.rank_key` orders runs of one AOI: the fewest failing dates, then the lowest
mean **quality index**, ``M + RESIDUAL_WEIGHT x residual_variation`` (structure left in the ratio, and
noise left in the estimate). Nothing here depends on the time or the machine: the same inputs give the
same report, byte for byte.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter

from mtsar2sar.enl import block_view
from mtsar2sar.io import Rows, json_ready, read_grid, read_intensity, read_product, write_json
from mtsar2sar.realscore import homogeneous_mask

Image = NDArray[np.floating]
Mask = NDArray[np.bool_]
# (noisy date t - 1, noisy date t, estimate t - 1, estimate t) -> the change-preservation slope of the pair:
# the hook for mtsar2sar.changes (e.g. ``lambda a, b, c, d: change_slope([a, b], [c, d]).slope``)
ChangeSlopeHook = Callable[[Image, Image, Image, Image], float]
# (noisy date, estimate, filtered super-image) -> the slope of the date's own departures from the super-image
# kept by the estimate (mtsar2sar.changes.departure_slope)
DepartureHook = Callable[[Image, Image, Image], float]

OK, WARNING, FAIL = "ok", "warning", "fail"
STATUS_ORDER = {OK: 0, WARNING: 1, FAIL: 2}

# --- what is measured ---------------------------------------------------------------------------------
WINDOW = 7  # side of the homogeneous windows (px): realscore.homogeneous_mask's, 49 pixels a window
HOMOGENEOUS_FRACTION = 0.2  # of the windows, the least variable in the super-image: realscore's
GREY_LEVELS = 16  # equal-count grey levels of the ratio in its co-occurrence matrix
GLCM_ANGLES = (0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4)
EDGE_SMOOTHING = 3  # boxcar (px) of the log super-image before its gradient: its residual speckle
MAX_SIDE = 1024  # assess_files scores the central MAX_SIDE x MAX_SIDE window of larger dates (time, memory)

# The ranking's quality index is the M-index plus RESIDUAL_WEIGHT x the despeckled date's residual variation
# (100 / its ENL on the homogeneous areas): the ratio judges what an estimate removed, not the noise it keeps
# or adds when that is well below the speckle's (the chain with super_image.filter: none is 4-5 dB worse in
# PSNR on the demos, its M-index the same within 0.05). Chosen on the 12 stacks of
# benchmarks/quality_ranking.py: any weight in (0.03, 0.56) ranks the chain above every degraded run on all
# 12 (below, filter none ties with it; above, a 5 x 5 boxcar, smoother on the land stack's texture, passes
# it); 1/8 is the interval's geometric middle, a fourfold margin either way.
RESIDUAL_WEIGHT = 0.125

# --- the verdict's thresholds ---------------------------------------------------------------------------
# A measured departure counts only beyond SIGNIFICANCE standard errors (95 %): on a 100 x 100 stack the
# homogeneous areas are 40 windows and a date's ratio ENL varies by +-15 % from sampling alone.
SIGNIFICANCE = 2.0
# |ratio mean - 1| over homogeneous areas: 0.05 is 0.2 dB of bias. The shipped chain: 0.951-1.021 on every
# date of the 10 OPERA stacks (stack means 0.984-1.003), 0.994-1.010 on the demos; published GRD weights
# 0.94-1.06 on the same stacks and 0.93-0.94 on single-look data. Past 0.10 (0.4 dB) the level of the
# products is wrong for any radiometric use.
MEAN_WARN, MEAN_FAIL = 0.05, 0.10
# ratio ENL / reference looks, either way (a factor): above, the estimate follows part of the speckle;
# below, it adds noise or local bias. The chain: 0.95-1.16 of the reference on the OPERA stacks (means over
# the dates; single dates 0.48-1.49 where the wind's texture fills the sea's homogeneous areas: 1 or 2
# dates of 22 warned on 6 stacks), 0.99-1.04 on the demos; a 5 x 5 boxcar of it 0.27-0.80 on the land
# stack (the texture it blurs), published GRD weights on single-look data 2.2-2.3. 2.0 is an estimate that
# keeps about 30 % of the log-speckle's amplitude.
ENL_WARN, ENL_FAIL = 1.3, 2.0
# Edge correlation: the chain -0.02 to 0.05 on every date of the demos and the OPERA stacks (0 +- 0.02 where
# the scene has no edges: the sea); a 5 x 5 boxcar of it 0.13-0.23 on the land stack (VH, VV), 0.19-0.21 and
# 0.38-0.39 on the single- and 4-look demos (and 0 +- 0.03 on the sea, where it has nothing to blur).
EDGE_WARN, EDGE_FAIL = 0.10, 0.20
# Change-preservation slope against the date before (mtsar2sar.changes.change_slope: 1, changes kept at full
# size; 0, none kept, as by the temporal mean). The chain: 0.975-0.999 on every pair of consecutive dates of
# demo_4look with at least MIN_CHANGE_PIXELS changed pixels (0.988 [0.984, 0.993] over all pairs); a pair
# with fewer scatters from 0.7 to 12.8 (1 to 14 pixels) and is not judged. Below 0.8 a fifth of every
# change is lost; below 0.5, half.
CHANGE_SLOPE_WARN, CHANGE_SLOPE_FAIL = 0.8, 0.5
MIN_CHANGE_PIXELS = 500
# Fraction of the input's valid pixels that are invalid in the product: the chain loses none (a pixel is
# invalid in the product only where it is in the input or in the super-image, i.e. in every date).
LOST_WARN, LOST_FAIL = 0.001, 0.01
# Below this many homogeneous pixels (about 10 windows) the ratio's mean and ENL are not judged.
MIN_HOMOGENEOUS_PIXELS = 10 * WINDOW * WINDOW


@dataclass(frozen=True)
class Verdict:
    """``status``: ok / warning / fail; ``line``: the scores and what they mean, in plain words;
    ``problems``: each departure, in words (empty when ok)."""

    status: str
    line: str
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "line": self.line, "problems": list(self.problems)}


@dataclass(frozen=True)
class DateQuality:
    """The scores of one despeckled date (module docstring); NaN where not measurable, ``inf`` for the
    ENL of a constant ratio (the estimate is the noisy date)."""

    date: str
    reference_looks: float
    ratio_mean: float
    ratio_mean_se: float
    ratio_enl: float
    ratio_enl_se: float  # of log(ratio_enl): a relative standard error
    noisy_enl: float  # the noisy date's ENL on the same windows (each window over its own mean)
    despeckled_enl: float  # the despeckled date's, the same way (higher: smoother)
    first_order: float  # Gomez et al.'s r_ENL,mu (a fraction)
    delta_h: float  # Gomez et al.'s delta_h (percent)
    m_index: float
    quality_index: float  # m_index + RESIDUAL_WEIGHT x residual_variation: the ranking's score
    edge_correlation: float
    invalid_fraction: float
    input_invalid_fraction: float
    lost_fraction: float
    homogeneous_pixels: int
    change_slope: float | None = None  # against the date before (hook: mtsar2sar.changes)
    departure_slope: float | None = None  # of its departures from the super-image (hook: mtsar2sar.changes)
    verdict: Verdict = field(default_factory=lambda: Verdict(OK, ""))

    @property
    def enl_factor(self) -> float:
        """The ratio's ENL over the reference looks (1 for pure speckle)."""
        return self.ratio_enl / self.reference_looks

    @property
    def residual_variation(self) -> float:
        """``100 / despeckled_enl``: the despeckled date's variance on the homogeneous areas, in percent of
        its squared mean (speckle and texture left; 100 / looks for the noisy date)."""
        return residual_variation(self.despeckled_enl)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in (
            "date", "reference_looks", "ratio_mean", "ratio_mean_se", "ratio_enl", "ratio_enl_se", "noisy_enl",
            "despeckled_enl", "first_order", "delta_h", "m_index", "quality_index", "edge_correlation",
            "invalid_fraction", "input_invalid_fraction", "lost_fraction", "homogeneous_pixels", "change_slope",
            "departure_slope")}
        out["enl_factor"] = self.enl_factor
        out["residual_variation"] = self.residual_variation
        out["constant_ratio"] = math.isinf(self.ratio_enl)
        out["verdict"] = self.verdict.to_dict()
        return dict(json_ready(out))


@dataclass(frozen=True)
class AoiQuality:
    """The dates' scores of one AOI and their aggregate."""

    aoi: str
    reference_looks: float
    dates: tuple[DateQuality, ...]
    window: tuple[int, int, int, int] | None = None  # (row, col, height, width) scored, when not the whole
    # the left-out-date check (outputs.quality_leave_out: mtsar2sar.leaveout.LeaveOutCheck.to_dict), when run
    leave_out: Mapping[str, Any] | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(d.verdict.status == s for d in self.dates) for s in (OK, WARNING, FAIL)}

    @property
    def status(self) -> str:
        """The worst date's status (ok for an AOI without dates)."""
        return max((d.verdict.status for d in self.dates), key=STATUS_ORDER.__getitem__, default=OK)

    @property
    def flagged(self) -> list[str]:
        """The dates whose verdict is not ok, in order."""
        return [d.date for d in self.dates if d.verdict.status != OK]

    def mean(self, name: str) -> float:
        """The mean over the dates of a score (NaN where none has it; inf if any is inf)."""
        vals = [float(v) for d in self.dates if (v := getattr(d, name)) is not None and not math.isnan(v)]
        return float(np.mean(vals)) if vals else math.nan

    @property
    def m_index(self) -> float:
        return self.mean("m_index")

    @property
    def quality_index(self) -> float:
        return self.mean("quality_index")

    def rank_key(self) -> tuple[int, float]:
        """Orders runs of one AOI, best first: the fewest failing dates, then the lowest mean quality index
        (NaN last). Warnings do not rank: on the OPERA sea stacks the wind's texture in the homogeneous
        areas gives the chain's ratio an ENL of 0.7 to 1.5 times the looks on a few dates of 22."""
        q = self.quality_index
        return self.counts[FAIL], q if not math.isnan(q) else math.inf

    @property
    def line(self) -> str:
        """The aggregate in one line."""
        c = self.counts
        parts = [f"{len(self.dates)} dates: {c[OK]} ok, {c[WARNING]} warning, {c[FAIL]} fail"]
        means = [d.ratio_mean for d in self.dates if math.isfinite(d.ratio_mean)]
        enls = [d.ratio_enl for d in self.dates if not math.isnan(d.ratio_enl)]
        if means:
            parts.append(f"ratio mean {_span(means, '.3f')}")
        if enls:
            parts.append(f"ENL {_span(enls, '.2f')} for {_looks(self.reference_looks)}")
        parts.append(f"M-index {self.m_index:.2f}")
        parts.append(f"quality index {self.quality_index:.2f}")
        parts.append(f"edge correlation {_f2(self.mean('edge_correlation'))}")
        for name in ("change_slope", "departure_slope"):
            if not math.isnan(slope := self.mean(name)):
                parts.append(f"{name.replace('_', ' ')} {slope:.2f}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        c = self.counts
        aggregate = {
            "status": self.status, "counts": c, "flagged_dates": self.flagged, "line": self.line,
            **{f"mean_{k}": self.mean(k) for k in (
                "ratio_mean", "ratio_enl", "enl_factor", "despeckled_enl", "residual_variation", "first_order", "delta_h",
                "m_index", "quality_index", "edge_correlation", "change_slope", "departure_slope", "lost_fraction")},
            "max_invalid_fraction": max((d.invalid_fraction for d in self.dates), default=math.nan),
            "rank_key": list(self.rank_key()),
        }
        out = {"aoi": self.aoi, "reference_looks": self.reference_looks, "window": self.window,
               "thresholds": thresholds(), "aggregate": aggregate, "dates": [d.to_dict() for d in self.dates]}
        if self.leave_out is not None:
            out["leave_out"] = dict(self.leave_out)
        return dict(json_ready(out))


def thresholds() -> dict[str, float]:
    """The verdict's thresholds (written into the report)."""
    return {"residual_weight": RESIDUAL_WEIGHT, "significance_se": SIGNIFICANCE, "mean_warn": MEAN_WARN, "mean_fail": MEAN_FAIL, "enl_warn": ENL_WARN,
            "enl_fail": ENL_FAIL, "edge_warn": EDGE_WARN, "edge_fail": EDGE_FAIL,
            "change_slope_warn": CHANGE_SLOPE_WARN, "change_slope_fail": CHANGE_SLOPE_FAIL, "lost_warn": LOST_WARN,
            "lost_fail": LOST_FAIL, "min_homogeneous_pixels": MIN_HOMOGENEOUS_PIXELS, "min_change_pixels": MIN_CHANGE_PIXELS}


def residual_variation(enl: float) -> float:
    """``100 / enl`` (0 for an infinite ENL, NaN for NaN)."""
    return 100.0 / enl if enl > 0 else math.nan


def _f2(x: float) -> str:
    """Two decimals, without a "-0.00"."""
    return f"{round(x, 2) + 0.0:.2f}"


def _span(values: Sequence[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{lo:{fmt}}-{hi:{fmt}}"


def _looks(looks: float) -> str:
    return f"{looks:.3g} look" + ("" if looks == 1 else "s")


def reference_looks(looks: float | None, temporal_looks: float | None = None) -> float:
    """The looks the ratio's ENL is compared with: the larger of the AOI's ``looks`` and the stack's
    temporal estimate per date (``super_image_enl.json``: ``temporal_estimate.looks_per_date``). Each
    reads low in its own way, as the super-image's two ENL estimates: the configured number is nominal
    (resampled products such as OPERA RTC have more: 6-7 on the land stack configured with 3 and 5), the
    temporal one is lowered by real changes (wind on the sea: about 2 on the VV sea stacks of 5 looks)."""
    vals = [float(v) for v in (looks, temporal_looks) if v is not None and math.isfinite(v) and v > 0]
    if not vals:
        raise ValueError("reference_looks: neither the looks nor a temporal estimate is given")
    return max(vals)


def temporal_looks_of(enl_report: Mapping[str, Any] | str | Path | None) -> float | None:
    """``temporal_estimate.looks_per_date`` of a super-image ENL report (``super_image_enl.json``, a path or
    its contents); None where it has none."""
    if enl_report is None:
        return None
    if isinstance(enl_report, Mapping):
        report: Mapping[str, Any] = enl_report
    else:
        import json

        report = json.loads(Path(enl_report).read_text())
    est = report.get("temporal_estimate") or {}
    value = est.get("looks_per_date") if isinstance(est, Mapping) else None
    return float(value) if value is not None else None


def homogeneous_areas(super_image: Image) -> Mask:
    """The homogeneous areas the dates are judged on: :func:`mtsar2sar.realscore.homogeneous_mask` of the
    super-image (:data:`HOMOGENEOUS_FRACTION` of its :data:`WINDOW` x :data:`WINDOW` windows); none on an
    image smaller than a window or without a fully valid window."""
    s = np.asarray(super_image, dtype=np.float64)
    if min(s.shape) < WINDOW or not block_view(s, WINDOW)[1].any():
        return np.zeros(s.shape, dtype=bool)
    return homogeneous_mask(s, WINDOW, HOMOGENEOUS_FRACTION)


def _valid(x: NDArray[np.float64]) -> Mask:
    return np.isfinite(x) & (x > 0)


@dataclass(frozen=True)
class FirstOrder:
    """Ratio statistics over the homogeneous windows (module docstring)."""

    mean: float
    mean_se: float
    enl: float
    enl_se: float
    noisy_enl: float
    despeckled_enl: float
    r_enl_mu: float
    pixels: int


def first_order(noisy: NDArray[np.float64], estimate: NDArray[np.float64], mask: Mask) -> FirstOrder:
    """The ratio's pooled mean and ENL over the :data:`WINDOW` x :data:`WINDOW` windows of the grid fully
    inside ``mask`` and valid in both images, their jackknife standard errors over windows, the noisy
    date's ENL there and Gomez et al.'s first-order residual."""
    nan = math.nan
    ok = mask & _valid(noisy) & _valid(estimate)
    if min(ok.shape) < WINDOW:
        return FirstOrder(nan, nan, nan, nan, nan, nan, nan, 0)
    ratio = np.where(ok, noisy / np.where(ok, estimate, 1.0), np.nan)
    rb, good = block_view(ratio, WINDOW)
    yb, _ = block_view(np.where(ok, noisy, np.nan), WINDOW)
    eb, _ = block_view(np.where(ok, estimate, np.nan), WINDOW)
    rb, yb, eb = rb[good], yb[good], eb[good]
    n_win = rb.shape[0]
    if n_win == 0:
        return FirstOrder(nan, nan, nan, nan, nan, nan, nan, 0)
    per = rb.shape[1]
    s1, s2 = rb.sum(axis=1), (rb * rb).sum(axis=1)
    total1, total2, count = float(s1.sum()), float(s2.sum()), n_win * per

    def pooled(t1: NDArray[np.float64] | float, t2: NDArray[np.float64] | float, n: float
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        m = np.asarray(t1, dtype=np.float64) / n
        var = np.asarray(t2, dtype=np.float64) / n - m * m
        with np.errstate(divide="ignore", invalid="ignore"):
            enl = np.where(var > 1e-12 * m * m, m * m / np.where(var > 0, var, 1.0), np.inf)
        return m, enl

    m_all, enl_all = pooled(total1, total2, count)
    mean, enl = float(m_all), float(enl_all)
    mean_se = enl_se = nan
    if n_win >= 2:  # jackknife over windows
        m_loo, enl_loo = pooled(total1 - s1, total2 - s2, count - per)
        mean_se = float(np.sqrt((n_win - 1) / n_win * np.sum((m_loo - m_loo.mean()) ** 2)))
        if math.isfinite(enl) and np.all(np.isfinite(enl_loo)):
            log_loo = np.log(enl_loo)
            enl_se = float(np.sqrt((n_win - 1) / n_win * np.sum((log_loo - log_loo.mean()) ** 2)))
    # per window (Gomez et al.): the ratio's and the noisy date's ENL and the ratio's mean
    mr, vr = rb.mean(axis=1), rb.var(axis=1)
    my, vy = yb.mean(axis=1), yb.var(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        enl_r = np.where(vr > 1e-12 * mr * mr, mr * mr / np.where(vr > 0, vr, 1.0), np.inf)
        cv2_y = vy / (my * my)
        r_enl = np.abs(1.0 - enl_r * cv2_y)  # |1 - ENL_r / ENL_y|, ENL_y = 1 / cv2_y
    r_mu = np.abs(1.0 - mr)
    return FirstOrder(mean, mean_se, enl, enl_se, _window_enl(yb), _window_enl(eb), float(np.mean((r_enl + r_mu) / 2)),
                      int(n_win * per))


def _window_enl(blocks: NDArray[np.float64]) -> float:
    """``1 / mean(var / mean^2)`` over windows (one a row): the ENL of an image whose level varies from
    window to window (inf for an image constant in every window)."""
    cv2 = float(np.mean(blocks.var(axis=1) / blocks.mean(axis=1) ** 2))
    return 1.0 / cv2 if cv2 > 0 else math.inf


def equal_count_levels(values: NDArray[np.float64], valid: Mask, levels: int = GREY_LEVELS) -> NDArray[np.uint8]:
    """``levels`` equal-count grey levels 1..levels of ``values`` (cut at its quantiles; log-ratio or ratio
    alike), 0 where not ``valid``."""
    out = np.zeros(values.shape, dtype=np.uint8)
    v = values[valid]
    if v.size == 0:
        return out
    cuts = np.quantile(v, np.arange(1, levels) / levels)
    out[valid] = (np.searchsorted(cuts, v, side="right") + 1).astype(np.uint8)
    return out


def _homogeneity(q: NDArray[np.uint8], levels: int) -> tuple[float, NDArray[np.float64]]:
    """Haralick's homogeneity of the co-occurrence matrix of grey levels ``q`` (level 0: left out),
    averaged over :data:`GLCM_ANGLES`, and the matrix (levels x levels x angles, each normalized)."""
    from skimage.feature import graycomatrix, graycoprops

    glcm = graycomatrix(q, [1], list(GLCM_ANGLES), levels=levels + 1, symmetric=True)[1:, 1:].astype(np.float64)
    totals = glcm.sum(axis=(0, 1), keepdims=True)
    if not np.all(totals > 0):
        return math.nan, glcm
    glcm /= totals
    return float(np.mean(graycoprops(glcm, "homogeneity"))), glcm[:, :, 0, :]


def delta_h(ratio: NDArray[np.float64], valid: Mask, permutations: int = 0, seed: int = 0,
            levels: int = GREY_LEVELS) -> float:
    """Gomez et al.'s ``delta_h`` of the ratio (module docstring), in percent; NaN when fewer than two
    neighbouring valid pixels. ``permutations``: 0 for the permuted ratio's exact expectation, else the
    mean over that many seeded permutations of the valid pixels."""
    q = equal_count_levels(np.log(np.where(valid, ratio, 1.0)), valid, levels)
    h_o, glcm = _homogeneity(q, levels)
    if not math.isfinite(h_o) or h_o <= 0:
        return math.nan
    if permutations <= 0:
        i, j = np.ogrid[0:levels, 0:levels]
        weight = 1.0 / (1.0 + (i - j) ** 2.0)
        p = glcm.sum(axis=1)  # each direction's grey-level frequencies (the matrix is symmetric)
        h_g = float(np.mean([p[:, a] @ weight @ p[:, a] for a in range(p.shape[1])]))
    else:
        rng = np.random.default_rng(seed)
        shuffled = q.copy()
        h_list = []
        for _ in range(permutations):
            shuffled[valid] = rng.permutation(q[valid])
            h_list.append(_homogeneity(shuffled, levels)[0])
        h_g = float(np.mean(h_list))
    return 100.0 * abs(h_o - h_g) / h_o


def edge_correlation(ratio: NDArray[np.float64], valid: Mask, scene: NDArray[np.float64]) -> float:
    """Pearson's correlation of ``|log r - mean log r|`` with the gradient magnitude of the log of
    ``scene`` after a :data:`EDGE_SMOOTHING` boxcar (its valid pixels' mean where invalid); 0 where
    either is constant, NaN with fewer than 3 valid pixels."""
    s_ok = _valid(scene)
    if not s_ok.any():
        return math.nan
    log_s = np.log(np.where(s_ok, scene, 1.0))
    log_s = np.where(s_ok, log_s, float(log_s[s_ok].mean()))
    gy, gx = np.gradient(uniform_filter(log_s, EDGE_SMOOTHING, mode="nearest"))
    grad = np.hypot(gy, gx)
    lr = np.log(np.where(valid, ratio, 1.0))
    both = valid & s_ok
    if both.sum() < 3:
        return math.nan
    dev = np.abs(lr[both] - lr[both].mean())
    g = grad[both]
    if dev.std() == 0 or g.std() == 0:
        return 0.0
    return float(np.corrcoef(dev, g)[0, 1])


def score_date(
    date: str, noisy: Image, despeckled: Image, looks: float, *, mask: Mask | None = None,
    super_image: Image | None = None, change_slope: float | None = None, permutations: int = 0,
    departure_slope: float | None = None,
) -> DateQuality:
    """The scores and verdict of one despeckled date. ``looks``: the reference looks
    (:func:`reference_looks`); ``mask``: the homogeneous areas (default: :func:`homogeneous_areas` of
    ``super_image``; one of the two is needed); ``super_image`` also gives the scene's edges (else the
    estimate's); ``change_slope``: against the date before, from the hook (:data:`ChangeSlopeHook`);
    ``departure_slope``: of its departures from the super-image (:data:`DepartureHook`)."""
    y = np.asarray(noisy, dtype=np.float64)
    e = np.asarray(despeckled, dtype=np.float64)
    if y.shape != e.shape:
        raise ValueError(f"{date}: noisy {y.shape} and despeckled {e.shape} differ in shape")
    s = None if super_image is None else np.asarray(super_image, dtype=np.float64)
    if mask is None:
        if s is None:
            raise ValueError(f"{date}: give the homogeneous mask or the super-image to derive it")
        mask = homogeneous_areas(s)
    if mask.shape != y.shape or (s is not None and s.shape != y.shape):
        raise ValueError(f"{date}: the mask and the super-image must have the date's shape {y.shape}")
    y_ok, e_ok = _valid(y), _valid(e)
    both = y_ok & e_ok
    size = max(y.size, 1)
    ratio = np.where(both, y / np.where(both, e, 1.0), np.nan)
    fo = first_order(y, e, mask)
    dh = delta_h(ratio, both, permutations) if both.any() else math.nan
    constant = math.isinf(fo.enl)
    first = math.inf if constant else fo.r_enl_mu
    m_index = (first + dh) / 2 if not math.isnan(dh) else math.nan
    quality = m_index + RESIDUAL_WEIGHT * residual_variation(fo.despeckled_enl)
    ec = edge_correlation(ratio, both, s if s is not None else e)
    q = DateQuality(
        date=date, reference_looks=float(looks), ratio_mean=fo.mean, ratio_mean_se=fo.mean_se, ratio_enl=fo.enl,
        ratio_enl_se=fo.enl_se, noisy_enl=fo.noisy_enl, despeckled_enl=fo.despeckled_enl, first_order=first,
        delta_h=dh, m_index=m_index, quality_index=quality,
        edge_correlation=ec, invalid_fraction=float((~e_ok).sum() / size),
        input_invalid_fraction=float((~y_ok).sum() / size), lost_fraction=float((y_ok & ~e_ok).sum() / size),
        homogeneous_pixels=fo.pixels, change_slope=change_slope, departure_slope=departure_slope,
    )
    return _with_verdict(q)


def _beyond(departure: float, se: float) -> float:
    """The departure less :data:`SIGNIFICANCE` standard errors (the departure itself without an error)."""
    return departure - SIGNIFICANCE * se if math.isfinite(se) else departure


def verdict(q: DateQuality) -> Verdict:
    """The date's status and line from its scores and the thresholds of this module."""
    problems: list[tuple[str, str]] = []  # (status, words)
    judged = q.homogeneous_pixels >= MIN_HOMOGENEOUS_PIXELS and math.isfinite(q.ratio_mean)
    if not judged:
        problems.append((WARNING, f"too few homogeneous pixels ({q.homogeneous_pixels}) to judge the ratio's mean and ENL"))
    else:
        bias = _beyond(abs(q.ratio_mean - 1.0), q.ratio_mean_se)
        if bias > MEAN_WARN:
            side = "dark" if q.ratio_mean > 1 else "bright"
            problems.append((FAIL if bias > MEAN_FAIL else WARNING,
                             f"biased (the estimate is {abs(1 - 1 / q.ratio_mean):.0%} too {side})"))
        if math.isinf(q.ratio_enl):
            problems.append((FAIL, "the ratio is constant: nothing was removed (the estimate is the noisy date)"))
        elif math.isfinite(q.ratio_enl) and q.ratio_enl > 0:
            factor = _beyond(abs(math.log(q.enl_factor)), q.ratio_enl_se)
            if factor > math.log(ENL_WARN):
                words = ("part of the speckle kept (the ratio holds less speckle than the input)" if q.enl_factor > 1
                         else "the ratio is noisier than speckle (the estimate adds noise or local bias)")
                problems.append((FAIL if factor > math.log(ENL_FAIL) else WARNING, words))
    if math.isfinite(q.edge_correlation) and q.edge_correlation > EDGE_WARN:
        problems.append((FAIL if q.edge_correlation > EDGE_FAIL else WARNING,
                         "edges and targets left in the ratio (the estimate blurs them)"))
    slopes = {"change": (q.change_slope, "changes since the date before"),
              "departure": (q.departure_slope, "its own departures from the temporal mean")}
    for slope, what in slopes.values():
        if slope is not None and math.isfinite(slope) and slope < CHANGE_SLOPE_WARN:
            problems.append((FAIL if slope < CHANGE_SLOPE_FAIL else WARNING, f"{what} shrunk to {slope:.0%} of their size"))
    if q.lost_fraction > LOST_WARN:
        problems.append((FAIL if q.lost_fraction > LOST_FAIL else WARNING,
                         f"{q.lost_fraction:.1%} of the input's valid pixels invalid in the product"))
    status = max((s for s, _ in problems), key=STATUS_ORDER.__getitem__, default=OK)
    scores = [f"ratio mean {q.ratio_mean:.2f}" if math.isfinite(q.ratio_mean) else "ratio mean not measurable"]
    if math.isinf(q.ratio_enl):
        scores.append(f"ENL infinite for {_looks(q.reference_looks)}")
    elif math.isfinite(q.ratio_enl):
        scores.append(f"ENL {q.ratio_enl:.1f} for {_looks(q.reference_looks)}")
    if math.isfinite(q.edge_correlation):
        scores.append(f"edge correlation {_f2(q.edge_correlation)}")
    if not math.isnan(q.despeckled_enl):
        scores.append(f"despeckled ENL {q.despeckled_enl:.3g}")
    for name, (slope, _) in slopes.items():
        if slope is not None and math.isfinite(slope):
            scores.append(f"{name} slope {slope:.2f}")
    if q.invalid_fraction > 0:
        scores.append(f"{q.invalid_fraction:.1%} invalid")
    words = "; ".join(w for _, w in problems) if problems else "unbiased, speckle removed without visible structure"
    head = {OK: "", WARNING: "WARNING: ", FAIL: "FAIL: "}[status]
    return Verdict(status, f"{head}{', '.join(scores)}: {words}", tuple(w for _, w in problems))


def _with_verdict(q: DateQuality) -> DateQuality:
    from dataclasses import replace

    return replace(q, verdict=verdict(q))


DateLoader = Callable[[str], tuple[Image, Image]]  # date -> (noisy, despeckled)


def assess_aoi(
    aoi: str, dates: Iterable[str], load: DateLoader, looks: float, super_image: Image, *,
    change_slope: ChangeSlopeHook | None = None, permutations: int = 0,
    window: tuple[int, int, int, int] | None = None, departure_slope: DepartureHook | None = None,
) -> AoiQuality:
    """Score the ``dates`` of an AOI in order, each loaded by ``load`` (one date in memory at a time, and the
    date before for the change slope), against ``looks`` (:func:`reference_looks`) on the homogeneous areas
    of ``super_image``. ``change_slope``: the hook of :mod:`mtsar2sar.changes`, called on each pair of
    consecutive dates (none for the first); ``departure_slope``: the hook called on each date with the
    super-image."""
    s = np.asarray(super_image, dtype=np.float64)
    mask = homogeneous_areas(s)
    out: list[DateQuality] = []
    previous: tuple[Image, Image] | None = None
    for d in dates:
        y, e = load(d)
        slope = None
        if change_slope is not None and previous is not None:
            slope = float(change_slope(previous[0], y, previous[1], e))
        departure = float(departure_slope(y, e, s)) if departure_slope is not None else None
        out.append(score_date(d, y, e, looks, mask=mask, super_image=s, change_slope=slope,
                              permutations=permutations, departure_slope=departure))
        previous = (y, e) if change_slope is not None else None
    return AoiQuality(aoi, float(looks), tuple(out), window)


def pair_change_slope(noisy_before: Image, noisy: Image, estimate_before: Image, estimate: Image) -> float:
    """The change-preservation slope of one pair of consecutive dates (:data:`ChangeSlopeHook`), NaN when
    fewer than :data:`MIN_CHANGE_PIXELS` pixels changed enough to be measured."""
    from mtsar2sar.changes import change_slope

    cs = change_slope([noisy_before, noisy], [estimate_before, estimate], boots=200, seed=0)
    return cs.slope if cs.pixels >= MIN_CHANGE_PIXELS else math.nan


def date_departure_slope(noisy: Image, estimate: Image, super_image: Image) -> float:
    """The slope of a date's own departures from the super-image kept by its estimate
    (:data:`DepartureHook`), NaN when fewer than :data:`MIN_CHANGE_PIXELS` pixels depart enough."""
    from mtsar2sar.changes import departure_slope

    ds = departure_slope(noisy, estimate, super_image)
    return ds.slope if ds.pixels >= MIN_CHANGE_PIXELS else math.nan


def central_window(height: int, width: int, max_side: int = MAX_SIDE) -> tuple[int, int, int, int]:
    """(row, col, height, width) of the central window of at most ``max_side`` a side."""
    h, w = min(height, max_side), min(width, max_side)
    return (height - h) // 2, (width - w) // 2, h, w


def scored_window(shape: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[int, int, int, int] | None:
    """The window a date of ``shape`` is scored on (:func:`central_window`), None when it is the whole image."""
    window = central_window(*shape, max_side)
    return None if window[2:] == tuple(shape) else window


def window_reads(window: tuple[int, int, int, int] | None, shape: tuple[int, int]) -> tuple[Rows, slice]:
    """The band of rows to read and the columns to keep of ``window`` (the whole image when None)."""
    r0, c0, h, w = window or (0, 0, *shape)
    return (r0, r0 + h), slice(c0, c0 + w)


def assess_files(
    aoi: str, date_files: Mapping[str, str | Path], domain: str, band: int | None,
    despeckled: Mapping[str, str | Path], super_image: str | Path, looks: float, *,
    temporal_looks: float | None = None, change_slope: ChangeSlopeHook | None = None, max_side: int = MAX_SIDE,
    departure_slope: DepartureHook | None = None,
) -> AoiQuality:
    """:func:`assess_aoi` on the files of an AOI (the dates of ``despeckled``, in order): the central window
    of at most ``max_side`` x ``max_side`` pixels of each, the reference looks from ``looks`` and
    ``temporal_looks`` (:func:`reference_looks`, :func:`temporal_looks_of`)."""
    grid = read_grid(super_image)
    window = scored_window(grid.shape, max_side)
    rows, cols = window_reads(window, grid.shape)
    s = read_product(super_image, rows)[0][:, cols]

    def load(d: str) -> tuple[Image, Image]:
        y = read_intensity(date_files[d], domain, band, rows)[0][:, cols]
        e = read_product(despeckled[d], rows)[0][:, cols]
        return y, e

    return assess_aoi(aoi, sorted(despeckled), load, reference_looks(looks, temporal_looks), s,
                      change_slope=change_slope, window=window, departure_slope=departure_slope)


def write_quality(path: str | Path, report: AoiQuality) -> None:
    """``quality.json``: strict JSON (NaN and infinities as null), written atomically."""
    write_json(path, report.to_dict())
