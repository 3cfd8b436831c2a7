"""Per-date references for the ratio chain (prototype): the reference of date t follows date t's state.

The chain today: tau' = w_t / s', s' = s_f / lambda with s_f the MuLoG-filtered temporal mean (the same
reference for every date). The variants here replace s_f by a per-date reference r_t = s_f * c_t, c_t a
multiplicative correction that is exactly 1 where the change test finds every date in date t's state:

* state test (as RABASAR's BWAM and the ``stable_mean`` training target): date i is in date t's state at
  a pixel when the ``window`` x ``window`` boxcar means of log w_i and log w_t differ by at most
  ``z`` sigma_d, sigma_d the robust (MAD) spread of that difference between consecutive dates over the
  image (so the threshold follows the looks and the speckle correlation of the data);
* m_t = mean intensity of the dates in date t's state (pixel level), m = the plain mean of all dates;
  raw correction log c_t = log m_t - log m (unbiased for the state's level, noise of k_t L looks);
* the correction is smoothed where the test fires (``smooth``):
  ``raw`` none; ``mbox{k}`` a k x k normalized convolution over the pixels where it fires only
  (pixels where every date is in the state keep c_t = 1: no spill onto the stable side of an edge);
  ``sigma{k}`` the same, restricted to neighbours whose raw log c is within 2 sigma of the centre's
  (Lee's sigma filter: keeps the edges between two changed regions);
* oracles (simulated scenes only, ceilings): ``oracle_truth`` r_t = the truth of date t;
  ``oracle_corr`` r_t = s_f * v_t / mean_i v_i (the perfect correction of today's reference).

Also ``quegan_chain``: Quegan's filter with the chain's own estimates as local means (a second pass,
no change of the reference).

    OMP_NUM_THREADS=1 .venv/bin/python experiments/state_reference/reference.py \
        results/demo_4look --variant mean --variant state:mbox7 --variant oracle_corr
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.ndimage import uniform_filter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from change_score import DB, bias_per_bin, box_log, change_slope, change_slope_split, stack_sigma, window_truth_slope

Array = NDArray[np.float64]


# ----------------------------------------------------------------------------- the state test
@dataclass
class StateContext:
    """What the per-date references share: the stack, its boxcar logs, the plain mean and the filtered one."""

    dates: list[Array]
    filtered: Array
    window: int = 7
    z: float = 3.0
    blog: NDArray[np.float32] = field(init=False)
    mean: Array = field(init=False)
    sigma_d: float = field(init=False)
    setup_seconds: float = field(init=False)

    def __post_init__(self) -> None:
        t0 = time.perf_counter()
        self.blog = np.stack([box_log(w, self.window) for w in self.dates]).astype(np.float32)
        d = np.diff(self.blog, axis=0)
        d = d[np.isfinite(d)]
        self.sigma_d = float(1.4826 * np.median(np.abs(d - np.median(d))))
        stack = np.stack(self.dates)
        ok = np.isfinite(stack) & (stack > 0)
        self.mean = np.where(ok, stack, 0).sum(0) / np.maximum(ok.sum(0), 1)
        self.setup_seconds = time.perf_counter() - t0

    @property
    def threshold_db(self) -> float:
        return self.z * self.sigma_d * DB

    def in_state(self, t: int) -> NDArray[np.bool_]:
        """T x H x W: date i is in date t's state at the pixel."""
        d = np.abs(self.blog - self.blog[t][None])
        return np.isfinite(d) & (d <= self.z * self.sigma_d)

    def soft_log_correction(self, t: int, h: float) -> tuple[Array, NDArray[np.bool_], NDArray[np.float64]]:
        """log m_t - log m with m_t the mean of all dates weighted by exp(-d^2 / (2 (h sigma_d)^2)), d the
        state test's statistic (a temporal non-local mean: no abrupt switch of the date set between
        neighbouring pixels); the mask where the weights' sum is below T - 0.5, and the weights' sum."""
        d = self.blog - self.blog[t][None]
        a = np.exp(-0.5 * (np.where(np.isfinite(d), d, np.inf) / (h * self.sigma_d)) ** 2)
        stack = np.stack(self.dates)
        ok = np.isfinite(stack) & (stack > 0)
        a = np.where(ok, a, 0.0)
        n = a.sum(0)
        m_t = (a * np.where(ok, stack, 0)).sum(0) / np.maximum(n, 1e-12)
        fires = n < ok.sum(0) - 0.5
        lc = np.where(n > 0, np.log(np.maximum(m_t, 1e-30)) - np.log(np.maximum(self.mean, 1e-30)), 0.0)
        return lc, fires, n

    def raw_log_correction(self, t: int, exclude_self: bool = False) -> tuple[Array, NDArray[np.bool_], NDArray[np.int64]]:
        """log m_t - log m, where the test fires (some date out of the state), and the state's date count.
        ``exclude_self``: m_t without date t itself (its speckle then does not enter the reference; where
        no other date is in the state, no correction)."""
        sel = self.in_state(t)
        if exclude_self:
            sel[t] = False
        stack = np.stack(self.dates)
        ok = sel & np.isfinite(stack) & (stack > 0)
        n = ok.sum(0)
        m_t = np.where(ok, stack, 0).sum(0) / np.maximum(n, 1)
        valid_all = (np.isfinite(stack) & (stack > 0)).sum(0)
        fires = (n < valid_all - (1 if exclude_self else 0)) & (n > 0)
        lc = np.where(fires, np.log(np.where(fires, m_t, 1.0)) - np.log(np.where(fires, self.mean, 1.0)), 0.0)
        return lc, fires, n


