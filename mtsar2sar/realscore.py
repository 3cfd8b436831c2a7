"""Scores of despeckling on real stacks, without a truth: the product's evaluation
(:mod:`mtsar2sar.evaluation`, ``heldout_nll`` of ``metrics.csv``) and the real-data table
(``benchmarks/real_stacks.py``).

* **Left-out date**: another date ``y`` of the stack is an independent speckle sample of the same
  reflectivity where nothing changed (the principle of SAR2SAR's self-supervision: Dalsasso, Denis and
  Tupin, "SAR2SAR: a semi-supervised despeckling algorithm for SAR images", IEEE JSTARS 14:4321-4329, 2021,
  arXiv 2006.15037). An estimate ``w_hat`` is scored by the speckle negative log-likelihood of ``y``
  per pixel, ``L (log(w_hat) + y / w_hat)`` (constants dropped; the ranking does not depend on ``L``),
  on the pixels stable between the two dates (7 x 7 boxcar means within a threshold:
  :func:`mtsar2sar.metrics.stable_pixels`). Lower is better: it rewards an estimate close to the
  reflectivity where nothing changed. The evaluation scores each date against the next date of the
  stack (the last date against the one before; ``L`` the AOI's looks, stable within 3 dB). The
  real-data table removes the last date ``T``
  before anything is computed and scores each method's estimate of date ``T - 1`` against it (``L``
  = 1, stable within :data:`STABLE_DB`).
* **Ratio image** ``r = y_t / w_hat_t`` on the most homogeneous windows of the super-image (the 20 % of
  non-overlapping 7 x 7 windows with the lowest coefficient of variation): its mean (1 for an unbiased
  estimate) and its ENL ``mean^2 / var`` (the input's looks when only speckle is removed): the
  first-order part of the ratio-image assessment of Gomez, Ospina and Frery, "Unassisted quantitative
  evaluation of despeckling filters", Remote Sensing 9(4):389, 2017.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.enl import block_view

Image = NDArray[np.floating]


# Pixels stable between dates T - 1 and T: 7 x 7 boxcar means within this (dB; metrics.stable_pixels).
STABLE_DB = 1.5


def leftout_nll(estimate: Image, leftout: Image, mask: NDArray[np.bool_], looks: float = 1.0) -> float:
    """Mean of ``looks * (log(w_hat) + y / w_hat)`` over ``mask`` and the pixels valid in both; NaN
    where there is none."""
    e = np.asarray(estimate, dtype=np.float64)
    y = np.asarray(leftout, dtype=np.float64)
    ok = mask & np.isfinite(e) & (e > 0) & np.isfinite(y) & (y > 0)
    if not ok.any():
        return float("nan")
    return float(np.mean(looks * (np.log(e[ok]) + y[ok] / e[ok])))


def homogeneous_mask(super_image: Image, window: int = 7, fraction: float = 0.2) -> NDArray[np.bool_]:
    """The pixels of the ``fraction`` of non-overlapping ``window`` x ``window`` windows of
    ``super_image`` with the lowest coefficient of variation (only fully valid windows)."""
    s = np.asarray(super_image, dtype=np.float64)
    blocks, ok = block_view(s, window)
    cv = np.full(ok.shape, np.inf)
    cv[ok] = blocks[ok].std(axis=1) / blocks[ok].mean(axis=1)
    n = max(1, round(fraction * ok.sum()))
    mask = np.zeros(s.shape, dtype=bool)
    nw = s.shape[1] // window
    for idx in np.argsort(cv, kind="stable")[:n]:
        if not ok[idx]:
            break
        r, c = divmod(int(idx), nw)
        mask[r * window : (r + 1) * window, c * window : (c + 1) * window] = True
    return mask


@dataclass(frozen=True)
class RatioStats:
    mean: float
    enl: float


def ratio_stats(noisy: Image, estimate: Image, mask: NDArray[np.bool_]) -> RatioStats:
    """Mean and ENL (``mean^2 / var``) of ``noisy / estimate`` over ``mask`` (valid pixels only)."""
    y = np.asarray(noisy, dtype=np.float64)
    e = np.asarray(estimate, dtype=np.float64)
    ok = mask & np.isfinite(e) & (e > 0) & np.isfinite(y) & (y > 0)
    if ok.sum() < 3:
        return RatioStats(float("nan"), float("nan"))
    r = y[ok] / e[ok]
    var = float(r.var())
    return RatioStats(float(r.mean()), float(r.mean() ** 2 / var) if var > 0 else float("inf"))
