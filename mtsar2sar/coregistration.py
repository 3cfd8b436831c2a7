"""Co-registration check of a stack: one grid, valid data, no residual sub-pixel shift, radiometry.

The shift of every date relative to a reference date is estimated by phase correlation of the
log-intensities (upsampled cross-power spectrum, scikit-image), on a central window of bounded size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter
from skimage.registration import phase_cross_correlation

from mtsar2sar.errors import InputError
from mtsar2sar.io import Grid, read_grid, read_intensity
from mtsar2sar.streaming import date_statistics

# Median intensities outside this range are not SAR data as we know it (sigma0 of 1e-12 is -120 dB;
# 1e12 is a squared digital number of 1e6): a wrong domain, unit or scale factor.
PLAUSIBLE_INTENSITY = (1e-12, 1e12)


@dataclass
class DateReport:
    date: str
    file: str
    shift_px: tuple[float, float] = (0.0, 0.0)
    shift_norm_px: float = 0.0
    correlation: float = 1.0
    shift_measurable: bool = True
    median_db: float = float("nan")
    invalid_fraction: float = 0.0
    radiometric_outlier: bool = False
    status: str = "kept"
    reasons: list[str] = field(default_factory=list)


def log_image(intensity: NDArray[np.floating], smooth: int = 1) -> NDArray[np.float64]:
    """Log-intensity with invalid pixels set to the median (optionally box-smoothed; measured: smoothing
    widens the correlation peak and worsens the sub-pixel estimate, so the default is none)."""
    logs = np.log(np.where(np.isfinite(intensity) & (intensity > 0), intensity, np.nan).astype(np.float64))
    logs = np.where(np.isfinite(logs), logs, np.nanmedian(logs))
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
    0.4 on a single-look simulated scene.
    """
    shift, error, _ = phase_cross_correlation(
        log_image(reference), log_image(moving), upsample_factor=upsample, normalization=None
    )
    correlation = float(np.sqrt(max(0.0, 1.0 - float(error) ** 2)))
    return float(shift[0]), float(shift[1]), correlation


def estimate_shift(
    reference: NDArray[np.floating], moving: NDArray[np.floating], upsample: int = 100
) -> tuple[float, float]:
    """Sub-pixel shift (dy, dx) that registers ``moving`` onto ``reference`` (see above)."""
    dy, dx, _ = estimate_shift_and_correlation(reference, moving, upsample)
    return dy, dx


def central_window(shape: tuple[int, int], size: int) -> tuple[slice, slice]:
    """The central ``size`` x ``size`` window of an image (all of it if smaller)."""
    h, w = shape
    sh, sw = min(h, size), min(w, size)
    r0, c0 = (h - sh) // 2, (w - sw) // 2
    return slice(r0, r0 + sh), slice(c0, c0 + sw)


def check_grids(files: Mapping[str, Path]) -> Grid:
    """All files on one grid (shape, CRS, transform); else an error naming the first offending file."""
    items = list(files.items())
    ref_file = items[0][1]
    ref = read_grid(ref_file)
    for _date, f in items[1:]:
        diffs = ref.differences(read_grid(f))
        if diffs:
            raise InputError(
                f"{f}: not on the grid of the reference date {ref_file}: " + "; ".join(diffs)
            )
    return ref


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
) -> dict[str, Any]:
    """Check a stack and return the co-registration report (JSON-ready).

    Raises :class:`InputError` for different grids, fewer than two dates, or (with
    ``on_misregistered='fail'``) a date shifted by more than ``max_shift_px`` or with no valid pixel.
    """
    if len(files) < 2:
        only = ", ".join(str(f) for f in files.values()) or "none"
        raise InputError(f"multi-temporal despeckling needs at least 2 dates; found {len(files)} ({only})")
    grid = check_grids(files)
    dates = list(files)
    ref_date = reference_date or dates[len(dates) // 2]
    if ref_date not in files:
        raise InputError(f"reference_date: {ref_date!r} is not one of the dates {dates}")
    window = central_window(grid.shape, shift_window)
    rows, cols = (window[0].start, window[0].stop), window[1]

    def central(f: Path) -> NDArray[np.float32]:
        return read_intensity(f, domain, band, rows)[0][:, cols]

    ref_img = central(files[ref_date])
    reports: list[DateReport] = []
    for date, f in files.items():
        stats = date_statistics(f, domain, band)  # strip by strip: bounded memory
        rep = DateReport(date=date, file=str(f))
        rep.invalid_fraction = stats.invalid_fraction
        if not np.isfinite(stats.median):
            rep.status = "dropped"
            rep.reasons.append("no valid pixel (all NaN, inf, <= 0 or nodata)")
            reports.append(rep)
            continue
        median = stats.median
        rep.median_db = float(10 * np.log10(median))
        if not PLAUSIBLE_INTENSITY[0] <= median <= PLAUSIBLE_INTENSITY[1]:
            rep.status = "dropped"
            rep.reasons.append(
                f"median intensity {median:.3g} is outside the plausible range {PLAUSIBLE_INTENSITY[0]:g} to "
                f"{PLAUSIBLE_INTENSITY[1]:g} (wrong input_domain, units or scaling?)"
            )
            reports.append(rep)
            continue
        if date != ref_date:
            dy, dx, corr = estimate_shift_and_correlation(ref_img, central(f))
            rep.shift_px = (round(dy, 4), round(dx, 4))
            rep.shift_norm_px = round(float(np.hypot(dy, dx)), 4)
            rep.correlation = round(corr, 4)
            if corr < min_correlation:
                rep.shift_measurable = False
                rep.reasons.append(
                    f"shift not measurable: correlation {corr:.3f} with the reference date is below"
                    f" min_correlation = {min_correlation} (no stable structure, e.g. sea); kept"
                )
            elif rep.shift_norm_px > max_shift_px:
                rep.status = "dropped"
                rep.reasons.append(
                    f"residual shift {rep.shift_norm_px:.3f} px exceeds max_shift_px = {max_shift_px}"
                )
        reports.append(rep)
    medians = np.array([r.median_db for r in reports if np.isfinite(r.median_db)])
    stack_median = float(np.median(medians))
    for r in reports:
        if np.isfinite(r.median_db) and abs(r.median_db - stack_median) > radiometric_outlier_db:
            r.radiometric_outlier = True
            r.reasons.append(
                f"median {r.median_db:.2f} dB is {r.median_db - stack_median:+.2f} dB from the stack median"
                f" {stack_median:.2f} dB (flag only)"
            )
    bad = [r for r in reports if r.status == "dropped"]
    if bad and on_misregistered == "fail":
        r = bad[0]
        raise InputError(f"{r.file}: date {r.date} rejected: {'; '.join(r.reasons)} (on_misregistered: fail)")
    kept = [r.date for r in reports if r.status == "kept"]
    if len(kept) < 2:
        raise InputError(f"only {len(kept)} date(s) left after dropping misregistered or empty dates")
    return {
        "reference_date": ref_date,
        "grid": {
            "height": grid.height, "width": grid.width,
            "crs": grid.crs.to_string() if grid.crs else None,
            "transform": list(grid.transform)[:6], "nodata": grid.nodata,
        },
        "max_shift_px": max_shift_px,
        "min_correlation": min_correlation,
        "on_misregistered": on_misregistered,
        "stack_median_db": round(stack_median, 4),
        "kept_dates": kept,
        "dropped_dates": [r.date for r in bad],
        "dates": [asdict(r) for r in reports],
    }