def masked_box(lc: Array, mask: NDArray[np.bool_], k: int) -> Array:
    """k x k normalized convolution of ``lc`` over ``mask`` (0 outside it)."""
    num = uniform_filter(np.where(mask, lc, 0.0), k, mode="reflect")
    den = uniform_filter(mask.astype(np.float64), k, mode="reflect")
    return np.where(mask, num / np.maximum(den, 1e-12), 0.0)


def sigma_filter(lc: Array, mask: NDArray[np.bool_], n: NDArray[np.int64], k: int, looks: float) -> Array:
    """Lee's sigma filter of ``lc`` over ``mask``: the mean of the neighbours (k x k) within 2 sigma of the
    centre, sigma = sqrt(1 / (n L) + 1 / (T L)) the raw correction's noise (n dates in the state)."""
    from scipy.special import polygamma

    total_n = float(n.max())
    sig = np.sqrt(polygamma(1, np.maximum(n, 1) * looks) + polygamma(1, total_n * looks))
    h = k // 2
    pad_l = np.pad(lc, h, mode="reflect")
    pad_m = np.pad(mask, h, mode="reflect")
    num = np.zeros_like(lc)
    den = np.zeros_like(lc)
    H, W = lc.shape
    for dr in range(-h, h + 1):
        for dc in range(-h, h + 1):
            v = pad_l[h + dr : h + dr + H, h + dc : h + dc + W]
            mm = pad_m[h + dr : h + dr + H, h + dc : h + dc + W] & (np.abs(v - lc) <= 2 * sig)
            num += np.where(mm, v, 0.0)
            den += mm
    return np.where(mask, num / np.maximum(den, 1), 0.0)


def guided_filter(guide: Array, src: Array, radius: int, eps: float) -> Array:
    """He, Sun and Tang's guided filter of ``src`` by ``guide`` (box of side 2 radius + 1, regularization eps)."""
    k = 2 * radius + 1
    mi = uniform_filter(guide, k, mode="reflect")
    mp = uniform_filter(src, k, mode="reflect")
    cov = uniform_filter(guide * src, k, mode="reflect") - mi * mp
    var = uniform_filter(guide * guide, k, mode="reflect") - mi * mi
    a = cov / (var + eps)
    b = mp - a * mi
    return uniform_filter(a, k, mode="reflect") * guide + uniform_filter(b, k, mode="reflect")


