"""Per-date references on a real stack without truth (prototype): left-out-date NLL (mtsar2sar.realscore).

Protocol (the left-out-date protocol of benchmarks/real_stacks.py): pair j removes the last j dates of the stack,
computes the super-image and its MuLoG filter (the product's settings) on the remaining dates, estimates
the last remaining date (T - j - 1... i.e. the date before the left-out one) and scores it against the
left-out date T - j by log(w_hat) + y / w_hat on the pixels stable between the two (7 x 7 boxcar means
within 1.5 dB). Pair 1 is the brief's protocol (last date left out); ``--pairs N`` scores the last N in
turn. Also, on pair 1, the split-sample change slope of the chain's estimates of all remaining dates.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/state_reference/real.py \
        T137-292319-IW2 --pol VV --pol VH --pairs 5 --variant mean --variant state:soft2-guided5_0.5:a0.5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from change_score import change_slope_split
from reference import FILTER, StateContext, network_for, state_reference

DATA = Path(__file__).resolve().parents[2] / "data" / "opera_rtc_s1_10SGD"


def load(site: str, pol: str) -> list[np.ndarray]:
    from mtsar2sar.io import read_intensity

    files = sorted((DATA / site / pol).glob("*.tif"), key=lambda p: p.name.split("_")[4])
    return [read_intensity(f, "intensity")[0].astype(np.float64) for f in files]


def filtered_super_image(dates: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """The product's super-image filter: MuLoG-BM3D, L = max(spatial, temporal ENL) x 0.7, 3 ADMM iterations."""
    from mtsar2sar.enl import TemporalLooks, estimate_enl
    from mtsar2sar.superimage import filter_looks, filter_super_image, temporal_mean

    mean = temporal_mean(dates)[0].astype(np.float64)
    tl = TemporalLooks()
    for d in dates:
        tl.tap(d)
    tl.end_band()
    temporal = tl.super_image_enl() or 0.0
    enl = max(estimate_enl(mean).enl, float(temporal))
    looks = filter_looks(enl, FILTER)
    return filter_super_image(mean.astype(np.float32), "mulog", looks, dict(FILTER)).astype(np.float64), enl


def estimate(variant: str, ctx: StateContext, k: int, den, looks: float, cache: dict) -> np.ndarray:
    from mtsar2sar import methods as m
    from mtsar2sar.despeckle import despeckle_by_ratio

    w = ctx.dates[k]
    if variant == "mean":
        return despeckle_by_ratio(w, ctx.filtered, den).despeckled
    if variant.startswith("state:"):
        ref = state_reference(ctx, k, variant.split(":", 1)[1], looks)
        return despeckle_by_ratio(w, ref, den).despeckled
    if variant == "quegan":
        return m.quegan(ctx.dates, [m.boxcar(d, 7) for d in ctx.dates], k)
    if variant == "quegan_sar2sar":
        if "single" not in cache:
            cache["single"] = [np.where(np.isfinite(d) & (d > 0), den(np.where(np.isfinite(d) & (d > 0), d,
                               np.nanmedian(d))), np.nan) for d in ctx.dates]
        return m.quegan(ctx.dates, cache["single"], k)
    if variant == "quegan_chain":
        if "chain" not in cache:
            cache["chain"] = [despeckle_by_ratio(d, ctx.filtered, den).despeckled for d in ctx.dates]
        return m.quegan(ctx.dates, cache["chain"], k)
    if variant == "rabasar":
        from mtsar2sar.denoisers import get_denoiser
        from mtsar2sar.enl import estimate_enl

        return m.run_rabasar(w, ctx.filtered, looks, estimate_enl(ctx.filtered).enl, get_denoiser("bm3d"))
    raise SystemExit(f"unknown variant {variant!r}")


def main() -> None:
    from mtsar2sar.enl import estimate_enl
    from mtsar2sar.metrics import stable_pixels
    from mtsar2sar.realscore import STABLE_DB, leftout_nll

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site")
    ap.add_argument("--pol", action="append", default=[])
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--variant", action="append", default=[])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    variants = args.variant or ["mean"]
    out = {}
    for pol in args.pol or ["VV", "VH"]:
        stack = load(args.site, pol)
        looks = float(np.median([estimate_enl(d).enl for d in stack]))
        den = network_for(looks)
        res: dict[str, dict] = {v: {"nll": [], "slope": None, "seconds": 0.0} for v in variants}
        for j in range(1, args.pairs + 1):
            dates, left = stack[: len(stack) - j], stack[len(stack) - j]
            filtered, enl = filtered_super_image(dates)
            ctx = StateContext(dates, filtered)
            stable = stable_pixels(dates[-1], left, threshold_db=STABLE_DB)
            cache: dict = {}
            for v in variants:
                t0 = time.perf_counter()
                e = estimate(v, ctx, len(dates) - 1, den, looks, cache)
                res[v]["seconds"] += time.perf_counter() - t0
                res[v]["nll"].append(leftout_nll(e, left, stable))
                if j == 1 and v.startswith(("mean", "state:")):
                    est = [estimate(v, ctx, k, den, looks, cache) for k in range(len(dates))]
                    res[v]["slope"] = str(change_slope_split(dates, est))
            print(f"{args.site} {pol} pair {j}: L={looks:.2f}, super ENL {enl:.1f}, stable {stable.mean():.0%}, "
                  + ", ".join(f"{v} {res[v]['nll'][-1]:.5f}" for v in variants), flush=True)
        base = np.array(res[variants[0]]["nll"])
        print(f"| {args.site} {pol} | pair 1 NLL | mean over {args.pairs} pairs | mean diff vs {variants[0]} | wins |"
              " change slope (split, pair 1) |")
        for v in variants:
            a = np.array(res[v]["nll"])
            print(f"| {v} | {a[0]:.5f} | {a.mean():.5f} | {np.mean(a - base):+.5f} | {int((a < base).sum())}/{len(a)} |"
                  f" {res[v]['slope'] or ''} |")
        out[pol] = res
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
