"""Quality measures of despeckled intensities.

* ``psnr_amplitude``: ``10 log10(P^2 / mean((A_hat - A)^2))`` on amplitudes ``A = sqrt(w)``, with the
  peak ``P`` the 99th percentile of the truth amplitude (the convention of the SAR2SAR authors' code).
* ``psnr_log``: ``10 log10(D^2 / mean((log w_hat - log v)^2))`` on log-intensity, with ``D`` the
  truth's log dynamic range (max - min of ``log v``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def _pair(
    estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """``estimate`` and ``truth`` as float64, and where both are valid (finite, > 0; and in ``mask``)."""
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
    return homogeneous_windows(image, size, fraction=0.0)[0]


def ratio_mean(noisy: NDArray[np.floating], despeckled: NDArray[np.floating]) -> float:
    """Mean of the ratio image ``w / w_hat`` over valid pixels (1 for an unbiased filter)."""
    w, e, ok = _pair(noisy, despeckled, None)
    return float(np.mean(w[ok] / e[ok]))


def ssim_log(estimate: NDArray[np.floating], truth: NDArray[np.floating]) -> float:
    """SSIM (Wang et al. 2004, scikit-image, 7 x 7 windows) of the log-intensities; data range = the
    truth's log dynamic range; invalid pixels of the estimate are set to the truth's value."""
    from skimage.metrics import structural_similarity

    e, t, ok = _pair(estimate, truth, None)
    lt = np.log(np.where(t > 0, t, np.nan))
    le = np.where(ok, np.log(np.where(ok, e, 1.0)), lt)
    fill = float(np.nanmean(lt))
    lt, le = np.nan_to_num(lt, nan=fill), np.nan_to_num(le, nan=fill)
    return float(structural_similarity(lt, le, data_range=float(lt.max() - lt.min())))


def bias_db(estimate: NDArray[np.floating], truth: NDArray[np.floating]) -> float:
    """Mean bias ``10 log10(mean(w_hat / v))`` in dB (0 for an unbiased estimate)."""
    e, t, ok = _pair(estimate, truth, None)
    return float(10 * np.log10(np.mean(e[ok] / t[ok])))


def homogeneous_windows(reference: NDArray[np.floating], size: int = 15, fraction: float = 0.1) -> list[tuple[slice, slice]]:
    """The ``fraction`` of non-overlapping windows of ``reference`` with the lowest log-variance."""
    from mtsar2sar.enl import block_view

    blocks, ok = block_view(reference, size)
    k2 = np.full(ok.shape, np.inf)
    k2[ok] = np.var(np.log(blocks[ok]), axis=1, ddof=1)
    n = max(1, int(fraction * ok.sum()))
    nw = reference.shape[1] // size
    out = []
    for idx in np.argsort(k2, kind="stable")[:n]:
        r, c = divmod(int(idx), nw)
        out.append((slice(r * size, (r + 1) * size), slice(c * size, (c + 1) * size)))
    return out


def enl_on_windows(image: NDArray[np.floating], windows: list[tuple[slice, slice]]) -> float:
    """Mean over the windows of the classical ENL ``mean^2 / var`` of ``image``."""
    vals = []
    for w in windows:
        x = np.asarray(image[w], dtype=np.float64)
        x = x[np.isfinite(x)]
        if x.size > 2 and x.var() > 0:
            vals.append(x.mean() ** 2 / x.var())
    return float(np.mean(vals)) if vals else float("nan")


def ratio_statistics(noisy: NDArray[np.floating], despeckled: NDArray[np.floating]) -> dict[str, float]:
    """Statistics of the ratio image ``r = w / w_hat``: its mean (-> 1), its ENL from the variance of
    ``log r`` (-> the input's looks when only speckle is removed), and the structure left in it: the
    Pearson correlation of ``|log r - mean|`` with the gradient magnitude of ``log w_hat`` (-> 0)."""
    from mtsar2sar.enl import inverse_trigamma

    w, e, ok = _pair(noisy, despeckled, None)
    r = np.where(ok, w / np.where(ok, e, 1.0), np.nan)
    lr = np.log(r)
    k2 = float(np.nanvar(lr))
    le = np.log(np.where(ok, e, np.nan))
    gy, gx = np.gradient(np.nan_to_num(le, nan=float(np.nanmean(le))))
    grad = np.hypot(gy, gx)
    dev = np.abs(lr - np.nanmean(lr))
    both = ok & np.isfinite(dev)
    a, b = dev[both], grad[both]
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    return {"ratio_mean": float(np.nanmean(r)), "ratio_enl": inverse_trigamma(k2) if k2 > 0 else float("inf"),
            "ratio_edge_correlation": corr}


def stable_pixels(a: NDArray[np.floating], b: NDArray[np.floating], window: int = 7, threshold_db: float = 3.0) -> NDArray[np.bool_]:
    """Pixels where two dates do not differ by more than ``threshold_db`` after a ``window`` boxcar."""
    from mtsar2sar.methods import boxcar

    d = np.abs(10 * np.log10(boxcar(a, window).astype(np.float64) / boxcar(b, window)))
    return np.isfinite(d) & (d <= threshold_db)