def state_reference(ctx: StateContext, t: int, spec: str, looks: float) -> Array:
    """r_t = s_f * exp(g(smooth(log m_t - log m))) (see the module doc). ``spec``: ``SMOOTH[:gG][:sS]``,
    SMOOTH ending in ``x``: m_t leaves date t out; ``gG``: the correction is applied only where the smoothed
    |log c_t| exceeds G dB (hard gate); ``sS``: soft threshold, |log c_t| reduced by S dB (the network keeps
    handling departures up to S dB, which it does well); ``aA``: partial correction c_t ** A;
    ``wW``: c_t ** g, g = lc^2 / (lc^2 + (W dB)^2) (full correction of large departures, little of small ones)."""
    smooth, *opts = spec.split(":")
    exclude = smooth.endswith("x")
    smooth = smooth.rstrip("x")
    if smooth.startswith("soft"):  # softH-SMOOTH: the soft (weighted) state mean, then SMOOTH
        h, smooth = smooth[4:].split("-", 1)
        lc, fires, nf = ctx.soft_log_correction(t, float(h))
        n = np.maximum(np.round(nf), 1).astype(np.int64)
    else:
        lc, fires, n = ctx.raw_log_correction(t, exclude)
    if smooth == "raw":
        out = lc
    elif smooth.startswith("mbox"):
        out = masked_box(lc, fires, int(smooth[4:]))
    elif smooth.startswith("sigma"):
        out = sigma_filter(lc, fires, n, int(smooth[5:]), looks)
    elif smooth.startswith("guided"):  # guidedR_E: radius R, eps = (E dB)^2, guide log s_f
        r, e = smooth[6:].split("_")
        out = guided_filter(np.log(ctx.filtered), lc, int(r), (float(e) / DB) ** 2)
    elif smooth.startswith("sgf"):  # sgfK: sigma filter of side K then guided filter radius 3, eps (0.5 dB)^2
        out = guided_filter(np.log(ctx.filtered), sigma_filter(lc, fires, n, int(smooth[3:]), looks), 3, (0.5 / DB) ** 2)
    else:
        raise SystemExit(f"unknown smoothing {smooth!r}")
    for o in opts:
        thr = float(o[1:]) / DB  # (unused by "a")
        if o[0] == "g":
            out = np.where(np.abs(out) > thr, out, 0.0)
        elif o[0] == "s":
            out = np.sign(out) * np.maximum(np.abs(out) - thr, 0.0)
        elif o[0] == "a":  # partial correction c_t ** A
            out = out * float(o[1:])
        elif o[0] == "w":  # Wiener-like gain: c_t ** (lc^2 / (lc^2 + (W dB)^2)), full for large departures
            out = out * out**2 / (out**2 + thr**2)
        else:
            raise SystemExit(f"unknown option {o!r}")
    return ctx.filtered * np.exp(out)


FILTER = {"denoiser": "bm3d", "admm_iterations": 3, "bm3d_step": 4, "start_denoiser": "dct", "looks_factor": 0.7}


def state_mulog(ctx: StateContext, t: int, variant: str) -> Array:
    """The state-aware super-image filtered per date: the state mean m_t (date t's state, pixel level)
    MuLoG-filtered with the product's super-image filter settings, L = its ENL x 0.7; ``state_mulog_corr``
    keeps only the correction: s_f * F(m_t) / F(m) with F the same filter (F(m) ~ s_f)."""
    from mtsar2sar.enl import estimate_enl
    from mtsar2sar.superimage import filter_super_image

    sel = ctx.in_state(t)
    stack = np.stack(ctx.dates)
    ok = sel & np.isfinite(stack) & (stack > 0)
    m_t = np.where(ok, stack, 0).sum(0) / np.maximum(ok.sum(0), 1)
    looks = estimate_enl(m_t).enl * FILTER["looks_factor"]
    return filter_super_image(m_t.astype(np.float32), "mulog", looks, dict(FILTER)).astype(np.float64)


