"""The quality sheet's optional left-out-date check (``outputs.quality_leave_out: N``): did the chain beat
the simple estimates on this stack?

The protocol of :mod:`mtsar2sar.realscore` (``benchmarks/real_stacks.py --pairs N``) on the AOI's own kept
dates, with the workflow's settings. For pair ``j = 1 .. N``: the last ``j`` dates are removed before
anything is computed (nothing sees them), date ``T - j`` is the left-out date and date ``T - j - 1`` (the
last one left) is estimated by

* the **chain**: the super-image rebuilt from the remaining dates (their temporal mean,
  :func:`mtsar2sar.superimage.temporal_mean`, less the dates the AOI's super-image leaves out as
  radiometric outliers), filtered as the workflow filters it (``super_image.filter``; MuLoG with L = its
  ENL x ``filter_looks_factor``, :func:`mtsar2sar.superimage.filter_looks`; the ENL is the AOI's
  super-image ENL scaled by the number of dates, ``enl x n_remaining / n_AOI``: the ENL of a mean of
  independent dates grows with their number), and the date despeckled by the ratio to it with the
  workflow's network (:func:`mtsar2sar.despeckle.despeckle_by_ratio`);
* the **temporal mean** of the remaining dates (the plain super-image);
* **Quegan** (Quegan and Yu, IEEE TGRS 2001) over the remaining dates, with 7 x 7 boxcar local means.

Each is scored by the left-out date's speckle negative log-likelihood per pixel,
:func:`mtsar2sar.realscore.leftout_nll` with ``L = 1`` (the ranking does not depend on ``L``), on the pixels
stable between the two dates (:func:`mtsar2sar.metrics.stable_pixels`, within
:data:`mtsar2sar.realscore.STABLE_DB`). Lower is better. The means over the pairs scored by all three
rank them. An AOI larger than :data:`mtsar2sar.quality.MAX_SIDE` a side is scored on its central window
(as :func:`mtsar2sar.quality.assess_files`): the cost is N super-image filters and N dates despeckled on
at most that window. Deterministic: the same inputs and settings give the same numbers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.despeckle import IntensityDenoiser, despeckle_by_ratio
from mtsar2sar.io import json_ready, read_intensity
from mtsar2sar.methods import boxcar, quegan
from mtsar2sar.metrics import stable_pixels
from mtsar2sar.quality import MAX_SIDE, scored_window, window_reads
from mtsar2sar.realscore import STABLE_DB, leftout_nll
from mtsar2sar.superimage import filter_looks, filter_super_image, temporal_mean

log = logging.getLogger(__name__)

Image = NDArray[np.floating]

METHODS = ("chain", "temporal_mean", "quegan")  # the estimates compared, in the sheet's order
LABELS = {"chain": "chain", "temporal_mean": "temporal mean", "quegan": "Quegan"}
QUEGAN_WINDOW = 7  # px: Quegan's boxcar local means (benchmarks/real_stacks.py's quegan)
NLL_LOOKS = 1.0  # L of the left-out NLL (realscore's real-data table): the ranking does not depend on it


@dataclass(frozen=True)
class LeaveOutPair:
    """One pair: the date estimated (``before``), the date left out, and the scores."""

    left_out: str
    before: str
    mean_dates: int  # dates in the rebuilt super-image
    filter_looks: float | None  # MuLoG's L on it (None: super_image.filter none)
    stable_fraction: float  # of the pixels, stable between the two dates and scored
    nll: Mapping[str, float]  # method -> left-out NLL (NaN: no stable valid pixel)

    @property
    def scored(self) -> bool:
        return all(math.isfinite(self.nll[m]) for m in METHODS)

    def to_dict(self) -> dict[str, Any]:
        return {"left_out": self.left_out, "before": self.before, "mean_dates": self.mean_dates,
                "filter_looks": self.filter_looks, "stable_fraction": self.stable_fraction,
                "nll": {m: self.nll[m] for m in METHODS}}


@dataclass(frozen=True)
class LeaveOutCheck:
    """The pairs of one AOI and their aggregate."""

    asked: int  # N of outputs.quality_leave_out (more than the stack allows: fewer pairs)
    pairs: tuple[LeaveOutPair, ...]
    window: tuple[int, int, int, int] | None = None  # (row, col, height, width) scored, when not the whole

    @property
    def means(self) -> dict[str, float]:
        """Method -> mean NLL over the pairs scored by every method (NaN where none is)."""
        scored = [p for p in self.pairs if p.scored]
        return {m: float(np.mean([p.nll[m] for p in scored])) if scored else math.nan for m in METHODS}

    @property
    def best(self) -> str | None:
        """The method of the lowest mean NLL (None where no pair is scored)."""
        means = self.means
        if not all(math.isfinite(v) for v in means.values()):
            return None
        return min(METHODS, key=means.__getitem__)

    @property
    def line(self) -> str:
        """The check in one line (the sheet's)."""
        n = sum(p.scored for p in self.pairs)
        head = f"left-out dates ({n} pair{'s' if n != 1 else ''})"
        best = self.best
        if best is None:
            return f"{head}: no pair with stable valid pixels to score"
        scores = ", ".join(f"{LABELS[m]} {self.means[m]:.3f}" for m in METHODS)
        verdict = "the chain is best" if best == "chain" else f"{LABELS[best]} is best, not the chain"
        return f"{head}: NLL {scores}: {verdict}"

    def to_dict(self) -> dict[str, Any]:
        out = {"asked": self.asked, "pairs_scored": sum(p.scored for p in self.pairs), "window": self.window,
               "nll_looks": NLL_LOOKS, "stable_db": STABLE_DB, "means": self.means, "best": self.best,
               "line": self.line, "pairs": [p.to_dict() for p in self.pairs]}
        return dict(json_ready(out))


def score_pair(estimates: Mapping[str, Image], before: Image, left_out: Image,
               threshold_db: float = STABLE_DB) -> tuple[dict[str, float], float]:
    """Each estimate of the date ``before`` scored by the left-out date's NLL (:data:`NLL_LOOKS`) on the
    pixels stable between the two noisy dates; and the fraction of the pixels stable."""
    stable = stable_pixels(before, left_out, threshold_db=threshold_db)
    return ({m: leftout_nll(e, left_out, stable, NLL_LOOKS) for m, e in estimates.items()},
            float(stable.mean()) if stable.size else 0.0)


def available_pairs(kept: int) -> int:
    """The most pairs a stack of ``kept`` dates gives: at least two dates must remain before each left-out date."""
    return max(0, kept - 2)


def leave_out_check(
    dates: Mapping[str, Image], pairs: int, denoiser: IntensityDenoiser, super_image_enl: float, enl_dates: int,
    method: str = "mulog", mulog_settings: Mapping[str, Any] | None = None, excluded: Sequence[str] = (),
    debias: bool = True, window: tuple[int, int, int, int] | None = None,
) -> LeaveOutCheck:
    """The check (module docstring) on the kept ``dates`` (key -> intensity, in the stack's order) with
    ``denoiser`` the workflow's network and ``super_image_enl`` the ENL of the AOI's super-image, a mean of
    ``enl_dates`` dates (the super-image's of the ENL report; ``excluded``: the dates it leaves out)."""
    keys = list(dates)
    n = min(pairs, available_pairs(len(keys)))
    if n < pairs:
        log.warning("left-out dates: %d pair(s) asked, %d kept dates give %d", pairs, len(keys), n)
    mulog = dict(mulog_settings or {})
    # Quegan's local means, each date's once for every pair
    local = {d: boxcar(dates[d], QUEGAN_WINDOW) for d in keys[:-1]} if n else {}
    out = []
    for j in range(1, n + 1):
        left, rest = keys[-j], keys[:-j]
        before = rest[-1]
        in_mean = [d for d in rest if d not in excluded] or rest
        mean = temporal_mean(dates[d] for d in in_mean)[0]
        looks = filter_looks(super_image_enl * len(in_mean) / max(enl_dates, 1), mulog) if method != "none" else None
        filtered = filter_super_image(mean, method, looks if looks is not None else 1.0, mulog)
        w = np.asarray(dates[before])
        valid = np.isfinite(w) & (w > 0)
        chain = despeckle_by_ratio(w, filtered, denoiser, debias=debias).despeckled
        estimates = {"chain": chain, "temporal_mean": np.where(valid, mean, np.nan),
                     "quegan": quegan([dates[d] for d in rest], [local[d] for d in rest], len(rest) - 1)}
        nll, stable = score_pair(estimates, w, dates[left])
        pair = LeaveOutPair(left, before, len(in_mean), looks, stable, nll)
        log.info("left-out date %s (estimate of %s, %d dates in the super-image, %.0f %% stable): %s", left, before,
                 len(in_mean), 100 * stable, ", ".join(f"{LABELS[m]} {nll[m]:.4f}" for m in METHODS))
        out.append(pair)
    return LeaveOutCheck(pairs, tuple(out), window)


def leave_out_files(
    date_files: Mapping[str, str | Path], domain: str, band: int | None, enl_report: Mapping[str, Any], pairs: int,
    denoiser: IntensityDenoiser, method: str = "mulog", mulog_settings: Mapping[str, Any] | None = None,
    debias: bool = True, max_side: int = MAX_SIDE,
) -> LeaveOutCheck:
    """:func:`leave_out_check` on the files of the AOI's kept dates (in order), read in their central
    window of at most ``max_side`` a side; ``enl_report``: the AOI's ``super_image_enl.json``."""
    from mtsar2sar.io import read_grid

    keys = list(date_files)
    shape = read_grid(date_files[keys[0]]).shape
    window = scored_window(shape, max_side)
    rows, cols = window_reads(window, shape)
    dates = {d: read_intensity(date_files[d], domain, band, rows)[0][:, cols] for d in keys}
    return leave_out_check(dates, pairs, denoiser, float(enl_report["enl"]), int(enl_report["dates"]), method,
                           mulog_settings, list(enl_report.get("excluded_from_mean") or ()), debias, window)
