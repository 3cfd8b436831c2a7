"""Co-registration check of a stack: one grid, valid data, no residual sub-pixel shift, radiometry.

The shift of every date relative to a reference date is estimated by phase correlation of the
log-intensities (upsampled cross-power spectrum, scikit-image), on a central window of bounded size.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter
from skimage.registration import phase_cross_correlation

from mtsar2sar.errors import InputError
from mtsar2sar.io import Grid, read_grid, read_intensity
from mtsar2sar.logs import log
from mtsar2sar.streaming import COVERAGE_BLOCK, DateStatistics, date_statistics

# Median intensities outside this range are not SAR data as we know it (sigma0 of 1e-12 is -120 dB;
# 1e12 is a squared digital number of 1e6): a wrong domain, unit or scale factor.
PLAUSIBLE_INTENSITY = (1e-12, 1e12)


# A measured shift above max_shift_px drops the date only if it is this many standard errors from zero
# (the standard error from the spread of the shifts measured on 3 x 3 sub-windows of the window):
# single-look speckle over a scene with few edges gives spurious shifts of about a pixel.
SHIFT_SIGNIFICANCE = 3.0
# Below this share of the shift window valid in both the date and the reference, or fewer pixels than
# MIN_SHIFT_PIXELS, the shift is not measurable.
MIN_SHIFT_COVERAGE = 0.5
MIN_SHIFT_PIXELS = 32 * 32
STRONG_CORRELATION = 0.5  # of a whole shift window (co-registered single-look stacks: about 0.4)
# A date with more than this share of negative raw values is in dB, not linear units (linear intensity is
# never negative; thermal-noise-corrected products leave at most a few slightly negative pixels). A stack
# in dB is about a quarter negative where its backscatter is bright (above 0 dB for most of the scene).
MAX_NEGATIVE_FRACTION = 0.1
# A single value held by this share of the valid pixels of a float date, at its minimum or maximum, is
# an undeclared fill (nodata) value, not speckle.
MAX_EXTREME_FRACTION = 0.01
# ... and by at least this many pixels: in an image of under 100 pixels the brightest one alone is over 1 %.
MIN_FILL_PIXELS = 4
# Integer data at their type's largest value: over 1 % a warning (clipped bright targets), over 10 % the
# date is rejected (a fill value over a border or a block, which no nodata declares).
MAX_SATURATED_FRACTION = 0.10


@dataclass
class DateReport:
    date: str
    file: str
    shift_px: tuple[float, float] | None = (0.0, 0.0)
    shift_norm_px: float | None = 0.0
    shift_se_px: float | None = None  # standard error of the shift (sub-window spread); None if unknown
    correlation: float | None = 1.0
    shift_measurable: bool = True
    shift_window: tuple[int, int, int, int] | None = None  # row, col, height, width
    median_db: float = float("nan")
    level_db: float | None = None  # departure from the stack's level over the blocks it covers (radiometric test)
    invalid_fraction: float = 0.0
    radiometric_outlier: bool = False
    in_mean: bool = True  # averaged into the super-image
    status: str = "kept"
    reasons: list[str] = field(default_factory=list)


def log_image(intensity: NDArray[np.floating], smooth: int = 1, valid: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
    """Log-intensity with invalid pixels (and those outside ``valid``) set to the median of the others
    (optionally box-smoothed; measured: smoothing widens the correlation peak and worsens the sub-pixel
    estimate, so the default is none)."""
    ok = np.isfinite(intensity) & (intensity > 0)
    if valid is not None:
        ok &= valid
    if not ok.any():
        raise ValueError("no valid pixel in the shift window")
    logs = np.log(np.where(ok, intensity, 1.0).astype(np.float64))
    logs = np.where(ok, logs, np.median(logs[ok]))
    if smooth > 1:
        logs = uniform_filter(logs, smooth, mode="reflect")
    return logs - logs.mean()


def estimate_shift_and_correlation(
    reference: NDArray[np.floating], moving: NDArray[np.floating], upsample: int = 100
) -> tuple[float, float, float]:
    """Sub-pixel shift (dy, dx) that registers ``moving`` onto ``reference``, from log-intensities,
    and the normalized correlation of the two log images at that shift.

    The sign follows scikit-image: ``moving`` must be shifted by (+dy, +dx) to match ``reference``.
    A low correlation (e.g. open sea, where nothing is stable between dates) means the shift cannot
    be measured: measured here, 0.04-0.12 over the sea sites of the real OPERA stack, 0.6 over land,
    0.4 on a single-look simulated scene. Pixels invalid in either image are set to the median in both.
    """
    both = np.isfinite(reference) & (reference > 0) & np.isfinite(moving) & (moving > 0)
    shift, error, _ = phase_cross_correlation(
        log_image(reference, valid=both), log_image(moving, valid=both), upsample_factor=upsample, normalization=None
    )
    correlation = float(np.sqrt(max(0.0, 1.0 - float(error) ** 2)))
    return float(shift[0]), float(shift[1]), correlation


def estimate_shift(
    reference: NDArray[np.floating], moving: NDArray[np.floating], upsample: int = 100
) -> tuple[float, float]:
    """Sub-pixel shift (dy, dx) that registers ``moving`` onto ``reference`` (see above)."""
    dy, dx, _ = estimate_shift_and_correlation(reference, moving, upsample)
    return dy, dx


@dataclass(frozen=True)
class ShiftMeasure:
    dy: float
    dx: float
    correlation: float
    se: float | None  # standard error of the shift; None when fewer than 4 sub-windows are measurable

    @property
    def norm(self) -> float:
        return float(np.hypot(self.dy, self.dx))


# The window is cut into SHIFT_SPLIT x SHIFT_SPLIT sub-windows for the standard error of the shift, each at
# least MIN_SUBWINDOW px a side.
SHIFT_SPLIT = 3
MIN_SUBWINDOW = 16
# A shift counts as beyond max_shift_px only when it exceeds it by this many standard errors (measured on 250
# unshifted 1- and 4-look dates of a smooth scene: 1 dropped at 0.57 px, standard error 0.18, without it; none
# with it; 1-px shifts of 4-look dates found 18 times in 25 with it, 19 without: benchmarks/false_alarms.py)
TOLERANCE_MARGIN_SE = 0.5


def beyond_tolerance(norm: float, se: float, max_shift_px: float, significance: float) -> bool:
    """Whether a shift of ``norm`` px (standard error ``se``) misregisters a date: significant (at least
    ``significance`` standard errors from zero) and beyond ``max_shift_px`` by :data:`TOLERANCE_MARGIN_SE`."""
    return norm >= significance * se and norm - max_shift_px >= TOLERANCE_MARGIN_SE * se


def split_counts(height: int, width: int) -> tuple[int, int]:
    """Rows and columns of sub-windows for the standard error: ``SHIFT_SPLIT`` x ``SHIFT_SPLIT``, each at
    least ``MIN_SUBWINDOW`` px a side; a narrow window (a strip of a few tens of pixels) is cut into more
    sub-windows along its long side, so that it has as many (16 x 400 px: 1 x 9)."""
    rows = max(1, min(SHIFT_SPLIT, height // MIN_SUBWINDOW))
    cols = max(1, min(SHIFT_SPLIT, width // MIN_SUBWINDOW))
    target = SHIFT_SPLIT * SHIFT_SPLIT
    if rows < SHIFT_SPLIT:
        cols = max(1, min(-(-target // rows), width // MIN_SUBWINDOW))
    elif cols < SHIFT_SPLIT:
        rows = max(1, min(-(-target // cols), height // MIN_SUBWINDOW))
    return rows, cols


def measure_shift(reference: NDArray[np.floating], moving: NDArray[np.floating], upsample: int = 100) -> ShiftMeasure:
    """The shift of ``moving`` onto ``reference`` over the whole window, and its standard error.

    The same estimate on the sub-windows of the window (``SHIFT_SPLIT`` x ``SHIFT_SPLIT``, or more along
    the long side of a strip: :func:`split_counts`) gives as many
    independent estimates (speckle is independent between sub-windows), each from 1/9 of the pixels:
    their spread over 3 is the standard error of the whole-window estimate, per axis (measured: with 2 x 2
    quadrants, 3 degrees of freedom, the spread is too often small by chance). A sub-window with less
    than ``MIN_SHIFT_COVERAGE`` valid pixels is left out.
    """
    dy, dx, corr = estimate_shift_and_correlation(reference, moving, upsample)
    h, w = reference.shape
    both = np.isfinite(reference) & (reference > 0) & np.isfinite(moving) & (moving > 0)
    n_rows, n_cols = split_counts(h, w)
    subs = []
    for i in range(n_rows):
        rs = slice(i * h // n_rows, (i + 1) * h // n_rows)
        for j in range(n_cols):
            cs = slice(j * w // n_cols, (j + 1) * w // n_cols)
            if both[rs, cs].mean() >= MIN_SHIFT_COVERAGE:
                subs.append(estimate_shift_and_correlation(reference[rs, cs], moving[rs, cs], upsample))
    se = None
    if corr >= STRONG_CORRELATION:
        # a window with strong structure: its sub-windows without structure of their own (a flat field, below
        # half its correlation) measure nothing and are left out of the spread (measured: a 3.6 px shift of a
        # 4-look 128 px piecewise-constant date was found "not significant" 20 times in 30 with them, 7 without;
        # false alarms on co-registered single-look stacks, correlation about 0.4, unchanged: 0 in 360 dates)
        structured = [x for x in subs if x[2] >= 0.5 * corr]
        subs = structured if len(structured) >= 4 else subs
    if len(subs) >= 4:
        q = np.array([x[:2] for x in subs])
        se_axes = q.std(axis=0, ddof=1) / np.sqrt(len(subs))
        se = float(np.hypot(*se_axes))
    return ShiftMeasure(dy, dx, corr, se)


def best_window(coverage: NDArray[np.int64], block: int, shape: tuple[int, int], size: int) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window (block-aligned, all of the image if smaller) with the most valid
    pixels according to ``coverage`` (valid pixels per ``block`` x ``block`` block); the central window
    when it holds at least 95 % of the best."""
    h, w = shape
    sh, sw = min(h, size), min(w, size)
    central = central_window(shape, size)
    nb_r, nb_c = max(1, sh // block), max(1, sw // block)
    cum = np.zeros((coverage.shape[0] + 1, coverage.shape[1] + 1), dtype=np.int64)
    cum[1:, 1:] = coverage.cumsum(0).cumsum(1)
    if nb_r > coverage.shape[0] or nb_c > coverage.shape[1]:
        return central
    sums = cum[nb_r:, nb_c:] - cum[:-nb_r, nb_c:] - cum[nb_r:, :-nb_c] + cum[:-nb_r, :-nb_c]
    i, j = np.unravel_index(int(np.argmax(sums)), sums.shape)
    ci, cj = central[0].start // block, central[1].start // block
    if ci < sums.shape[0] and cj < sums.shape[1] and sums[ci, cj] >= 0.95 * sums[i, j]:
        return central
    r0, c0 = min(int(i) * block, h - sh), min(int(j) * block, w - sw)
    return slice(r0, r0 + sh), slice(c0, c0 + sw)


def central_window(shape: tuple[int, int], size: int) -> tuple[slice, slice]:
    """The central ``size`` x ``size`` window of an image (all of it if smaller)."""
    h, w = shape
    sh, sw = min(h, size), min(w, size)
    r0, c0 = (h - sh) // 2, (w - sw) // 2
    return slice(r0, r0 + sh), slice(c0, c0 + sw)


def check_grids(files: Mapping[str, Path]) -> Grid:
    """All files on one grid (shape, CRS, transform); else an error naming the offending file.

    The grid of the stack is the one most dates share (the first date's on a tie): a corrupt, PNG or
    otherwise odd *first* date is the one named, not the healthy date after it."""
    grids = {d: read_grid(f) for d, f in files.items()}
    items = list(grids.items())
    agree = [sum(1 for _, g in items if not ref.differences(g)) for _, ref in items]
    ref_date, ref = items[int(np.argmax(agree))]  # argmax: the first of the most shared
    ref_file = files[ref_date]
    others = max(agree) - 1
    for date, g in items:
        diffs = ref.differences(g)
        if diffs:
            raise InputError(
                f"{files[date]}: not on the grid of the reference date {ref_file}: " + "; ".join(diffs)
                + f" ({others + 1} of the {len(items)} dates share the reference grid)"
                + ("" if g.crs is not None else "; it has no CRS: not a georeferenced raster (e.g. a PNG)?")
            )
    check_polarizations(files)
    return ref


def check_domain(files: Mapping[str, Path], domain: str, band: int | None = None) -> None:
    """The data type of each file's band (its header) fits ``domain`` (``input_domain``): complex data
    declared as intensity or amplitude, or real data declared as complex, is the error of reading it
    (:func:`mtsar2sar.domain.to_intensity`), named before any job. A band that is not there is left to the
    read's own error."""
    from mtsar2sar.io import open_raster

    for f in files.values():
        with open_raster(f) as ds:
            b = band or 1
            if not 1 <= b <= ds.count or (band is None and ds.count != 1):
                continue
            dtype = str(ds.dtypes[b - 1])
        if "complex" in dtype and domain != "complex":
            raise InputError(f"{f}: input_domain is {domain!r} but the data are complex ({dtype}; declare input_domain:"
                             " complex)")
        if "complex" not in dtype and domain == "complex":
            raise InputError(f"{f}: input_domain is 'complex' but the data are real-valued ({dtype})")


# File tags that name a polarization (Sentinel-1 products, OPERA RTC, GDAL's SAR drivers).
POLARIZATION_TAGS = ("POLARIZATION", "POLARISATION", "POLARIZATIONS", "POLARISATIONS", "POL")


def check_polarizations(files: Mapping[str, Path]) -> None:
    """Every date of one polarization, where the files say which: a glob that took VV and VH files (their
    keys made unique by the date_regex) would despeckle one with the other's super-image."""
    from mtsar2sar.io import open_raster

    seen: dict[str, tuple[str, Path]] = {}
    for date, f in files.items():
        with open_raster(f) as ds:
            tags = {k.upper(): v for k, v in ds.tags().items()}
        pol = next((tags[k].strip().upper() for k in POLARIZATION_TAGS if tags.get(k, "").strip()), None)
        if pol is not None:
            seen.setdefault(pol, (date, f))
    if len(seen) > 1:
        (p1, (_, f1)), (p2, (_, f2)) = list(seen.items())[:2]
        raise InputError(f"{f2}: polarization {p2}, but {f1} is {p1}: a stack is one polarization; give each its own"
                         " AOI (e.g. inputs: '.../VV/*.tif' and '.../VH/*.tif')")


def fill_reason(share: float, of: str, value: float) -> str:
    """Why a date holding one value in ``share`` of its ``of`` (pixels, valid pixels) is dropped."""
    return (f"{share:.1%} of its {of} hold the single value {value:.6g}: an undeclared fill (nodata) value?"
            f" Declare it as the file's nodata (e.g. gdal_edit.py -a_nodata {value:.6g})")


def choose_reference(reports: Mapping[str, DateReport], dates: list[str]) -> str | None:
    """The date nearest the middle of the stack among the usable ones (not dropped) whose coverage
    is within 5 % of the best; None when none is usable."""
    usable = [d for d in dates if reports[d].status == "kept"]
    if not usable:
        return None
    best = min(reports[d].invalid_fraction for d in usable)
    good = [d for d in usable if reports[d].invalid_fraction <= best + 0.05]
    middle = len(dates) // 2  # the middle date (the later of the two middle ones for an even count)
    return min(good, key=lambda d: (abs(dates.index(d) - middle), dates.index(d)))


def check_date(date: str, f: Path, domain: str, band: int | None) -> tuple[DateReport, DateStatistics]:
    """One date's own checks (no other date involved): its report, ``status`` "dropped" with the reasons
    when it has no valid pixel, implausible magnitudes, an undeclared fill value or is constant, and its
    statistics. Raises :class:`InputError` for data in dB declared as linear."""
    stats = date_statistics(f, domain, band)  # strip by strip: bounded memory
    rep = DateReport(date=date, file=str(f))
    rep.invalid_fraction = stats.invalid_fraction
    negative_fill = stats.negative_fraction * stats.negative_mode_share  # share of the pixels at that value
    if domain != "complex" and stats.negative_mode_share > 0.9 and negative_fill > MAX_EXTREME_FRACTION:
        rep.status = "dropped"  # one negative value repeated: a fill, not dB data
        rep.reasons.append(fill_reason(negative_fill, "pixels", stats.negative_mode))
        return rep, stats
    if domain != "complex" and stats.negative_fraction > MAX_NEGATIVE_FRACTION:
        raise InputError(
            f"{f}: {stats.negative_fraction:.0%} of its values are negative: the data look like dB"
            f" (10 log10), but input_domain '{domain}' expects linear values; convert them (10**(x/10))"
            " or give the linear product"
        )
    if not np.isfinite(stats.median):
        rep.status = "dropped"
        rep.reasons.append("no valid pixel (all NaN, inf, <= 0 or nodata)")
        return rep, stats
    median = stats.median
    rep.median_db = float(10 * np.log10(median))
    if not PLAUSIBLE_INTENSITY[0] <= median <= PLAUSIBLE_INTENSITY[1]:
        rep.status = "dropped"
        rep.reasons.append(
            f"median intensity {median:.3g} is outside the plausible range {PLAUSIBLE_INTENSITY[0]:g} to "
            f"{PLAUSIBLE_INTENSITY[1]:g} (wrong input_domain, units or scaling?)"
        )
        return rep, stats
    if stats.extreme_fraction >= 1.0 or (stats.extreme_fraction > MAX_EXTREME_FRACTION
                                          and stats.extreme_count >= MIN_FILL_PIXELS):
        value = stats.extreme_value if domain == "intensity" else np.sqrt(stats.extreme_value)
        rep.status = "dropped"
        if stats.extreme_fraction >= 1.0:
            rep.reasons.append(f"every valid pixel holds the value {value:.6g}: a constant image, not SAR data")
            return rep, stats
        rep.reasons.append(fill_reason(stats.extreme_fraction, "valid pixels", value))
    if stats.saturated_fraction > MAX_EXTREME_FRACTION:
        v, share = stats.saturated_value, stats.saturated_fraction
        what = (f"{share:.1%} of its valid pixels hold {v:.0f}, the largest value of its integer type: saturated,"
                " or an undeclared fill value?")
        if share > MAX_SATURATED_FRACTION:  # a border or a block: a fill, most likely
            rep.status = "dropped"
            rep.reasons.append(f"{what} Declare a fill as the file's nodata (e.g. gdal_edit.py -a_nodata {v:.0f})")
        else:  # bright targets clipped by the quantization: kept, their backscatter underestimated
            log.warning("%s: %s Kept: their backscatter is underestimated (clipped); if it is a fill, declare it"
                        " as the file's nodata", f, what)
    return rep, stats


def block_log_means(stats: DateStatistics) -> NDArray[np.float64] | None:
    """A date's mean log-intensity per coverage block, NaN where less than half of the block is valid."""
    if stats.coverage is None or stats.log_sum is None:
        return None
    full = stats.coverage >= COVERAGE_BLOCK * COVERAGE_BLOCK / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(full, stats.log_sum / np.maximum(stats.coverage, 1), np.nan)


def stack_levels(block_logs: Mapping[str, NDArray[np.float64] | None]) -> dict[str, float]:
    """Each date's radiometric level against the stack's, in dB: over the blocks it covers, the median of
    its block mean log-intensity minus the median of the other dates' in the same block. Dates with other
    footprints (a swath edge, half a scene) are compared where they overlap, not over different ground;
    a date sharing no block with another date gets none."""
    known = {d: b for d, b in block_logs.items() if b is not None}
    if len(known) < 2:
        return {}
    dates, cube = list(known), np.stack(list(known.values()))
    out = {}
    for i, d in enumerate(dates):
        others = np.delete(cube, i, axis=0)
        shared = np.isfinite(cube[i]) & np.isfinite(others).any(axis=0)
        if not shared.any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # blocks no other date covers: NaN, left out
            reference = np.nanmedian(others[:, shared], axis=0)
        out[d] = float(np.median(cube[i][shared] - reference) * 10 / np.log(10))
    return out


def over_threshold(
    reports: Mapping[str, DateReport], before: Mapping[str, DateReport], ref_date: str, max_shift_px: float,
) -> tuple[list[str], list[str]]:
    """The dates measured against ``ref_date`` (usable before the shifts were measured, and measurable),
    and those of them shifted more than ``max_shift_px``, significantly or not."""
    measured = [d for d, r in reports.items() if d != ref_date and before[d].status == "kept" and r.shift_measurable]
    return measured, [d for d in measured if (reports[d].shift_norm_px or 0.0) > max_shift_px]


def reconsider_reference(
    reports: dict[str, DateReport], before: Mapping[str, DateReport], ref_date: str, max_shift_px: float,
    measure: Callable[[str], None], shift_significance: float = SHIFT_SIGNIFICANCE,
) -> str:
    """When most dates are shifted from the automatic reference date by about the same vector, the
    reference is the shifted date: measure again against the date nearest that common shift, and keep
    that if fewer dates are shifted from it. Each shift counts, significant or not: on a small or
    featureless stack, the dates agreeing with one another are evidence that their standard errors
    alone miss (new-user review: a shifted middle date made the good dates look shifted, none of them
    significantly but one, which was then blamed). The first reference's shift is then tested against the
    standard error of those dates' agreeing measurements together, not of its own alone."""
    measured, over = over_threshold(reports, before, ref_date, max_shift_px)
    if len(measured) < 2 or len(over) <= len(measured) / 2:
        return ref_date
    vectors = np.array([reports[d].shift_px for d in over], dtype=np.float64)
    centre = np.median(vectors, axis=0)
    spread = np.hypot(*(vectors - centre).T)
    if np.median(spread) > 0.5 * float(np.hypot(*centre)):  # the shifts do not agree: noise, not a shifted reference
        return ref_date
    new_ref = over[int(np.argmin(spread))]
    first = {d: replace(r, reasons=list(r.reasons)) for d, r in reports.items()}
    reports.update({d: replace(r, reasons=list(r.reasons)) for d, r in before.items()})
    measure(new_ref)
    if len(over_threshold(reports, before, new_ref, max_shift_px)[1]) >= len(over):
        reports.update(first)  # no better: the first measurement stands
        return ref_date
    errors = [first[d].shift_se_px for d in over]
    old = reports[ref_date]
    if old.status == "kept" and old.shift_measurable and all(e for e in errors):
        se = float(np.sum([1.0 / e**2 for e in errors if e]) ** -0.5)  # of the agreeing dates' mean shift
        norm = float(np.hypot(*centre))
        if beyond_tolerance(norm, se, max_shift_px, shift_significance):
            old.status = "dropped"
            old.reasons = [r for r in old.reasons if not r.startswith("measured shift")]
            old.reasons.append(
                f"residual shift {norm:.3f} px (standard error {se:.3f} px, from the {len(over)} dates that agree on it)"
                f" exceeds max_shift_px = {max_shift_px}"
            )
    log.warning("co-registration: %d of %d dates are shifted from the reference date %s: measured again against %s",
                len(over), len(measured), ref_date, new_ref)
    return new_ref


def check_stack(
    files: Mapping[str, Path],
    domain: str,
    band: int | None = None,
    max_shift_px: float = 0.5,
    on_misregistered: str = "fail",
    radiometric_outlier_db: float = 3.0,
    shift_window: int = 1024,
    reference_date: str | None = None,
    min_correlation: float = 0.2,
    on_radiometric_outlier: str = "exclude",
    shift_significance: float = SHIFT_SIGNIFICANCE,
) -> dict[str, Any]:
    """Check a stack and return the co-registration report (JSON-ready).

    Raises :class:`InputError` for different grids, fewer than two dates, data in dB declared as
    linear, or (with ``on_misregistered='fail'``) a date shifted by more than ``max_shift_px`` (and
    significantly: ``shift_significance`` standard errors), with no valid pixel, implausible
    magnitudes or an undeclared fill value. A date whose median is more than ``radiometric_outlier_db``
    from the stack's is left out of the super-image mean (``exclude``), dropped (``drop``) or only
    flagged (``keep``).
    """
    if len(files) < 2:
        only = ", ".join(str(f) for f in files.values()) or "none"
        raise InputError(f"multi-temporal despeckling needs at least 2 dates; found {len(files)} ({only})")
    if on_radiometric_outlier not in ("exclude", "drop", "keep"):
        raise InputError(f"coregistration.on_radiometric_outlier: {on_radiometric_outlier!r} is not one of exclude, drop, keep")
    grid = check_grids(files)
    dates = list(files)
    if reference_date is not None and reference_date not in files:
        raise InputError(f"reference_date: {reference_date!r} is not one of the dates {dates}")
    reports: dict[str, DateReport] = {}
    coverage: dict[str, NDArray[np.int64] | None] = {}
    block_logs: dict[str, NDArray[np.float64] | None] = {}
    for date, f in files.items():
        reports[date], stats = check_date(date, f, domain, band)
        coverage[date] = stats.coverage
        block_logs[date] = block_log_means(stats)
    ref_date = reference_date or choose_reference(reports, dates)
    if ref_date is not None and reports[ref_date].status != "kept":
        raise InputError(f"{files[ref_date]}: the reference date {ref_date} is unusable: {'; '.join(reports[ref_date].reasons)}")
    cache: dict[tuple[str, int, int, int, int], NDArray[np.float32]] = {}

    def window_of(date: str, rs: slice, cs: slice) -> NDArray[np.float32]:
        key = (date, rs.start, rs.stop, cs.start, cs.stop)
        if key not in cache:
            if len(cache) > 4:
                cache.pop(next(k for k in cache if k[0] != ref_date)) if any(k[0] != ref_date for k in cache) else cache.clear()
            cache[key] = read_intensity(files[date], domain, band, (rs.start, rs.stop))[0][:, cs]
        return cache[key]

    def measure_shifts(ref_date: str | None) -> None:
        """Shift of every kept date against ``ref_date`` (a date too shifted: dropped)."""
        for date in dates:
            rep = reports[date]
            if date == ref_date or rep.status != "kept" or ref_date is None:
                continue
            cov_ref, cov = coverage[ref_date], coverage[date]
            joint = np.minimum(cov_ref, cov) if cov_ref is not None and cov is not None else None
            rs, cs = (best_window(joint, COVERAGE_BLOCK, grid.shape, shift_window) if joint is not None
                      else central_window(grid.shape, shift_window))
            rep.shift_window = (rs.start, cs.start, rs.stop - rs.start, cs.stop - cs.start)
            ref_img, img = window_of(ref_date, rs, cs), window_of(date, rs, cs)
            both = int((np.isfinite(ref_img) & np.isfinite(img)).sum())
            if both < MIN_SHIFT_PIXELS or both < MIN_SHIFT_COVERAGE * img.size:
                rep.shift_measurable = False
                rep.shift_px = rep.shift_norm_px = rep.correlation = None
                rep.reasons.append(
                    f"shift not measurable: only {both} pixels ({both / img.size:.0%}) of the best {img.shape[0]} x"
                    f" {img.shape[1]} window are valid in both this date and the reference date {ref_date}; kept"
                )
                continue
            m = measure_shift(ref_img, img)
            rep.shift_px = (round(m.dy, 4), round(m.dx, 4))
            rep.shift_norm_px = round(m.norm, 4)
            rep.shift_se_px = None if m.se is None else round(m.se, 4)
            rep.correlation = round(m.correlation, 4)
            if m.correlation < min_correlation:
                rep.shift_measurable = False
                rep.reasons.append(
                    f"shift not measurable: correlation {m.correlation:.3f} with the reference date is below"
                    f" min_correlation = {min_correlation} (no stable structure, e.g. sea); kept"
                )
            elif m.norm > max_shift_px:
                if m.se is None:
                    rep.shift_measurable = False
                    rep.reasons.append(
                        f"measured shift {m.norm:.3f} px exceeds max_shift_px = {max_shift_px}, but the"
                        f" {img.shape[0]} x {img.shape[1]} window is too small for its standard error (4 sub-windows"
                        f" of {MIN_SUBWINDOW} px): not measurable; kept"
                    )
                elif m.norm < shift_significance * m.se:
                    rep.reasons.append(
                        f"measured shift {m.norm:.3f} px exceeds max_shift_px = {max_shift_px} but is not significant:"
                        f" standard error {m.se:.3f} px (speckle, few edges); kept"
                    )
                elif not beyond_tolerance(m.norm, m.se, max_shift_px, shift_significance):  # within the margin
                    rep.reasons.append(
                        f"measured shift {m.norm:.3f} px exceeds max_shift_px = {max_shift_px} by less than half its"
                        f" standard error {m.se:.3f} px: not beyond the tolerance; kept"
                    )
                else:
                    rep.status = "dropped"
                    rep.reasons.append(f"residual shift {m.norm:.3f} px (standard error {m.se:.3f} px) exceeds"
                                       f" max_shift_px = {max_shift_px}")

    before_shifts = {d: replace(r, reasons=list(r.reasons)) for d, r in reports.items()}  # to measure again
    measure_shifts(ref_date)
    if reference_date is None and ref_date is not None:
        ref_date = reconsider_reference(reports, before_shifts, ref_date, max_shift_px, measure_shifts,
                                        shift_significance)
    medians = np.array([r.median_db for r in reports.values() if r.status == "kept"])
    stack_median = float(np.median(medians)) if medians.size else float("nan")
    action = {"exclude": "left out of the super-image mean", "drop": "dropped", "keep": "flag only"}[on_radiometric_outlier]
    kept_now = [d for d, r in reports.items() if r.status == "kept"]
    levels = stack_levels({d: block_logs[d] for d in kept_now})
    for d in kept_now:
        r = reports[d]
        level = levels.get(d)
        r.level_db = None if level is None else round(level, 4)
        departure = r.median_db - stack_median if level is None else level
        if abs(departure) > radiometric_outlier_db:
            r.radiometric_outlier = True
            b = COVERAGE_BLOCK
            r.reasons.append(
                f"median {r.median_db:.2f} dB is {departure:+.2f} dB from the stack median {stack_median:.2f} dB ({action})"
                if level is None else
                f"level {departure:+.2f} dB from the other dates' on the {b} x {b} px blocks it shares with them"
                f" (its median {r.median_db:.2f} dB, the stack median {stack_median:.2f} dB) ({action})"
            )
            if on_radiometric_outlier == "exclude":
                r.in_mean = False
            elif on_radiometric_outlier == "drop":
                r.status = "dropped"
    bad = [r for r in reports.values() if r.status == "dropped" and not (r.radiometric_outlier and on_radiometric_outlier == "drop")]
    if bad and on_misregistered == "fail":
        r = bad[0]
        raise InputError(f"{r.file}: date {r.date} rejected: {'; '.join(r.reasons)} (on_misregistered: fail)")
    kept = [r.date for r in reports.values() if r.status == "kept"]
    if len(kept) < 2:
        why = "; ".join(f"{r.date}: {'; '.join(r.reasons)}" for r in reports.values() if r.status == "dropped")
        raise InputError(f"only {len(kept)} date(s) left after dropping misregistered or empty dates ({why})")
    for r in reports.values():
        if r.status != "kept":
            r.in_mean = False
    mean_dates = [r.date for r in reports.values() if r.in_mean]
    if not mean_dates:
        raise InputError(
            f"no date is within {radiometric_outlier_db} dB of the stack median {stack_median:.2f} dB: the dates"
            " disagree in radiometry (units, calibration?); check them, or set"
            " coregistration.on_radiometric_outlier: keep"
        )
    return {
        "reference_date": ref_date,
        "grid": {
            "height": grid.height, "width": grid.width,
            "crs": grid.crs.to_string() if grid.crs else None,
            "transform": list(grid.transform)[:6], "nodata": grid.nodata,
        },
        "max_shift_px": max_shift_px,
        "shift_significance": shift_significance,
        "min_correlation": min_correlation,
        "on_misregistered": on_misregistered,
        "on_radiometric_outlier": on_radiometric_outlier,
        "stack_median_db": round(stack_median, 4) if np.isfinite(stack_median) else None,
        "kept_dates": kept,
        "dropped_dates": [r.date for r in reports.values() if r.status == "dropped"],
        "mean_dates": mean_dates,
        "dates": [asdict(r) for r in reports.values()],
    }