# ----------------------------------------------------------------------------- the chain with a reference
def post_correct(ctx: StateContext, t: int, est: NDArray[np.floating], spec: str) -> NDArray[np.float32]:
    """After the network: est * exp(GF(log m_t - log est)), m_t the soft state mean of the noisy dates, GF a
    guided filter guided by log est (date t's own edges). ``spec``: ``softH:R_E``."""
    soft, gf = spec.split(":")
    h = float(soft[4:])
    r, e = gf.split("_")
    lc, _, _ = ctx.soft_log_correction(t, h)
    le = np.log(np.asarray(est, dtype=np.float64))
    resid = lc + np.log(ctx.mean) - le
    ok = np.isfinite(resid)
    corr = guided_filter(np.where(ok, le, 0.0), np.where(ok, resid, 0.0), int(r), (float(e) / DB) ** 2)
    return (np.asarray(est, dtype=np.float64) * np.exp(corr)).astype(np.float32)


def method_dates(dates: list[str], max_dates: int | None) -> list[str]:
    """Up to ``max_dates`` evenly spaced dates (all when None): mtsar2sar.workflow.method_dates."""
    if not max_dates or max_dates >= len(dates):
        return list(dates)
    idx = np.unique(np.linspace(0, len(dates) - 1, max_dates).round().astype(int))
    return [dates[i] for i in idx]


def chain(w: Array, ref: Array, den: Callable[[Array], Array]) -> NDArray[np.float32]:
    from mtsar2sar.despeckle import despeckle_by_ratio

    return despeckle_by_ratio(w, ref, den).despeckled


def quegan_feedback(dates: list[Array], estimates: list[NDArray[np.floating]], k: int) -> NDArray[np.float32]:
    from mtsar2sar.methods import quegan

    return quegan(dates, estimates, k)


def network_for(looks: float, threads: int = 1):
    from mtsar2sar.despeckle import NetworkDenoiser
    from mtsar2sar.network import load_network

    torch.set_num_threads(threads)
    return NetworkDenoiser(load_network("auto", ".", looks))


def estimates_for(variant: str, ctx: StateContext, idx: list[int], den, looks: float,
                  truth: list[Array] | None) -> tuple[list[NDArray[np.float32]], float, float]:
    """The chain's estimates of dates ``idx`` with the variant's reference; seconds for the references
    (the extra cost) and for the whole chain step, per date."""
    out, ref_s, all_s = [], 0.0, 0.0
    variant, _, post = variant.partition("+post:")
    for t in idx:
        w = ctx.dates[t]
        t0 = time.perf_counter()
        if variant == "mean":
            ref = ctx.filtered
        elif variant.startswith("state:"):
            ref = state_reference(ctx, t, variant.split(":", 1)[1], looks)
        elif variant.startswith("state_mulog"):  # the state mean m_t MuLoG-filtered as the super-image is
            ref = state_mulog(ctx, t, variant)
        elif variant == "rabasar":  # the comparison method (MuLoG-BM3D on the ratio to s_f), not a reference
            from mtsar2sar.denoisers import get_denoiser
            from mtsar2sar.enl import estimate_enl
            from mtsar2sar.methods import run_rabasar

            est = run_rabasar(w, ctx.filtered, looks, estimate_enl(ctx.filtered).enl, get_denoiser("bm3d"))
            out.append(np.where(np.isfinite(w), est, np.nan).astype(np.float32))
            all_s += time.perf_counter() - t0
            continue
        elif variant == "oracle_truth":
            ref = truth[t]  # type: ignore[index]
        elif variant == "oracle_corr":
            vm = np.mean(np.stack(truth), axis=0)  # type: ignore[arg-type]
            ref = ctx.filtered * truth[t] / vm  # type: ignore[index]
        else:
            raise SystemExit(f"unknown variant {variant!r}")
        t1 = time.perf_counter()
        est = chain(w, ref, den)
        t1b = time.perf_counter()
        if post:
            est = post_correct(ctx, t, est, post)
        t2 = time.perf_counter()
        out.append(est)
        t1 += t2 - t1b
        ref_s += t1 - t0
        all_s += t2 - t0
    return out, ref_s / len(idx), all_s / len(idx)


