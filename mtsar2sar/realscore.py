"""Scores of despeckling on real stacks without a truth (``../shared/notes/multitemporal-peers.md``).

* **Left-out date**: the last date ``y_T`` is removed from the stack before anything is computed;
  each method's estimate ``w_hat`` of date ``T - 1`` is scored by the speckle negative log-likelihood
  per pixel ``log(w_hat) + y_T / w_hat`` (constants and the factor L dropped: the ranking does not
  depend on L) on the pixels stable between ``T - 1`` and ``T`` (7 x 7 boxcar means within 1.5 dB).
  Lower is better; it rewards an estimate close to the reflectivity where nothing changed.
* **Ratio image** ``r = y_t / w_hat_t`` on the most homogeneous windows of the super-image (the 20 %
  of non-overlapping 7 x 7 windows with the lowest coefficient of variation): its mean (1 for an
  unbiased estimate) and its ENL ``mean^2 / var`` (the input's looks when only speckle is removed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.enl import block_view

Image = NDArray[np.floating]


# Pixels stable between dates T - 1 and T: 7 x 7 boxcar means within this (dB; metrics.stable_pixels).
STABLE_DB = 1.5


def leftout_nll(estimate: Image, leftout: Image, mask: NDArray[np.bool_]) -> float:
    """Mean of ``log(w_hat) + y / w_hat`` over ``mask`` and the pixels valid in both."""
    e = np.asarray(estimate, dtype=np.float64)
    y = np.asarray(leftout, dtype=np.float64)
    ok = mask & np.isfinite(e) & (e > 0) & np.isfinite(y) & (y > 0)
    if not ok.any():
        return float("nan")
    return float(np.mean(np.log(e[ok]) + y[ok] / e[ok]))


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
