"""Quality measures of despeckled intensities.

* ``psnr_amplitude``: ``10 log10(P^2 / mean((A_hat - A)^2))`` on amplitudes ``A = sqrt(w)``, with the
  peak ``P`` the 99th percentile of the truth amplitude (the convention of the SAR2SAR authors' code).
* ``psnr_log``: ``10 log10(D^2 / mean((log w_hat - log v)^2))`` on log-intensity, with ``D`` the
  truth's log dynamic range (max - min of ``log v``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def _pair(estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_] | None):
    e, t = np.asarray(estimate, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    ok = np.isfinite(e) & np.isfinite(t) & (e > 0) & (t > 0)
    if mask is not None:
        ok &= mask
    return e, t, ok


def psnr_amplitude(estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_] | None = None) -> float:
    e, t, ok = _pair(estimate, truth, mask)
    peak = np.percentile(np.sqrt(t[np.isfinite(t) & (t > 0)]), 99)
    mse = np.mean((np.sqrt(e[ok]) - np.sqrt(t[ok])) ** 2)
    return float(10 * np.log10(peak**2 / mse))


def psnr_log(estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_] | None = None) -> float:
    e, t, ok = _pair(estimate, truth, mask)
    lt = np.log(t[np.isfinite(t) & (t > 0)])
    dyn = lt.max() - lt.min()
    mse = np.mean((np.log(e[ok]) - np.log(t[ok])) ** 2)
    return float(10 * np.log10(dyn**2 / mse))


def most_homogeneous_window(image: NDArray[np.floating], size: int = 15) -> tuple[slice, slice]:
    """The ``size`` x ``size`` window (non-overlapping grid) with the lowest log-intensity variance."""
    from mtsar2sar.enl import block_view

    blocks, ok = block_view(image, size)
    k2 = np.full(ok.shape, np.inf)
    k2[ok] = np.var(np.log(blocks[ok]), axis=1, ddof=1)
    idx = int(np.argmin(k2))
    nw = image.shape[1] // size
    r, c = divmod(idx, nw)
    return slice(r * size, (r + 1) * size), slice(c * size, (c + 1) * size)


def ratio_mean(noisy: NDArray[np.floating], despeckled: NDArray[np.floating]) -> float:
    """Mean of the ratio image ``w / w_hat`` over valid pixels (1 for an unbiased filter)."""
    w, e, ok = _pair(noisy, despeckled, None)
    return float(np.mean(w[ok] / e[ok]))