def evaluate_sim(aoi: Path, variants: list[str], n_dates: int, z: float, window: int, save: Path | None) -> list[dict]:
    from mtsar2sar.io import read_product
    from mtsar2sar.metrics import psnr_log

    dates = json.loads((aoi / "coregistration.json").read_text())["kept_dates"]
    looks = float(json.loads((aoi / "super_image_enl.json").read_text())["looks"])
    noisy = [read_product(aoi / "simulated" / "noisy" / f"{d}.tif")[0].astype(np.float64) for d in dates]
    truth = [read_product(aoi / "simulated" / "truth" / f"{d}.tif")[0].astype(np.float64) for d in dates]
    changed = read_product(aoi / "simulated" / "changed.tif")[0] > 0.5
    filtered = read_product(aoi / "super_image_filtered.tif")[0].astype(np.float64)
    sub = method_dates(dates, n_dates or None)
    idx = [dates.index(d) for d in sub]
    ctx = StateContext(noisy, filtered, window=window, z=z)
    print(f"{aoi.name}: {len(idx)} dates, looks {looks:g}, state test {window}x{window} boxcar, sigma_d "
          f"{ctx.sigma_d * DB:.2f} dB, threshold {ctx.threshold_db:.2f} dB (setup {ctx.setup_seconds:.2f} s)", flush=True)
    den = network_for(looks)
    sig_x = stack_sigma(noisy)
    rows = []
    chain_est: list[NDArray[np.float32]] | None = None
    for v in variants:
        if v == "quegan_chain":
            if chain_est is None:
                chain_est, _, _ = estimates_for("mean", ctx, list(range(len(dates))), den, looks, truth)
            t0 = time.perf_counter()
            est = [quegan_feedback(noisy, chain_est, t) for t in idx]
            ref_s = all_s = (time.perf_counter() - t0) / len(idx)
        else:
            est, ref_s, all_s = estimates_for(v, ctx, idx, den, looks, truth)
        p_all = np.mean([psnr_log(e, truth[t]) for e, t in zip(est, idx, strict=True)])
        p_chg = np.mean([psnr_log(e, truth[t], changed) for e, t in zip(est, idx, strict=True)])
        p_stb = np.mean([psnr_log(e, truth[t], ~changed) for e, t in zip(est, idx, strict=True)])
        sl = change_slope_split([noisy[t] for t in idx], est, sigma_stack=noisy)
        sl_c = change_slope([noisy[t] for t in idx], est, sigma_x=sig_x)
        wts = window_truth_slope([truth[t] for t in idx], est, window=9)
        bb = bias_per_bin([truth[t] for t in idx], est)
        row = {"variant": v, "psnr_log": p_all, "psnr_changed": p_chg, "psnr_stable": p_stb, "slope": sl.slope,
               "slope_lo": sl.lo, "slope_hi": sl.hi, "slope_corrected7": sl_c.slope, "truth_slope": bb["truth_slope"], "window_truth_slope": wts, "ref_s": ref_s, "chain_s": all_s,
               "bins": bb["bins"],
               "per_date": [[psnr_log(e, truth[t]), psnr_log(e, truth[t], changed)] for e, t in zip(est, idx, strict=True)]}
        rows.append(row)
        print(f"{v:<22} PSNR log {p_all:6.2f}  changed {p_chg:6.2f}  stable {p_stb:6.2f}  slope {sl}  "
              f"truth slope {bb['truth_slope']:.3f} (window 9: {wts:.3f})  ref {ref_s:.2f} s/date, chain {all_s:.2f} s/date", flush=True)
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            np.save(save / f"{aoi.name}_{v.replace(':', '_')}.npy", np.stack(est).astype(np.float32))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("aoi_dir", type=Path)
    ap.add_argument("--variant", action="append", default=[])
    ap.add_argument("--dates", type=int, default=0, help="evenly spaced dates (0: all)")
    ap.add_argument("--z", type=float, default=3.0, help="state test threshold in robust sigmas")
    ap.add_argument("--window", type=int, default=7)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--save", type=Path, default=None, help="folder for the estimates (.npy)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = evaluate_sim(args.aoi_dir, args.variant or ["mean"], args.dates, args.z, args.window, args.save)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
