"""Change-preservation scores of a despeckled stack (prototype, issue "reference that follows each date's state").

* ``change_slope`` (products alone): for consecutive dates (t, t+1), x = the noisy log-ratio averaged
  over a ``window`` x ``window`` boxcar (boxcar of log w_{t+1} minus boxcar of log w_t: the log-mean
  bias of speckle is the same for both dates and cancels), y = the despeckled log-ratio averaged over
  the same window. On the pixels where |x| > ``threshold_db`` the slope through the origin
  sum(x y) / sum(x^2) (1 = changes kept at full size, < 1 shrunk). Its 95 % interval is a block
  bootstrap: the units resampled are (date pair, 32 x 32 tile), so that the overlap of the windows
  and the spatial correlation of the errors are inside a unit.
* ``bias_per_bin`` (simulated scenes): per bin of the true pixel log-ratio between consecutive dates
  (dB), the mean of (despeckled - true) log-ratio in dB, and the bin's slope mean(y) / mean(x); plus the
  slope against the truth on |true change| > threshold (pixel level, no window).

    OMP_NUM_THREADS=1 .venv/bin/python experiments/state_reference/change_score.py \
        results/demo_4look                      # the AOI's despeckled/ products (all dates)
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter

DB = 10.0 / np.log(10.0)
BINS_DB = (-40.0, -10.0, -6.0, -3.0, -1.0, 1.0, 3.0, 6.0, 10.0, 40.0)
TILE = 32


def box_log(img: NDArray[np.floating], window: int) -> NDArray[np.float64]:
    """Boxcar mean of log(img) over the valid pixels of the window (NaN where the pixel is invalid)."""
    x = np.asarray(img, dtype=np.float64)
    ok = np.isfinite(x) & (x > 0)
    lg = np.where(ok, np.log(np.where(ok, x, 1.0)), 0.0)
    num = uniform_filter(lg, window, mode="reflect")
    den = uniform_filter(ok.astype(np.float64), window, mode="reflect")
    return np.where(ok & (den > 0.5), num / np.maximum(den, 1e-12), np.nan)


def box_log_on(img: NDArray[np.floating], mask: NDArray[np.bool_], window: int) -> NDArray[np.float64]:
    """Boxcar mean of log(img) over the valid pixels of ``mask`` in each window (every pixel gets one)."""
    x = np.asarray(img, dtype=np.float64)
    ok = mask & np.isfinite(x) & (x > 0)
    lg = np.where(ok, np.log(np.where(ok, x, 1.0)), 0.0)
    num = uniform_filter(lg, window, mode="reflect")
    den = uniform_filter(ok.astype(np.float64), window, mode="reflect")
    valid = np.isfinite(x) & (x > 0) & (den > 0.2)
    return np.where(valid, num / np.maximum(den, 1e-12), np.nan)


def split_masks(shape: tuple[int, int]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Two interleaved halves of the pixels (a checkerboard of 2 x 2 blocks, so that speckle correlated
    between neighbouring pixels stays mostly within one half)."""
    r, c = np.indices(shape)
    a = ((r // 2 + c // 2) % 2) == 0
    return a, ~a


def change_slope_split(noisy: list[NDArray[np.floating]], despeckled: list[NDArray[np.floating]], window: int = 9,
                       threshold_db: float = 3.0, k_sigma: float = 4.0, boots: int = 2000, seed: int = 0,
                       sigma_stack: list[NDArray[np.floating]] | None = None) -> Slope:
    """The change slope with a split sample (no winner's curse): pixels are selected on x_A, the noisy
    boxcar log-ratio over one half of the window's pixels (|x_A| > max(threshold, k_sigma sigma_A)), and the
    slope is regressed on x_B, the other half's (noise independent of the selection), corrected for its
    noise: sum(x_B y) / (sum(x_B^2) - n sigma_B^2). ``sigma_stack``: the dates whose consecutive pairs give
    the noise (default ``noisy``)."""
    ma, mb = split_masks(np.asarray(noisy[0]).shape)
    ref = sigma_stack if sigma_stack is not None else noisy

    def sig(mask: NDArray[np.bool_]) -> float:
        b = [box_log_on(w, mask, window) for w in ref]
        return noise_sigma([(b[t + 1] - b[t], b[t + 1]) for t in range(len(b) - 1)])

    sa, sb = sig(ma), sig(mb)
    thr = max(threshold_db / DB, k_sigma * sa)
    an = [box_log_on(w, ma, window) for w in noisy]
    bn = [box_log_on(w, mb, window) for w in noisy]
    bd = [box_log(w, window) for w in despeckled]
    sxy, sxx, cnt = [], [], []
    for t in range(len(noisy) - 1):
        xa, xb, y = an[t + 1] - an[t], bn[t + 1] - bn[t], bd[t + 1] - bd[t]
        sel = np.isfinite(xa) & np.isfinite(xb) & np.isfinite(y) & (np.abs(xa) > thr)
        h, w = xa.shape
        for r in range(0, h, TILE):
            for c in range(0, w, TILE):
                s_ = sel[r : r + TILE, c : c + TILE]
                if s_.any():
                    xx = xb[r : r + TILE, c : c + TILE][s_]
                    yy = y[r : r + TILE, c : c + TILE][s_]
                    sxy.append(float((xx * yy).sum()))
                    sxx.append(float((xx * xx).sum()))
                    cnt.append(int(s_.sum()))
    if not cnt:
        return Slope(float("nan"), float("nan"), float("nan"), 0, len(noisy) - 1, thr * DB, sa * DB)
    sxy_a, sxx_a, cnt_a = np.array(sxy), np.array(sxx), np.array(cnt)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, sxx_a.size, size=(boots, sxx_a.size))
    b = sxy_a[idx].sum(axis=1) / (sxx_a[idx].sum(axis=1) - sb * sb * cnt_a[idx].sum(axis=1))
    return Slope(float(sxy_a.sum() / (sxx_a.sum() - sb * sb * cnt_a.sum())), float(np.quantile(b, 0.025)),
                 float(np.quantile(b, 0.975)), int(cnt_a.sum()), len(noisy) - 1, thr * DB, sa * DB)


@dataclass
class Slope:
    slope: float
    lo: float
    hi: float
    pixels: int
    pairs: int
    threshold_db: float = float("nan")
    sigma_x_db: float = float("nan")

    def __str__(self) -> str:
        return (f"{self.slope:.3f} [{self.lo:.3f}, {self.hi:.3f}] (n={self.pixels}, |x| > {self.threshold_db:.1f} dB,"
                f" sigma_x {self.sigma_x_db:.2f} dB)")


def pair_logratios(noisy: list[NDArray[np.floating]], despeckled: list[NDArray[np.floating]], window: int
                   ) -> list[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per consecutive pair: x = boxcar log-ratio of the noisy dates, y = the same of the despeckled ones."""
    bn = [box_log(w, window) for w in noisy]
    bd = [box_log(w, window) for w in despeckled]
    return [(bn[t + 1] - bn[t], bd[t + 1] - bd[t]) for t in range(len(noisy) - 1)]


def noise_sigma(pairs: list[tuple[NDArray[np.float64], NDArray[np.float64]]]) -> float:
    """Robust spread (MAD) of the noisy boxcar log-ratio x over all pixels and pairs: its noise where
    most pixels do not change (the speckle's, whatever its looks and spatial correlation)."""
    x = np.concatenate([p[0][np.isfinite(p[0])] for p in pairs])
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def stack_sigma(noisy: list[NDArray[np.floating]], window: int = 7) -> float:
    """:func:`noise_sigma` of the consecutive pairs of a whole stack (its native interval)."""
    b = [box_log(w, window) for w in noisy]
    return noise_sigma([(b[t + 1] - b[t], b[t + 1]) for t in range(len(b) - 1)])


def slope_units(pairs: list[tuple[NDArray[np.float64], NDArray[np.float64]]], threshold: float
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Per unit (date pair x tile): sum(x y), sum(x x) and the pixel count where |x| > threshold (natural log)."""
    sxy, sxx, cnt = [], [], []
    for x, y in pairs:
        sel = np.isfinite(x) & np.isfinite(y) & (np.abs(x) > threshold)
        h, w = x.shape
        for r in range(0, h, TILE):
            for c in range(0, w, TILE):
                s = sel[r : r + TILE, c : c + TILE]
                if s.any():
                    xx = x[r : r + TILE, c : c + TILE][s]
                    yy = y[r : r + TILE, c : c + TILE][s]
                    sxy.append(float((xx * yy).sum()))
                    sxx.append(float((xx * xx).sum()))
                    cnt.append(int(s.sum()))
    return np.array(sxy), np.array(sxx), np.array(cnt, dtype=np.int64)


def change_slope(noisy: list[NDArray[np.floating]], despeckled: list[NDArray[np.floating]], window: int = 7,
                 threshold_db: float = 3.0, k_sigma: float = 4.0, corrected: bool = True, boots: int = 2000,
                 seed: int = 0, sigma_x: float | None = None) -> Slope:
    """The change-preservation slope of consecutive dates and its 95 % block-bootstrap interval.

    ``corrected`` (default): the selection threshold is raised to ``k_sigma`` times the noise of x when
    that exceeds ``threshold_db`` (else noise-only pixels are selected, whose y is about 0: with
    single-look data the plain score reads 0.58 where the truth says 0.94), and the slope is corrected for
    the noise in x (errors in variables): sum(x y) / (sum(x^2) - n sigma_x^2). ``corrected=False``: the
    plain score, |x| > threshold_db and sum(x y) / sum(x^2). ``sigma_x``: the noise of x (natural log) when
    known, e.g. :func:`stack_sigma` of the whole stack when ``noisy`` is a subset of dates far apart (their
    pairs change more, which inflates the MAD)."""
    pairs = pair_logratios(noisy, despeckled, window)
    sig = noise_sigma(pairs) if sigma_x is None else sigma_x
    thr = max(threshold_db / DB, k_sigma * sig) if corrected else threshold_db / DB
    s2 = sig * sig if corrected else 0.0
    sxy, sxx, cnt = slope_units(pairs, thr)
    if sxx.size == 0:
        return Slope(float("nan"), float("nan"), float("nan"), 0, len(pairs), thr * DB, sig * DB)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, sxx.size, size=(boots, sxx.size))
    b = sxy[idx].sum(axis=1) / (sxx[idx].sum(axis=1) - s2 * cnt[idx].sum(axis=1))
    return Slope(float(sxy.sum() / (sxx.sum() - s2 * cnt.sum())), float(np.quantile(b, 0.025)),
                 float(np.quantile(b, 0.975)), int(cnt.sum()), len(pairs), thr * DB, sig * DB)


def window_truth_slope(truth: list[NDArray[np.floating]], despeckled: list[NDArray[np.floating]], window: int = 7,
                       threshold_db: float = 3.0) -> float:
    """What ``change_slope`` estimates, measured with the truth: the boxcar log-ratio of the despeckled
    dates against the truth's, where |truth's| > threshold_db."""
    sxy = sxx = 0.0
    for x, y in pair_logratios(truth, despeckled, window):
        sel = np.isfinite(x) & np.isfinite(y) & (np.abs(x) * DB > threshold_db)
        sxy += float((x[sel] * y[sel]).sum())
        sxx += float((x[sel] ** 2).sum())
    return sxy / sxx if sxx > 0 else float("nan")


def bias_per_bin(truth: list[NDArray[np.floating]], despeckled: list[NDArray[np.floating]],
                 bins: tuple[float, ...] = BINS_DB, threshold_db: float = 3.0) -> dict[str, object]:
    """Per bin of true consecutive log-ratio (dB): count, mean true change, mean bias (dB) and bin slope;
    and the pixel-level slope through the origin against the truth where |true change| > threshold."""
    xs, ys = [], []
    for t in range(len(truth) - 1):
        x = DB * (np.log(np.asarray(truth[t + 1], np.float64)) - np.log(np.asarray(truth[t], np.float64)))
        y = DB * (np.log(np.asarray(despeckled[t + 1], np.float64)) - np.log(np.asarray(despeckled[t], np.float64)))
        ok = np.isfinite(x) & np.isfinite(y)
        xs.append(x[ok])
        ys.append(y[ok])
    x, y = np.concatenate(xs), np.concatenate(ys)
    rows = []
    for lo, hi in itertools.pairwise(bins):
        s = (x >= lo) & (x < hi)
        if not s.any():
            continue
        rows.append({"bin_db": [lo, hi], "n": int(s.sum()), "true_db": float(x[s].mean()),
                     "bias_db": float((y[s] - x[s]).mean()), "rmse_db": float(np.sqrt(((y[s] - x[s]) ** 2).mean())),
                     "slope": float(y[s].mean() / x[s].mean()) if abs(x[s].mean()) > 0.5 else float("nan")})
    big = np.abs(x) > threshold_db
    return {"bins": rows, "truth_slope": float((x[big] * y[big]).sum() / (x[big] ** 2).sum()),
            "truth_pixels": int(big.sum())}


def format_bins(res: dict[str, object]) -> str:
    lines = ["| true change bin (dB) | pixels | mean true (dB) | bias (dB) | RMSE (dB) | bin slope |",
             "|---|---|---|---|---|---|"]
    for r in res["bins"]:  # type: ignore[union-attr]
        lo, hi = r["bin_db"]
        lines.append(f"| [{lo:g}, {hi:g}) | {r['n']} | {r['true_db']:+.2f} | {r['bias_db']:+.2f} | {r['rmse_db']:.2f} |"
                     f" {r['slope']:.3f} |")
    lines.append(f"slope vs truth (|true| > 3 dB, pixel level): {res['truth_slope']:.3f} (n={res['truth_pixels']})")
    return "\n".join(lines)


def main() -> None:
    from mtsar2sar.io import read_product

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi_dir", type=Path)
    ap.add_argument("--products", type=Path, default=None, help="folder of {date}.tif estimates (default: despeckled/)")
    ap.add_argument("--window", type=int, default=7)
    ap.add_argument("--threshold-db", type=float, default=3.0)
    args = ap.parse_args()
    d = args.aoi_dir
    dates = json.loads((d / "coregistration.json").read_text())["kept_dates"]
    prod = args.products or d / "despeckled"
    noisy = [read_product(d / "simulated" / "noisy" / f"{t}.tif")[0] for t in dates]
    est = [read_product(prod / f"{t}.tif")[0] for t in dates]
    print(f"change slope, window {args.window}, corrected: {change_slope(noisy, est, args.window, args.threshold_db)}")
    print(f"change slope, split sample, window 9: {change_slope_split(noisy, est)}")
    print(f"change slope, window {args.window}, plain:     "
          f"{change_slope(noisy, est, args.window, args.threshold_db, corrected=False)}")
    tdir = d / "simulated" / "truth"
    if tdir.exists():
        truth = [read_product(tdir / f"{t}.tif")[0] for t in dates]
        print(f"the same against the truth (window {args.window}, |true| > {args.threshold_db} dB): "
              f"{window_truth_slope(truth, est, args.window, args.threshold_db):.3f}")
        print(format_bins(bias_per_bin(truth, est, threshold_db=args.threshold_db)))


if __name__ == "__main__":
    main()
